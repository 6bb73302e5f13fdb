"""Flow and forecast endpoints.

    GET  /v1/flow                    flow figures per lane and overall, work in progress by age, CFD data
    GET  /v1/flow/cfd.svg            the cumulative flow diagram
    GET  /v1/flow/export.csv         every passage (submitted, committed, started, done; cycle and lead time)
    POST /v1/flow/import             ops: past finished work into the history (on the log; rebuilds keep it)
    GET  /v1/forecast?lane=&horizon= how many of each lane's backlog start and finish by a date
    GET  /v1/forecast/calibration    the back-test: a reliability table and Brier score per lane
    GET  /v1/forecast/{request_id}   a request's start and finish dates at 50/85/95%
"""

import asyncio
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from capacity.flow.charts import cfd_svg
from capacity.flow.forecast import MAX_CYCLES
from capacity.flow.history import to_date
from capacity.flow.imports import MAX_ITEMS, FlowHistoryImported, PastItem
from capacity.flow.schemas import CalibrationPublic, ForecastPublic, HorizonPublic, ImportPublic
from capacity.flow.service import FlowService
from capacity.flow.views import calibration_view, end_of_quarter, flow_view, horizon_view, passages_csv
from capacity.service import CapacityService
from shared.access import Caller, Role
from shared.auth import AUTH_RESPONSES, Access
from shared.envelope import derived_id
from shared.events import EventData, Lane
from shared.problems import Problem

__all__ = ["flow_router"]


class PastWork(BaseModel):
    """The body of ``POST /v1/flow/import``."""

    model_config = ConfigDict(extra="forbid")
    items: list[PastItem] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def in_the_past(self) -> "PastWork":
        # A day's grace for a clock that runs ahead; checked here, not on the event, which a rebuild reads later.
        if any(item.done_at > datetime.now(UTC) + timedelta(days=1) for item in self.items):
            raise ValueError("past work is done by now: a done_at in the future, please check it")
        return self


def flow_router(service: CapacityService, flow: FlowService, access: Access) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["flow"])
    Reader = Annotated[Caller, Depends(access.allow())]
    Ops = Annotated[Caller, Depends(access.allow(Role.OPS))]
    LaneQuery = Annotated[Lane | None, Query(description="one lane; every lane when left out")]
    Days = Annotated[int, Query(ge=7, le=3650, description="days the cumulative flow diagram covers")]
    calibrated: dict[str, Any] = {}

    @router.get("/flow", responses={**AUTH_RESPONSES, 422: {}})
    async def get_flow(reader: Reader, lane: LaneQuery = None, days: Days = 90) -> dict[str, Any]:
        """WIP, throughput, cycle and lead time (50/85/95th percentiles), each lane's SLE, work in progress
        by age (a requester tool sees its own requests' rows) and the cumulative flow data."""
        ledger, _ = await service.current()
        history, frame = await flow.store.frame()
        return flow_view(flow, history, frame, ledger, lane=lane, days=days, only=reader.only_posted_by)

    @router.get("/flow/cfd.svg", response_class=Response,
                responses={**AUTH_RESPONSES, 422: {}, 200: {"content": {"image/svg+xml": {}}}})
    async def get_cfd(reader: Reader, lane: LaneQuery = None, days: Days = 90,
                      width: Annotated[int, Query(ge=320, le=4000)] = 960,
                      height: Annotated[int, Query(ge=200, le=3000)] = 400) -> Response:
        ledger, _ = await service.current()
        history, frame = await flow.store.frame()
        found = flow_view(flow, history, frame, ledger, lane=lane, days=days, only=reader.only_posted_by)
        return Response(cfd_svg(found["cfd"], width=width, height=height), media_type="image/svg+xml")

    @router.get("/flow/export.csv", response_class=Response,
                responses={**AUTH_RESPONSES, 200: {"content": {"text/csv": {}}}})
    async def export(reader: Reader) -> Response:
        ledger, _ = await service.current()
        history = await flow.store.history()
        return Response(passages_csv(history, ledger, reader.only_posted_by), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="flow.csv"'})

    @router.post("/flow/import", status_code=202, response_model=ImportPublic,
                 responses={**AUTH_RESPONSES, 413: {}, 422: {}})
    async def import_past(body: PastWork, caller: Ops) -> dict[str, Any]:
        """Past finished work, recorded on capacity's decisions topic (an internal event the other services
        ignore) and folded into the history; the same body again changes nothing."""
        digest = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
        import_id = derived_id("flow-import", digest)

        def change(*_: Any) -> list[EventData]:
            return [FlowHistoryImported(import_id=import_id, imported_by=caller.tool, items=body.items)]

        await service.apply(change, cause_id=import_id)
        return {"import_id": import_id, "items": len(body.items)}

    @router.get("/forecast", response_model=HorizonPublic, responses={**AUTH_RESPONSES, 422: {}})
    async def forecast_horizon(reader: Reader, lane: LaneQuery = None, horizon: date | None = None) -> dict[str, Any]:
        """How many of each lane's backlog start (and finish) by ``horizon`` (default: the quarter's end)."""
        ledger, plan = await service.current()
        today = to_date(flow.now())
        until = horizon or end_of_quarter(today)
        furthest = today + timedelta(days=ledger.policy.cycle_days * MAX_CYCLES)
        if not today <= until <= furthest:
            raise Problem(422, f"horizon must be a date from today ({today}) to {furthest}.",
                          type_="/problems/forecast-horizon")
        history = await flow.store.history()
        return horizon_view(flow, history, ledger, plan, lane=lane, horizon=until)

    @router.get("/forecast/calibration", response_model=CalibrationPublic, responses=AUTH_RESPONSES)
    async def get_calibration(reader: Reader) -> dict[str, Any]:
        """The back-test, computed once per day and history (it replays a year of cycles)."""
        ledger, _ = await service.current()
        history, frame = await flow.store.frame()
        key = f"{to_date(flow.now())}:{len(history.passages)}:{id(frame)}:{ledger.policy.cycle_days}"
        if calibrated.get("key") != key:
            result = await asyncio.to_thread(calibration_view, flow, history, frame, ledger.policy.cycle_days)
            calibrated.update(key=key, result=result)
        return dict(calibrated["result"])

    @router.get("/forecast/{request_id}", response_model=ForecastPublic, responses={**AUTH_RESPONSES, 404: {}})
    async def forecast_one(request_id: str, reader: Reader) -> dict[str, Any]:
        """When a request waiting or in progress starts and finishes, at 50/85/95%."""
        ledger, plan = await service.current()
        card = ledger.cards.get(request_id)
        only = reader.only_posted_by
        if card is None or (only is not None and card.submitted_by != only):
            raise Problem(404, f"No request {request_id} on the board.")
        history = await flow.store.history()
        found = flow.outlook(history, ledger, plan, {card.item.lane}).get(request_id)
        if found is None:
            raise Problem(404, f"Request {request_id} is {card.item.state}: nothing left to forecast.",
                          type_="/problems/nothing-to-forecast")
        return found.as_json()

    return router

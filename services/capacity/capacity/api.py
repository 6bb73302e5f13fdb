"""Capacity's HTTP surface for marketing ops: policy, board moves, trade-offs, and the numbers."""

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from capacity import views
from capacity.decisions import scheduled
from capacity.domain import ACTIVE, Ledger, policy_to
from capacity.planning import INTERNAL_LANES, Plan, Policy
from capacity.service import CapacityService
from shared.auth import require_key
from shared.events import (
    LANES,
    BypassRefused,
    EventData,
    PolicyUpdated,
    RequestDone,
    Requester,
    RequestPaused,
    RequestStarted,
    TradeoffDecided,
)
from shared.problems import Problem


class PolicyUpdate(BaseModel):
    """The body of ``PUT /v1/policy``: the whole policy; what is left out keeps its default."""

    model_config = ConfigDict(extra="forbid")
    cycle_days: int = Field(default=7, ge=1, le=28)
    capacity_points: int = Field(default=20, ge=1, le=10_000)
    customer_reserve: float = Field(default=0.5, ge=0, le=1)
    lane_caps: dict[str, float] = Field(default_factory=lambda: dict(Policy().lane_caps))
    wip_limits: dict[str, int] = Field(default_factory=lambda: dict(Policy().wip_limits))
    wip_total: int = Field(default=5, ge=1)
    size_points: dict[str, int] = Field(default_factory=lambda: dict(Policy().size_points))
    default_points: int = Field(default=3, ge=1)
    horizon_cycles: int = Field(default=26, ge=1, le=104)
    max_wait_cycles: int = Field(default=4, ge=1)
    large_points: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def sound(self) -> "PolicyUpdate":
        if any(not 0 <= cap <= 1 for cap in self.lane_caps.values()):
            raise ValueError("lane caps are shares of a cycle, between 0 and 1")
        if set(self.lane_caps) != set(INTERNAL_LANES):
            raise ValueError(f"give a cap for each internal lane: {', '.join(INTERNAL_LANES)}")
        if not set(self.wip_limits) <= set(LANES) or not set(self.size_points) <= {"XS", "S", "M", "L", "XL"}:
            raise ValueError("WIP limits are per lane, points per size (XS, S, M, L, XL)")
        if any(v < 0 for v in self.wip_limits.values()) or any(v < 1 for v in self.size_points.values()):
            raise ValueError("WIP limits must be 0 or more, and points per size 1 or more")
        return self


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pause: str | None = None
    defer: bool = False

    @model_validator(mode="after")
    def one_choice(self) -> "Decision":
        if (self.pause is None) == (not self.defer):
            raise ValueError('send either {"pause": "<request id>"} or {"defer": true}')
        return self


def capacity_router(service: CapacityService, api_keys: dict[str, str]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["capacity"])
    Caller = Annotated[str, Depends(require_key(api_keys))]

    @router.get("/policy")
    async def get_policy() -> dict[str, Any]:
        ledger, _ = await service.current()
        return policy_to(ledger.policy)

    @router.put("/policy", responses={422: {}})
    async def put_policy(body: PolicyUpdate, caller: Caller) -> dict[str, Any]:
        def change(ledger: Ledger, _: Plan) -> list[EventData]:
            policy = Policy(version=ledger.policy.version + 1, **body.model_dump())
            return [PolicyUpdated(version=policy.version, policy=policy_to(policy), updated_by=caller)]

        await service.apply(change)
        return await get_policy()

    @router.get("/capacity")
    async def capacity() -> dict[str, Any]:
        return views.capacity(*await service.current())

    @router.get("/board")
    async def board() -> dict[str, Any]:
        return views.board(*await service.current())

    @router.get("/backlog")
    async def backlog() -> dict[str, Any]:
        return views.backlog(*await service.current())

    @router.get("/reports/shares")
    async def shares(from_: Annotated[date | None, Query(alias="from")] = None, to: date | None = None
                     ) -> dict[str, Any]:
        ledger, _ = await service.current()
        return views.shares_report(ledger, from_, to, await service.store.policies())

    @router.get("/bypass-attempts")
    async def bypass_attempts() -> dict[str, Any]:
        return {"items": await service.store.bypass_attempts()}

    async def move(request_id: str, caller: Caller, action: str) -> dict[str, Any]:
        refused: list[str] = []

        def change(ledger: Ledger, _: Plan) -> Sequence[EventData]:
            card = ledger.cards.get(request_id)
            state = card.item.state if card else None
            if action == "start" and state not in ACTIVE:
                why = ("it never came through intake" if card is None else
                       f"it was never committed to a cycle (it is {state})")
                refused.append(f"Cannot start {request_id}: {why}. Work starts only from the committed column.")
                return [BypassRefused(request_id=request_id, attempted_by=caller, action=action, reason=why)]
            if card is None:
                raise Problem(404, f"No request {request_id} on the board.")
            if action in ("done", "pause") and state not in ACTIVE:
                raise Problem(409, f"Request {request_id} is {state}; only committed or started work can be "
                                   f"{'finished' if action == 'done' else 'paused'}.")
            common = {"request_id": request_id, "title": card.title, "lane": card.item.lane,
                      "requester": Requester.model_validate(card.requester), "by": caller}
            if action == "start":
                if state == "in_progress":
                    return []
                views.check_wip(ledger, card)
                return [RequestStarted(**common)]
            if action == "done":
                return [RequestDone(**common)]
            return [RequestPaused(**common, reason="Paused by the team; it goes back to the head of the backlog.")]

        await service.apply(change)
        if refused:
            await service.store.record_bypass({"request_id": request_id, "attempted_by": caller,
                                               "action": action, "reason": refused[0],
                                               "at": date.today().isoformat()})
            raise Problem(409, refused[0], type_="/problems/bypass-refused")
        ledger, current = await service.current()
        return views.card(ledger, current, request_id)

    @router.post("/work/{request_id}/start", responses={404: {}, 409: {}})
    async def start(request_id: str, caller: Caller) -> dict[str, Any]:
        return await move(request_id, caller, "start")

    @router.post("/work/{request_id}/done", responses={404: {}, 409: {}})
    async def done(request_id: str, caller: Caller) -> dict[str, Any]:
        return await move(request_id, caller, "done")

    @router.post("/work/{request_id}/pause", responses={404: {}, 409: {}})
    async def pause(request_id: str, caller: Caller) -> dict[str, Any]:
        return await move(request_id, caller, "pause")

    @router.get("/tradeoffs")
    async def tradeoffs() -> dict[str, Any]:
        ledger, _ = await service.current()
        return {"items": [views.tradeoff(t) for t in ledger.tradeoffs.values()]}

    @router.get("/tradeoffs/{tradeoff_id}")
    async def get_tradeoff(tradeoff_id: str) -> dict[str, Any]:
        ledger, _ = await service.current()
        if tradeoff_id not in ledger.tradeoffs:
            raise Problem(404, f"No trade-off {tradeoff_id}.")
        return views.tradeoff(ledger.tradeoffs[tradeoff_id])

    @router.post("/tradeoffs/{tradeoff_id}/decision", responses={404: {}, 409: {}, 422: {}})
    async def decide_tradeoff(tradeoff_id: str, body: Decision, caller: Caller) -> dict[str, Any]:
        def change(ledger: Ledger, current: Plan) -> list[EventData]:
            tradeoff = ledger.tradeoffs.get(tradeoff_id)
            if tradeoff is None:
                raise Problem(404, f"No trade-off {tradeoff_id}.")
            if tradeoff.status != "open":
                raise Problem(409, f"Trade-off {tradeoff_id} was already decided ({tradeoff.status}).")
            expedite = ledger.cards[tradeoff.request_id]
            decided = TradeoffDecided(request_id=tradeoff.request_id, tradeoff_id=tradeoff_id,
                                      decision="pause" if body.pause else "defer", paused_request_id=body.pause,
                                      decided_by=caller, policy_version=ledger.policy.version)
            if body.pause is None:
                return [decided]
            target = ledger.cards.get(body.pause)
            if target is None or target.item.state not in ACTIVE:
                raise Problem(422, f"{body.pause} is not committed this cycle; pause one of: "
                                   f"{', '.join(tradeoff.candidates) or 'nothing is committed'}.")
            paused = RequestPaused(
                request_id=target.request_id, title=target.title, lane=target.item.lane,
                requester=Requester.model_validate(target.requester), by=caller, tradeoff_id=tradeoff_id,
                reason=f"Paused by {caller} to make room for \"{expedite.title}\" (trade-off {tradeoff_id}, "
                       f"policy version {ledger.policy.version}).")
            return [paused, scheduled(expedite, current.current_cycle, ledger, tradeoff_id), decided]

        await service.apply(change)
        return await get_tradeoff(tradeoff_id)

    return router

"""Capacity's HTTP surface for marketing ops: policy, board moves, trade-offs, and the numbers."""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from capacity import views
from capacity.board import Action, Refused, decide_tradeoff, decided_already, move
from capacity.domain import Ledger, policy_to
from capacity.planning import INTERNAL_LANES, Plan, Policy, share_floor
from capacity.service import CapacityService
from capacity.shares import OutOfRange, shares_report
from capacity.store import TitleStore
from shared.access import TEAM_ROLES, Caller, Role
from shared.auth import AUTH_RESPONSES, Access
from shared.events import (
    LANES,
    EventData,
    PolicyUpdated,
)
from shared.lanes import SIZES
from shared.problems import Problem

DEFAULT = Policy()


# Bounds a team could mean: more points than a cycle's largest capacity, or more work in progress than this,
# is a typo, and a number past what a float holds broke the forecasts.
MAX_POINTS, MAX_WIP = 10_000, 1_000


class PolicyUpdate(BaseModel):
    """The body of ``PUT /v1/policy``: the whole policy; what is left out keeps the planner's default."""

    model_config = ConfigDict(extra="forbid")
    cycle_days: int = Field(default=DEFAULT.cycle_days, ge=1, le=28)
    capacity_points: int = Field(default=DEFAULT.capacity_points, ge=1, le=MAX_POINTS)
    customer_reserve: float = Field(default=DEFAULT.customer_reserve, ge=0, le=1)
    lane_caps: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT.lane_caps))
    wip_limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT.wip_limits))
    wip_total: int = Field(default=DEFAULT.wip_total, ge=1, le=MAX_WIP)
    size_points: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT.size_points))
    default_points: int = Field(default=DEFAULT.default_points, ge=1, le=MAX_POINTS)
    horizon_cycles: int = Field(default=DEFAULT.horizon_cycles, ge=1, le=104)
    max_wait_cycles: int = Field(default=DEFAULT.max_wait_cycles, ge=1, le=104)
    large_points: int = Field(default=DEFAULT.large_points, ge=1, le=MAX_POINTS)

    @model_validator(mode="after")
    def sound(self) -> "PolicyUpdate":
        if any(not 0 <= cap <= 1 for cap in self.lane_caps.values()):
            raise ValueError("lane caps are shares of a cycle, between 0 and 1")
        if set(self.lane_caps) != set(INTERNAL_LANES):
            raise ValueError(f"give a cap for each internal lane: {', '.join(INTERNAL_LANES)}")
        if not set(self.wip_limits) <= set(LANES) or not set(self.size_points) <= set(SIZES):
            raise ValueError(f"WIP limits are per lane, points per size ({', '.join(SIZES)})")
        if any(not 0 <= v <= MAX_WIP for v in self.wip_limits.values()) \
                or any(not 1 <= v <= MAX_POINTS for v in self.size_points.values()):
            raise ValueError(f"WIP limits must be 0 to {MAX_WIP}, and points per size 1 to {MAX_POINTS}")
        # Budgets are whole points, rounded down: a share that rounds to none would publish a lane that never
        # gets anything. 0 closes a lane on purpose; a positive share must be worth a point.
        allowance = share_floor(1 - self.customer_reserve, self.capacity_points)
        if self.customer_reserve < 1 and allowance == 0 and any(self.lane_caps.values()):
            raise ValueError(f"a customer reserve of {self.customer_reserve:.0%} of {self.capacity_points} points "
                             "leaves internal lanes less than a point a cycle: lower the reserve, raise the "
                             "capacity, or reserve it all (1.0)")
        worthless = [f"{lane} ({cap:.0%})" for lane, cap in self.lane_caps.items()
                     if cap > 0 and share_floor(cap, self.capacity_points) == 0]
        if worthless:
            raise ValueError(f"of {self.capacity_points} points a cycle, {', '.join(worthless)} is less than a "
                             "point, so that lane would get nothing: raise the cap or the capacity, or set the "
                             "cap to 0 to close the lane")
        return self


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pause: str | None = Field(default=None, min_length=1, max_length=200)
    defer: bool = False
    note: str | None = Field(default=None, max_length=1_000, description="Why, in the decider's words.")

    @model_validator(mode="after")
    def one_choice(self) -> "Decision":
        if (self.pause is None) == (not self.defer):
            raise ValueError('send either {"pause": "<request id>"} or {"defer": true}')
        return self


def capacity_router(service: CapacityService, titles: TitleStore, access: Access) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["capacity"])
    Reader = Annotated[Caller, Depends(access.allow())]
    Team = Annotated[Caller, Depends(access.allow(*TEAM_ROLES))]
    HeatShield = Annotated[Caller, Depends(access.allow(Role.HEAT_SHIELD))]
    Ops = Annotated[Caller, Depends(access.allow(Role.OPS))]

    async def policy() -> dict[str, Any]:
        ledger, _ = await service.current()
        return policy_to(ledger.policy)

    @router.get("/policy", responses=AUTH_RESPONSES)
    async def get_policy(reader: Reader) -> dict[str, Any]:
        return await policy()

    @router.put("/policy", responses={**AUTH_RESPONSES, 413: {}, 422: {}})
    async def put_policy(body: PolicyUpdate, caller: Ops) -> dict[str, Any]:
        def change(ledger: Ledger, _: Plan) -> list[EventData]:
            policy = Policy(version=ledger.policy.version + 1, **body.model_dump())
            return [PolicyUpdated(version=policy.version, policy=policy_to(policy), updated_by=caller.tool)]

        await service.apply(change)
        return await policy()

    @router.get("/capacity", responses=AUTH_RESPONSES)
    async def capacity(reader: Reader) -> dict[str, Any]:
        """The current cycle; a requester tool sees the open trade-offs of its own requests only."""
        return views.capacity(*await service.current(), only=reader.only_posted_by)

    @router.get("/board", responses=AUTH_RESPONSES)
    async def board(reader: Reader) -> dict[str, Any]:
        """Cards by column; a requester tool sees its own cards, and ``hidden`` counts the others per column."""
        return views.board(*await service.current(), only=reader.only_posted_by)

    @router.get("/backlog", responses=AUTH_RESPONSES)
    async def backlog(reader: Reader) -> dict[str, Any]:
        """The backlog in order; a requester tool sees its own cards; ``depth`` counts them all."""
        return views.backlog(*await service.current(), only=reader.only_posted_by)

    @router.get("/reports/shares", responses={**AUTH_RESPONSES, 422: {}})
    async def shares(reader: Reader, from_: Annotated[date | None, Query(alias="from")] = None,
                     to: date | None = None) -> dict[str, Any]:
        ledger, plan = await service.current()
        try:
            return shares_report(ledger, from_, to, await service.store.policies(), await titles.load(), plan)
        except OutOfRange as exc:
            raise Problem(422, str(exc), type_="/problems/report-range") from exc

    @router.get("/bypass-attempts", responses=AUTH_RESPONSES)
    async def bypass_attempts(caller: Team) -> dict[str, Any]:
        return {"items": await service.store.bypass_attempts()}

    async def apply_board(change: Callable[[Ledger, Plan], list[EventData]]) -> None:
        """Apply a board rule; a refusal answers as a problem, a refused start is recorded first."""
        refused: list[Refused] = []

        def guarded(ledger: Ledger, current: Plan) -> list[EventData]:
            try:
                return change(ledger, current)
            except Refused as exc:
                if exc.bypass is None:
                    raise
                refused.append(exc)
                return [exc.bypass]

        try:
            await service.apply(guarded)
        except Refused as exc:
            raise Problem(exc.status, exc.detail, type_=exc.kind) from exc
        if refused:
            bypass = refused[0].bypass
            assert bypass is not None
            await service.store.record_bypass({**bypass.model_dump(mode="json"), "at": date.today().isoformat()})
            raise Problem(refused[0].status, refused[0].detail, type_="/problems/bypass-refused")

    async def moved(request_id: str, caller: Caller, action: Action) -> dict[str, Any]:
        await apply_board(lambda ledger, current: move(ledger, current, request_id, action, caller.tool))
        ledger, current = await service.current()
        return views.card(ledger, current, request_id)

    moves = {**AUTH_RESPONSES, 404: {}, 409: {}}

    @router.post("/work/{request_id}/start", responses=moves)
    async def start(request_id: str, caller: Team) -> dict[str, Any]:
        return await moved(request_id, caller, "start")

    @router.post("/work/{request_id}/done", responses=moves)
    async def done(request_id: str, caller: Team) -> dict[str, Any]:
        return await moved(request_id, caller, "done")

    @router.post("/work/{request_id}/pause", responses=moves)
    async def pause(request_id: str, caller: Team) -> dict[str, Any]:
        return await moved(request_id, caller, "pause")

    @router.get("/tradeoffs", responses=AUTH_RESPONSES)
    async def tradeoffs(reader: Reader) -> dict[str, Any]:
        """Every trade-off; a requester tool sees those of its own requests."""
        ledger, _ = await service.current()
        return {"items": views.tradeoffs(ledger, reader.only_posted_by)}

    async def tradeoff(tradeoff_id: str, only: str | None = None) -> dict[str, Any]:
        ledger, _ = await service.current()
        found = ledger.tradeoffs.get(tradeoff_id)
        if found is None or not views.tradeoff_shown(ledger, found, only):
            raise Problem(404, f"No trade-off {tradeoff_id}.")
        return views.tradeoff(ledger, found, only)

    @router.get("/tradeoffs/{tradeoff_id}", responses={**AUTH_RESPONSES, 404: {}})
    async def get_tradeoff(tradeoff_id: str, reader: Reader) -> dict[str, Any]:
        return await tradeoff(tradeoff_id, reader.only_posted_by)

    @router.post("/tradeoffs/{tradeoff_id}/decision", responses={**AUTH_RESPONSES, 404: {}, 409: {}, 413: {}, 422: {}})
    async def decision(tradeoff_id: str, body: Decision, caller: HeatShield, response: Response) -> dict[str, Any]:
        """Pause one committed piece of work, or defer the urgent request. The same decision sent again by
        the same tool (its answer was lost) answers as the first time, with ``Idempotent-Replayed: true``."""
        note = (body.note or "").strip() or None
        ledger, _ = await service.current()
        if decided_already(ledger, tradeoff_id, body.pause, caller.tool, note):
            response.headers["Idempotent-Replayed"] = "true"
            return await tradeoff(tradeoff_id)
        await apply_board(lambda ledger, current: decide_tradeoff(ledger, current, tradeoff_id, body.pause,
                                                                  caller.tool, note))
        return await tradeoff(tradeoff_id)

    return router

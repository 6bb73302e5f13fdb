"""What each cycle held: the points the plan gave each card in it, under the policy then in force.

The shares report (story 7: "40% of the last cycles went to business-unit requests while the customer
reserve was 50%") reads past cycles from here, not from today's board: the planner places work not done
from the current cycle on, so the board alone cannot say what an earlier cycle held, nor under which policy.

Each planning that changes what the current cycle holds announces the cycle's whole record so far,
``capacity.cycle_held``, on capacity's decisions topic: an internal event the other services ignore, so a
rebuild folds every cycle's record back from the log. A record keeps the most each card held in the cycle:
work finished, paused or re-planned later in the cycle still counts in it; a withdrawn or merged request
does not, as its points went back to the cycle. It also keeps what the cycle's latest planning gave each card
(``last``): the work done in it, which planning counts as used once the cycle is over. Pure: no I/O.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from capacity.planning import Plan, lane_budgets
from shared.events import EventData

if TYPE_CHECKING:
    from capacity.domain import Ledger

__all__ = ["CYCLE_HELD", "CycleHeld", "Held", "held_now"]

CYCLE_HELD = "capacity.cycle_held"


class Held(BaseModel):
    """One card's part of a cycle."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    lane: str
    objective_id: str | None = None
    points: int = Field(ge=0)  # the most it held in the cycle: what the cycle's share went to
    # What the cycle's latest planning gave it: the work done in the cycle, which the planner no longer places
    # (``Ledger.planned``). None on records from before it was kept: ``points`` stands in.
    last: int | None = Field(default=None, ge=0)

    def used(self) -> int:
        return self.points if self.last is None else self.last


class CycleHeld(EventData):
    """A cycle's record so far: what each card held in it, and the policy in force (the latest, once it ends)."""

    event_type: ClassVar[str] = CYCLE_HELD

    cycle_start: date
    cycle_days: int = Field(ge=1)
    policy_version: int
    capacity_points: int = Field(ge=1)
    customer_reserve: float = Field(ge=0, le=1)
    lane_caps: dict[str, float]
    held: list[Held]

    def subject(self) -> str:
        return f"cycle:{self.cycle_start.isoformat()}"


def _finished_in(ledger: Ledger, current: date) -> dict[str, Held]:
    """A cycle's first record starts with the work already finished in it (committed to it, and done): a ledger
    from before records were kept, or a first planning late in the cycle. Each at most its lane's share."""
    budgets = lane_budgets(ledger.policy)
    return {card.request_id: Held(request_id=card.request_id, lane=card.item.lane,
                                  objective_id=card.item.objective_id,
                                  points=min(card.item.points, budgets.get(card.item.lane, card.item.points)))
            for card in ledger.cards.values()
            if card.item.state == "done" and card.item.committed_cycle == current and card.item.points > 0}


def held_now(ledger: Ledger, plan: Plan) -> list[EventData]:
    """The current cycle's record with what ``plan`` gives each committed card in it, when that changes it."""
    current, policy = plan.current_cycle, ledger.policy
    before = ledger.cycles.get(current)
    if before is None:
        held = _finished_in(ledger, current)
    else:
        held = {h.request_id: h for h in before.held if h.request_id in ledger.cards}
    for request_id, slot in plan.slots.items():
        if not slot.committed or request_id not in ledger.cards:
            continue
        item = ledger.cards[request_id].item
        known = held.get(request_id)
        now = sum(p for cycle, p in slot.points_by_cycle if cycle == current)
        if known is None and not now:
            continue
        entry = Held(request_id=request_id, lane=item.lane, objective_id=item.objective_id,
                     points=max(now, known.points if known else 0), last=now)
        if entry != known:
            held[request_id] = entry
    record = CycleHeld(cycle_start=current, cycle_days=policy.cycle_days, policy_version=policy.version,
                       capacity_points=policy.capacity_points, customer_reserve=policy.customer_reserve,
                       lane_caps=dict(policy.lane_caps), held=sorted(held.values(), key=lambda h: h.request_id))
    return [] if record == before else [record]

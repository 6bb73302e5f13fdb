"""Private to ``capacity.planning``: a finished plan measured against the rules and the policy, in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from capacity.planning.ledger import Limits
from capacity.planning.model import points_left
from capacity.planning.order import label
from shared.events import lane_words

if TYPE_CHECKING:
    from capacity.planning.model import Item, Plan

__all__ = ["Facts", "Kind", "crowding", "violations"]

Kind = Literal["reserve_crowded_out", "lane_over_cap"]
_FIXED: frozenset[str] = frozenset({"committed", "in_progress"})  # as planning.FIXED_STATES


def crowding(held: Mapping[str, int], shares: Mapping[str, float], limits: Limits, caps: Mapping[str, float],
             reserve: float) -> list[tuple[Kind, str | None, str]]:
    """Internal work over the reserve, then each internal lane over its budget: (kind, lane, observation)."""
    internal = {lane: points for lane, points in held.items() if limits.internal(lane)}
    customer = f"the customer share is {_pct(shares.get(limits.customer, 0.0))} against a reserve of {_pct(reserve)}"
    found: list[tuple[Kind, str | None, str]] = []
    if sum(internal.values()) > limits.allowance:
        top, together = max(internal, key=internal.__getitem__), sum(shares[lane] for lane in internal)
        found.append(("reserve_crowded_out", None, f"About {_pct(shares[top])} of this cycle goes to {_words(top)} "
                                                   f"requests and {_pct(together)} to internal requests in all; "
                                                   f"{customer}."))
    for lane, points in internal.items():
        if points > limits.budget(lane):
            cap = caps.get(lane)
            bound = f"a cap of {_pct(cap)}" if cap is not None else "the share internal requests may use"
            found.append(("lane_over_cap", lane, f"About {_pct(shares[lane])} of this cycle goes to {_words(lane)} "
                                                 f"requests against {bound}; {customer}."))
    return found


@dataclass(frozen=True)
class Facts:
    current: date
    cycle_days: int
    limits: Limits

    def label(self, day: date) -> str:
        return label(day, self.cycle_days)

    @property
    def beyond(self) -> date:
        """The first cycle after the horizon."""
        return self.current + timedelta(days=self.limits.horizon * self.cycle_days)


def violations(live: list[Item], result: Plan, facts: Facts) -> list[str]:
    """Every broken rule; ``live`` are the items not done."""
    by_id = {item.request_id: item for item in live}
    problems = [f"{rid} is not done but has no slot" for rid in sorted(by_id.keys() - result.slots.keys())]
    problems += [f"{rid} has a slot but is done or unknown" for rid in sorted(result.slots.keys() - by_id.keys())]
    problems += _backlog(result)
    for rid in sorted(by_id.keys() & result.slots.keys()):
        problems += _slot(by_id[rid], result, facts)
    return problems + _limits(by_id, result, facts)


def _backlog(result: Plan) -> list[str]:
    problems = [f"{s.request_id} is committed but has a backlog position" for s in result.slots.values()
                if s.committed and s.position is not None]
    waiting = [s for s in result.slots.values() if not s.committed]
    problems += [f"{s.request_id} is not committed but has no position" for s in waiting if s.position is None]
    ranked = sorted((s.position, s.request_id) for s in waiting if s.position is not None)
    if [position for position, _ in ranked] != list(range(1, len(waiting) + 1)):
        problems.append(f"backlog positions are not 1..{len(waiting)} without gaps")
    if tuple(rid for _, rid in ranked) != result.backlog:
        problems.append("the backlog does not list the waiting items in position order")
    beyond = [not result.slots[rid].points_by_cycle for rid in result.backlog]
    if beyond != sorted(beyond):
        problems.append("work that does not fit within the horizon is not listed last")
    return problems


def _slot(item: Item, result: Plan, facts: Facts) -> list[str]:
    slot, limits, rid = result.slots[item.request_id], facts.limits, item.request_id
    points, entries = points_left(item, facts.current), slot.points_by_cycle
    cycles = [cycle for cycle, _ in entries]
    if cycles != sorted(set(cycles)) or (entries and cycles[0] != slot.start):
        return [f"{rid}: its cycles are out of order or do not begin at its start"]
    placed = sum(p for _, p in entries)
    if item.state in _FIXED:
        if limits.effective(item.lane) <= 0:  # a closed lane: a point a cycle by force
            points = min(points, 1)
        now = limits.need(item.lane, points)
        if not slot.committed or slot.start != facts.current or placed != points or entries[0][1] < now:
            return [f"{rid} is {item.state} but does not hold at least {now} of its {points} points now"]
        return []
    if not entries:
        if slot.committed or slot.start != facts.beyond:
            return [f"{rid} has no points placed but is not marked as beyond the horizon"]
        return []
    problems = []
    if placed != points or (cycles[-1] >= facts.beyond and not limits.oversize(item.lane, points)):
        problems.append(f"{rid}: {placed} of its {points} points placed within the horizon")
    if slot.committed != (slot.start == facts.current):
        problems.append(f"{rid}: committed is {slot.committed} but it starts in {facts.label(slot.start)}")
    if entries[0][1] < limits.need(item.lane, points):
        problems.append(f"{rid} starts with a sliver: {entries[0][1]} of {points} points")
    return problems


def _limits(by_id: dict[str, Item], result: Plan, facts: Facts) -> list[str]:
    """Capacity, lane budgets and the reserve; forced points may exceed them in the current cycle only."""
    limits, current = facts.limits, facts.current
    load: dict[date, dict[str, int]] = {}
    forced: dict[str, int] = {}
    for rid, slot in result.slots.items():
        lane = by_id[rid].lane if rid in by_id else "?"
        fixed = rid in by_id and by_id[rid].state in _FIXED
        for cycle, points in slot.points_by_cycle:
            row = load.setdefault(cycle, {})
            row[lane] = row.get(lane, 0) + points
            if fixed and cycle == current:
                forced[lane] = forced.get(lane, 0) + points
    problems = [] if {c: dict(row) for c, row in result.load.items()} == load else [
        "the load does not add up to the slots' points"]
    for cycle, row in sorted(load.items()):
        now = forced if cycle == current else {}
        label = facts.label(cycle)
        total, internal = sum(row.values()), sum(p for lane, p in row.items() if limits.internal(lane))
        if total > max(limits.capacity, sum(now.values())):
            problems.append(f"{label}: {total} points planned against a capacity of {limits.capacity}")
        if internal > max(limits.allowance, sum(p for lane, p in now.items() if limits.internal(lane))):
            problems.append(f"{label}: internal lanes hold {internal} points, more than the {limits.allowance} "
                            "the customer reserve leaves them")
        for lane, points in sorted(row.items()):
            if limits.internal(lane) and points > max(limits.budget(lane), now.get(lane, 0)):
                problems.append(f"{label}: {lane} holds {points} points against a budget of {limits.budget(lane)}")
    return problems + _reserve(by_id, result, facts, load)


def _reserve(by_id: dict[str, Item], result: Plan, facts: Facts, load: dict[date, dict[str, int]]) -> list[str]:
    """Customer work that may start now waits only when the plan leaves it no room it could use: less
    than its first share in the current cycle, or too little over the horizon to place it all."""
    limits, current = facts.limits, facts.current
    days = [current + timedelta(days=n * facts.cycle_days) for n in range(limits.horizon)]
    room = [max(0, limits.capacity - sum(load.get(day, {}).values())) for day in days]
    problems = []
    for rid in result.backlog:
        item = by_id.get(rid)
        if item is None or item.lane != limits.customer or item.state != "open":
            continue
        if item.not_before is not None and item.not_before > current:
            continue
        points = max(item.points, 0)
        need = limits.need(item.lane, points)
        if 0 < need <= room[0] and points <= sum(room):
            problems.append(f"{rid}: customer work waits while {facts.label(current)} has {room[0]} points "
                            "it could use")
    return problems


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


def _words(lane: str) -> str:
    return lane_words(lane)

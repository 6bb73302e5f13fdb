"""The capacity planner: a pure, deterministic function from open work and a policy to a plan.

Capacity is shared out by policy, never by volume or rank: each cycle the customer lane may use all
of it, each internal lane at most its cap, and internal lanes together never the customer reserve.
Committed work keeps its place; waiting work is placed greedily in ``priority`` order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from capacity.planning.checks import Facts, violations
from capacity.planning.ledger import Ledger, Takes
from capacity.planning.model import (
    FIXED_STATES,
    Item,
    Plan,
    Policy,
    Slot,
    cycle_start,
    limits_of,
    points_left,
)
from capacity.planning.order import Dates, cycle_index, order_key

__all__ = ["invariant_violations", "place_new", "plan"]

_FIXED = FIXED_STATES

def plan(items: Iterable[Item], policy: Policy, today: date) -> Plan:
    """Where every item not done goes, from the cycle containing ``today``. Request ids must be unique.

    An item's full share is min(its points, its lane's budget), for the customer lane min(its points,
    the reserve). Committed and in-progress items are placed first, in ``priority`` order, whatever
    cycle they were committed to, with the points they have left (``points_left``: what they held in
    earlier cycles is used): each takes what the current cycle has left, and at least its full share
    even beyond that (a trade-off can force it; ``share_alerts`` reports it), then the rest in the
    following cycles as they allow. Open and paused items follow in ``priority`` order: each
    starts in the earliest cycle of the horizon (the current cycle and the ``horizon_cycles - 1``
    after it) that gives it its full share, so big work never starts with a sliver, then takes what
    each cycle leaves until all its points are placed; WIP limits do not hold commitment back (they
    gate starting work). Work bigger than its lane could hold within the horizon even alone starts
    in the first cycle of the horizon that gives it its full share and runs past the horizon. One
    that cannot be placed in full within the horizon otherwise gets the first cycle after it as
    ``start`` and an empty ``points_by_cycle``; every other slot has at least one entry (zero-point
    work: one entry of 0).
    """
    current = cycle_start(today, policy)
    now, dates = cycle_index(current, policy.cycle_days), Dates(current, policy.cycle_days, policy.horizon_cycles)
    fixed: list[Item] = []
    waiting: list[Item] = []
    for item in _live(items):
        (fixed if item.state in _FIXED else waiting).append(item)
    fixed.sort(key=lambda item: order_key(item, now, policy))
    waiting.sort(key=lambda item: order_key(item, now, policy))
    ledger = Ledger(limits_of(policy))
    slots: dict[str, Slot] = {}
    load: dict[date, dict[str, int]] = {}
    backlog: list[str] = []
    for item in fixed:
        slots[item.request_id] = Slot(item.request_id, current, True, None,
                                      dates.entries(ledger.hold(item.lane, points_left(item, current))))
        _add_load(load, item.lane, slots[item.request_id])
    beyond: list[str] = []  # what does not fit within the horizon: listed last, expected after it
    for item in waiting:
        placed = ledger.place(item.lane, max(item.points, 0), not_before=_not_before(item, current, policy))
        if placed is None:
            beyond.append(item.request_id)
            continue
        slots[item.request_id] = _waiting_slot(item.request_id, placed, backlog, dates, ledger.limits.horizon)
        _add_load(load, item.lane, slots[item.request_id])
    for rid in beyond:
        slots[rid] = _waiting_slot(rid, None, backlog, dates, ledger.limits.horizon)
    return Plan(current, slots, tuple(backlog), dict(sorted(load.items())))


def _not_before(item: Item, current: date, policy: Policy) -> int:
    """Cycles from now until the item may start: paused work waits for the cycle after its pause. Rounded up: a
    ``not_before`` inside a cycle (the cycles changed length since the pause) is the cycle after it."""
    if item.not_before is None or item.not_before <= current:
        return 0
    return -(-(item.not_before - current).days // policy.cycle_days)


def place_new(result: Plan, items: Iterable[Item], new: Item, policy: Policy, today: date) -> Plan:
    """``plan([*items, new], policy, today)``, in microseconds when ``new`` is the last waiting work in order.

    ``result`` must be ``plan(items, policy, today)``. When ``new`` is open or paused, its request id
    is not among ``items`` and it sorts after every open and paused item there (``priority``), it is
    placed on the load ``result`` leaves, which gives exactly the full plan; otherwise, or when
    ``result`` is visibly not that plan (another cycle, other items), this is the full plan.
    """
    items = list(items)
    known = {item.request_id: item for item in items}
    current = cycle_start(today, policy)
    committed = [slot.request_id for slot in result.slots.values() if slot.committed]
    last = [*result.backlog[-1:], *(rid for rid in committed if rid in known and known[rid].state not in _FIXED)]
    now = cycle_index(current, policy.cycle_days)
    if (new.state not in ("open", "paused") or new.request_id in known or len(known) != len(items)
            or result.current_cycle != current or any(rid not in known for rid in result.slots)
            or len(result.slots) != sum(item.state != "done" for item in items)
            or any(not slot.points_by_cycle for slot in result.slots.values())  # work beyond the horizon: last
            or any(order_key(known[rid], now, policy) > order_key(new, now, policy) for rid in last)):
        return plan([*items, new], policy, today)
    ledger, dates = Ledger(limits_of(policy)), Dates(current, policy.cycle_days, policy.horizon_cycles)
    for day, row in result.load.items():
        cycle = dates.index(day)
        if cycle >= 0:
            for lane, points in row.items():
                ledger.restore(lane, [(cycle, points)])
    backlog = list(result.backlog)
    slot = _waiting_slot(new.request_id, ledger.place(new.lane, max(new.points, 0),
                                                      _not_before(new, current, policy)), backlog, dates,
                         ledger.limits.horizon)
    load = {day: dict(row) for day, row in result.load.items()}
    _add_load(load, new.lane, slot)
    return Plan(current, {**result.slots, new.request_id: slot}, tuple(backlog), dict(sorted(load.items())))


def invariant_violations(items: Iterable[Item], result: Plan, policy: Policy) -> list[str]:
    """What in ``result`` breaks the planning rules for ``items``, in words; empty when the plan is sound.

    Limits hold in every cycle, except that committed and in-progress items hold their current-cycle
    points by force: a total, a lane or the internal lanes together may exceed its limit in the
    current cycle only by those forced points, with nothing else added on top. WIP limits are not
    the planner's: they gate starting work. Customer work that may start now never waits while the
    current cycle has room it could use (the reserve is always fillable by it). Also: every item not
    done has one slot, with all its points placed or none (beyond the horizon); waiting work starts
    with a full first share; positions run 1..n in backlog order.
    """
    facts = Facts(current=result.current_cycle, cycle_days=policy.cycle_days, limits=limits_of(policy))
    return violations([item for item in items if item.state != "done"], result, facts)


def _live(items: Iterable[Item]) -> list[Item]:
    seen: set[str] = set()
    live = []
    for item in items:
        if item.request_id in seen:
            raise ValueError(f"request {item.request_id} appears twice")
        seen.add(item.request_id)
        if item.state != "done":
            live.append(item)
    return live


def _waiting_slot(rid: str, placed: Takes | None, backlog: list[str], dates: Dates, horizon: int) -> Slot:
    """The slot of open or paused work; it joins ``backlog`` unless it starts now."""
    if placed is not None and placed[0][0] == 0:
        return Slot(rid, dates[0], True, None, dates.entries(placed))
    backlog.append(rid)
    if placed is None:
        return Slot(rid, dates[horizon], False, len(backlog), ())
    return Slot(rid, dates[placed[0][0]], False, len(backlog), dates.entries(placed))


def _add_load(load: dict[date, dict[str, int]], lane: str, slot: Slot) -> None:
    for cycle, points in slot.points_by_cycle:
        row = load.setdefault(cycle, {})
        row[lane] = row.get(lane, 0) + points

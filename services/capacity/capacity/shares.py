"""The shares report (story 7): points and shares per lane and per objective for each cycle of a range, each
cycle under the policy in force then, read from the cycles' records (``capacity.cycles``) and the plan."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from capacity.cycles import CycleHeld
from capacity.domain import ACTIVE, Card, Ledger
from capacity.objectives import NO_TITLES, Titles
from capacity.planning import Plan, cycle_label
from capacity.planning.order import start_of
from shared.days import FIRST_DAY, LAST_DAY

__all__ = ["MAX_REPORT_CYCLES", "OutOfRange", "report_range", "shares_report"]


def _points_by_cycle(card: Card, plan: Plan | None) -> list[tuple[date, int]]:
    """Where a card's points fall: a span over several cycles counts in each cycle its part, as the plan
    has it from this cycle on; what it already used before this cycle counts in the cycle it was committed to."""
    item = card.item
    assert item.committed_cycle is not None
    slot = plan.slots.get(item.request_id) if plan is not None else None
    if slot is None or not slot.committed:
        return [(item.committed_cycle, item.points)]
    ahead = [(cycle, points) for cycle, points in slot.points_by_cycle if points]
    before = item.points - sum(points for _, points in ahead)
    return [(item.committed_cycle, before)] * (before > 0) + ahead


MAX_REPORT_CYCLES = 520  # ten years of weekly cycles


class OutOfRange(ValueError):
    """A shares report range the service does not answer (answered 422)."""


def report_range(start: date | None, end: date | None, cycle_days: int, today: date) -> tuple[date, date]:
    """The first and last cycle starts of a shares report: by default the last 12 cycles to today.

    Refused (``OutOfRange``): a day before ``FIRST_DAY`` or after ``LAST_DAY`` (``shared.days``), ``from``
    after ``to``, or a span of more than ``MAX_REPORT_CYCLES`` cycles."""
    for name, day in (("from", start), ("to", end)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise OutOfRange(f"'{name}' must be between {FIRST_DAY} and {LAST_DAY}; it is {day}.")
    first = start_of(start or today - timedelta(days=cycle_days * 12), cycle_days)
    last = start_of(end or today, cycle_days)
    if first > last:
        raise OutOfRange(f"'from' ({first}) is after 'to' ({last}).")
    if (last - first).days // cycle_days + 1 > MAX_REPORT_CYCLES:
        raise OutOfRange(f"A shares report covers at most {MAX_REPORT_CYCLES} cycles of {cycle_days} day(s); "
                         "ask for a shorter range.")
    return first, last


def shares_report(ledger: Ledger, start: date | None, end: date | None,
                  policies: dict[int, dict[str, Any]], titles: Titles = NO_TITLES,
                  plan: Plan | None = None) -> dict[str, Any]:
    """Points and shares per lane and per objective (with its title), for each cycle in the range, each
    cycle under the policy in force then (``capacity_points``, ``customer_reserve``, ``lane_caps``).

    The current cycle and those before it are read from their records (``capacity.cycles``), later ones from
    the current ``plan``. A past cycle with no record (before capacity kept them) counts what the board still
    shows of it: finished work in the cycle it was committed to.
    Raises ``OutOfRange`` for a range ``report_range`` refuses."""
    policy = ledger.policy
    first, last = report_range(start, end, policy.cycle_days, date.today())
    found: dict[date, list[tuple[Card | None, str, str | None, int]]] = {}  # cycle → (card, lane, objective, points)
    governed: dict[date, CycleHeld] = {}
    for cycle_start, kept in ledger.cycles.items():
        if first <= cycle_start <= last:
            governed[cycle_start] = kept
            found[cycle_start] = [(ledger.cards.get(h.request_id), h.lane, h.objective_id, h.points)
                                  for h in kept.held]
    for card in ledger.cards.values():
        item = card.item
        if item.committed_cycle is None or (item.state not in ACTIVE and item.state != "done"):
            continue
        for cycle, points in _points_by_cycle(card, plan):
            if first <= cycle <= last and cycle not in governed:
                found.setdefault(cycle, []).append((card, item.lane, item.objective_id, points))
    rows = []
    for start_day in sorted(found):
        record = governed.get(start_day)
        capacity = record.capacity_points if record else policy.capacity_points
        lanes: dict[str, int] = {}
        objectives: dict[str, int] = {}
        for _, lane, objective, points in found[start_day]:
            lanes[lane] = lanes.get(lane, 0) + points
            objectives[objective or "none"] = objectives.get(objective or "none", 0) + points
        named = titles.by_objective([card for card, *_ in found[start_day] if card is not None])
        rows.append({
            "cycle": cycle_label(start_day, policy), "cycle_start": start_day.isoformat(),
            "capacity_points": capacity,
            "customer_reserve": record.customer_reserve if record else policy.customer_reserve,
            "lane_caps": dict(record.lane_caps if record else policy.lane_caps),
            "policy_version": record.policy_version if record else policy.version,
            "lanes": {k: {"points": v, "share": round(v / capacity, 4)} for k, v in sorted(lanes.items())},
            "objectives": {k: {"points": v, "share": round(v / capacity, 4), "title": named.get(k)}
                           for k, v in sorted(objectives.items())},
        })
    return {"from": first.isoformat(), "to": last.isoformat(), "customer_reserve": policy.customer_reserve,
            "cycles": rows, "policy_versions": sorted(policies)}

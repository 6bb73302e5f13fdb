"""What a plan says that people must hear of: collisions of large work, and shares over the policy. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from capacity.planning.checks import crowding
from capacity.planning.model import (
    CUSTOMER,
    INTERNAL_LANES,
    Item,
    Plan,
    Policy,
    cycle_start,
    limits_of,
    points_left,
    priority,
)

__all__ = ["Alert", "Collision", "collisions", "share_alerts"]


@dataclass(frozen=True)
class Collision:
    cycle: date
    request_ids: tuple[str, ...]
    teams: tuple[str, ...]
    points_needed: int
    points_available: int


@dataclass(frozen=True)
class Alert:
    kind: Literal["reserve_crowded_out", "lane_over_cap"]
    cycle: date
    lane: str | None
    observation: str
    shares: Mapping[str, float]


def collisions(items: Iterable[Item], result: Plan, policy: Policy) -> list[Collision]:
    """Large work from two or more teams due in the same cycle that the plan does not all finish by then.

    Items not done of at least ``large_points`` with a due date in the current cycle or later (committed
    work counts: a launch already under way still collides with an event that cannot fit beside it),
    grouped by the cycle of their due date. ``points_needed`` is the points they have left together (what
    committed work held in earlier cycles is done: ``points_left``); ``points_available`` what the plan
    places for them by the end of that cycle. By cycle; request ids
    in priority order, teams alphabetical.
    """
    current = result.current_cycle
    groups: dict[date, list[Item]] = {}
    for item in items:
        # A due date before the current cycle is compared as a date first: the start of a cycle in the
        # first days of year 1 (a date read from the log) lies before date.min.
        if (item.state != "done" and item.points >= policy.large_points and item.due_date is not None
                and item.due_date >= current):
            groups.setdefault(cycle_start(item.due_date, policy), []).append(item)
    found = []
    for cycle, group in sorted(groups.items()):
        teams = tuple(sorted({item.team for item in group}))
        needed = sum(points_left(item, current) for item in group)
        available = sum(points for item in group if item.request_id in result.slots
                        for when, points in result.slots[item.request_id].points_by_cycle if when <= cycle)
        if len(teams) >= 2 and available < needed:
            group.sort(key=lambda item: priority(item, current, policy))
            found.append(Collision(cycle, tuple(item.request_id for item in group), teams, needed, available))
    return found


def share_alerts(items: Iterable[Item], result: Plan, policy: Policy) -> list[Alert]:
    """Internal work over the reserve or a lane over its cap in the current cycle, as observations with numbers.

    Counts the points committed slots hold in the current cycle; ``shares`` is each lane's share of
    the capacity (all five lanes, and any other lane that holds points).
    """
    current, capacity, limits = result.current_cycle, policy.capacity_points, limits_of(policy)
    lanes = {item.request_id: item.lane for item in items}
    held = dict.fromkeys((CUSTOMER, *INTERNAL_LANES), 0)
    for slot in result.slots.values():
        if slot.committed and slot.request_id in lanes:
            lane = lanes[slot.request_id]
            held[lane] = held.get(lane, 0) + sum(p for when, p in slot.points_by_cycle if when == current)
    shares = {lane: points / capacity if capacity > 0 else 0.0 for lane, points in held.items()}
    return [Alert(kind, current, lane, observation, dict(shares))
            for kind, lane, observation in crowding(held, shares, limits, policy.lane_caps, policy.customer_reserve)]

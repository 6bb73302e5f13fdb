"""Capacity rules: points, cycles, the order of the backlog, and when each item should start.

Pure functions over plain data; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

__all__ = ["OpenItem", "Placement", "Policy", "cycle_label", "cycle_start", "forecast",
           "moved", "points_for", "priority_key", "reason"]

# Cycles are counted from a Monday, so weekly cycles are ISO weeks.
EPOCH = date(2024, 1, 1)


@dataclass(frozen=True)
class Policy:
    version: int = 0
    cycle_days: int = 7
    capacity_points: int = 20
    size_points: Mapping[str, int] = field(default_factory=lambda: {"XS": 1, "S": 2, "M": 3, "L": 5, "XL": 8})
    default_points: int = 3


@dataclass(frozen=True)
class OpenItem:
    request_id: str
    title: str
    requester: dict[str, str]
    lane: str
    colour: str
    objective_id: str | None
    objective_rank: int | None
    score: float
    points: int
    submitted_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "submitted_at": self.submitted_at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenItem:
        return cls(**{**data, "submitted_at": datetime.fromisoformat(data["submitted_at"])})


@dataclass(frozen=True)
class Placement:
    request_id: str
    position: int
    cycle: str
    cycle_start: date


def points_for(effort: int | None, size: str | None, policy: Policy) -> int:
    """Points from the requester's estimate, else from the size map, else the default."""
    if effort is not None:
        return effort
    if size is not None and size in policy.size_points:
        return policy.size_points[size]
    return policy.default_points


def cycle_start(day: date, policy: Policy) -> date:
    offset = (day - EPOCH).days // policy.cycle_days * policy.cycle_days
    return EPOCH + timedelta(days=offset)


def cycle_label(start: date, policy: Policy) -> str:
    """ISO week (``2026-W48``) for weekly cycles, else the start date."""
    if policy.cycle_days == 7:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.isoformat()


def priority_key(item: OpenItem) -> tuple[int, int, float, datetime, str]:
    """Aligned work by objective rank and score first, then the rest; first come first within."""
    if item.objective_id is not None and item.objective_rank is not None:
        return (0, item.objective_rank, -item.score, item.submitted_at, item.request_id)
    return (1, 0, 0.0, item.submitted_at, item.request_id)


def forecast(items: Iterable[OpenItem], policy: Policy, today: date) -> list[Placement]:
    """Positions in priority order, and the cycle each item is expected to start in."""
    ordered = sorted(items, key=priority_key)
    start = cycle_start(today, policy)
    used = 0
    placements = []
    for position, item in enumerate(ordered, start=1):
        if used > 0 and used + item.points > policy.capacity_points:
            start += timedelta(days=policy.cycle_days)
            used = 0
        used += item.points
        placements.append(Placement(item.request_id, position, cycle_label(start, policy), start))
    return placements


def moved(previous: Mapping[str, Placement], current: Sequence[Placement],
          also: Iterable[str] = ()) -> list[Placement]:
    """Placements whose expected start changed (position alone does not count), plus ``also``."""
    forced = set(also)
    return [p for p in current
            if p.request_id in forced
            or p.request_id not in previous
            or previous[p.request_id].cycle != p.cycle]


def reason(item: OpenItem) -> str:
    """Why the item sits where it does, in words a requester can hear without blame."""
    if item.objective_id is not None:
        return (f"It ladders up to objective {item.objective_id} (rank {item.objective_rank}); "
                "objective work is planned first, in rank order.")
    return ("It does not ladder up to one of this quarter's published objectives, so it is "
            "accepted and queued after the objective work.")

"""Private to ``capacity.planning``: cycle arithmetic and the order of waiting work."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capacity.planning.model import Item, Policy

__all__ = ["Dates", "cycle_index", "label", "order_key", "start_of"]

_EPOCH = date(2024, 1, 1)  # a Monday, so weekly cycles are ISO weeks
_EPOCH_UTC = datetime(2024, 1, 1, tzinfo=UTC)
_MICROSECOND, _DAY_MICROS = timedelta(microseconds=1), 86_400_000_000


def cycle_index(day: date, cycle_days: int) -> int:
    """Cycles since the epoch, negative before it."""
    return (day.toordinal() - _EPOCH.toordinal()) // cycle_days


def start_of(day: date, cycle_days: int) -> date:
    return _EPOCH + timedelta(days=cycle_index(day, cycle_days) * cycle_days)


def label(start: date, cycle_days: int) -> str:
    if cycle_days == 7:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.isoformat()


def order_key(item: Item, now: int, policy: Policy) -> tuple[object, ...]:
    """``priority``, with the current cycle as an index; built for speed, as plan() sorts by it."""
    submitted = item.submitted_at
    since = (submitted if submitted.tzinfo else submitted.replace(tzinfo=UTC)) - _EPOCH_UTC
    micros = since // _MICROSECOND  # an int sorts faster than a datetime; days count in UTC
    group = 0 if item.head_of_backlog else 3
    if now - micros // _DAY_MICROS // policy.cycle_days >= policy.max_wait_cycles:
        return (group, 0, 0.0, micros, item.request_id)
    if item.objective_id is None:
        return (group + 2, 0, 0.0, micros, item.request_id)
    rank = sys.maxsize if item.objective_rank is None else item.objective_rank
    score = -item.score if item.score == item.score else 0.0  # a NaN score must not unsettle the order
    return (group + 1, rank, score, micros, item.request_id)


class Dates:
    """Start dates of cycles by index, 0 being the current cycle."""

    def __init__(self, current: date, cycle_days: int, known: int = 1) -> None:
        self._current, self._days = current, cycle_days
        self._known = [current + timedelta(days=n * cycle_days) for n in range(max(1, known))]

    def __getitem__(self, index: int) -> date:
        self._reach(index)
        return self._known[index]

    def index(self, day: date) -> int:
        return (day - self._current).days // self._days

    def entries(self, takes: list[tuple[int, int]]) -> tuple[tuple[date, int], ...]:
        self._reach(takes[-1][0])
        known = self._known
        return tuple([(known[cycle], points) for cycle, points in takes])

    def _reach(self, index: int) -> None:
        while len(self._known) <= index:
            self._known.append(self._current + timedelta(days=len(self._known) * self._days))

"""One passage per request through the board: when it arrived, was committed, started and finished. Pure.

Built by folding capacity's decisions (and withdrawals) with the time each happened, live and during a
rebuild alike; each event costs O(1) whatever the size of the history. Times are days since the Unix
epoch (UTC, fractional), so metrics and forecasts read them as numpy arrays.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = ["EPOCH", "History", "Passage", "Tally", "day_of", "to_date", "to_datetime"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A passage begins with capacity's first decision about a request.
_BEGINS = frozenset({"request.scheduled", "request.backlogged", "request.started", "request.paused", "request.done"})
_DAY_S = 86_400.0


def day_of(moment: datetime) -> float:
    """Days since the epoch; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH).total_seconds() / _DAY_S


def to_datetime(day: float) -> datetime:
    return EPOCH + timedelta(days=day)


def to_date(day: float) -> date:
    return to_datetime(day).date()


@dataclass(frozen=True)
class Passage:
    """A request's way through one lane; ``started`` is its first start, ``done`` its finish."""

    request_id: str
    lane: str
    points: int
    submitted: float
    committed: float | None = None
    started: float | None = None
    done: float | None = None
    paused: bool = False
    withdrawn: bool = False
    imported: bool = False  # recorded from an import of past work, not by this board
    told_p85: float | None = None  # the 85% start date people were last told (a day), to notice a slip
    sle_warned: bool = False  # request.sle_at_risk was announced for it

    @property
    def in_progress(self) -> bool:
        return self.started is not None and self.done is None and not self.withdrawn

    @property
    def waiting(self) -> bool:
        return self.started is None and self.done is None and not self.withdrawn

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Passage:
        return cls(**data)


@dataclass
class Tally:
    """One lane's day: how many items started and finished, and the cycle times (days) of those finished."""

    starts: int = 0
    finishes: int = 0
    cycle_times: list[float] = field(default_factory=list)


class History:
    """Every passage by request id, and per lane and day what started and finished (kept as passages
    change, so forecasts read a lane's recent days without walking the whole history); ``dirty`` names
    the passages the last folds changed, for the store."""

    def __init__(self, passages: dict[str, Passage] | None = None) -> None:
        self.passages: dict[str, Passage] = {}
        self.tallies: dict[str, dict[int, Tally]] = {}
        self.dirty: set[str] = set()
        self.tallied = 0  # grows whenever a tally changes, so what is read off the tallies can be kept
        for passage in (passages or {}).values():
            self._put(passage)
        self.dirty.clear()

    def _put(self, passage: Passage) -> None:
        before = self.passages.get(passage.request_id)
        if passage.started is not None and (before is None or before.started is None):
            self._day(passage.lane, passage.started).starts += 1
            self.tallied += 1
        if passage.done is not None and passage.started is not None and (before is None or before.done is None):
            tally = self._day(passage.lane, passage.done)
            tally.finishes += 1
            tally.cycle_times.append(passage.done - passage.started)
            self.tallied += 1
        self.passages[passage.request_id] = passage
        self.dirty.add(passage.request_id)

    def _day(self, lane: str, moment: float) -> Tally:
        return self.tallies.setdefault(lane, {}).setdefault(math.floor(moment), Tally())

    def days(self, lane: str) -> dict[int, Tally]:
        """The lane's tallies by day (days since the epoch)."""
        return self.tallies.get(lane, {})

    def record(self, event_type: str, request_id: str, at: datetime, *, lane: str | None = None,
               points: int | None = None, submitted_at: datetime | None = None,
               told_at: str | None = None) -> Passage | None:
        """Fold one event that happened ``at``; ``lane``, ``points`` and ``submitted_at`` describe the card
        (a passage begins at its first decision); ``told_at`` is the 85% start date the event tells people
        (a commitment's cycle start). Replays change nothing: each time is set once."""
        known = self.passages.get(request_id)
        if known is None:
            if lane is None or submitted_at is None or event_type not in _BEGINS:
                return None
            known = Passage(request_id, lane, points or 0, day_of(submitted_at))
        day = day_of(at)
        match event_type:
            case "request.scheduled" if known.done is None:
                told = day_of(datetime.fromisoformat(str(told_at))) if told_at else known.told_p85
                changed = replace(known, committed=known.committed if known.committed is not None else day,
                                  paused=False, told_p85=told)
            case "request.backlogged" | "request.forecast_slipped" if told_at:
                changed = replace(known, told_p85=day_of(datetime.fromisoformat(str(told_at))))
            case "request.sle_at_risk":
                changed = replace(known, sle_warned=True)
            case "request.started" if known.started is None:
                changed = replace(known, started=day, paused=False)
            case "request.started" if known.paused:
                changed = replace(known, paused=False)
            case "request.paused" if known.done is None and not known.paused:
                changed = replace(known, paused=True)
            case "request.done" if known.done is None:
                changed = replace(known, done=day, started=known.started if known.started is not None else day,
                                  paused=False)
            case "request.withdrawn" if known.done is None and not known.withdrawn:
                changed = replace(known, withdrawn=True)
            case _:
                changed = known
        if lane is not None and changed.lane != lane and changed.done is None:
            changed = replace(changed, lane=lane, points=points if points is not None else changed.points)
        if changed == self.passages.get(request_id):
            return None
        self._put(changed)
        return changed

    def replace(self, passage: Passage) -> None:
        """Take a passage as another instance saved it (its tallies follow, as for a fold)."""
        self._put(passage)
        self.dirty.discard(passage.request_id)

    def add(self, passage: Passage) -> bool:
        """Add a finished passage from an import of past work; False when that request is known already."""
        if passage.request_id in self.passages:
            return False
        self._put(passage)
        return True

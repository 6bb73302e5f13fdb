"""The back-test that shows how far the forecasts can be trusted. Pure.

At the start of each past cycle it forecasts, from what was known then (the lane's history up to that
moment, and its queue then, in the order requests arrived: the board's past orderings are not kept),
when every waiting item would start, and checks against when it did. Per lane it reports the share of
items that started by their 50/85/95% dates (a reliability table: a calibrated forecaster's shares are
close to 50, 85 and 95%) and the Brier score of those three forecasts (the mean squared gap between the
stated probability and what happened; lower is better, 0.142 is what a perfectly calibrated forecaster
scores on these three questions). A date is judged once its item started or the date passed; a date
still ahead of an item not started yet is not judged; lanes with too little history at a cycle are not forecast from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from capacity.flow.forecast import CONFIDENCES, forecast_lane, lane_model
from capacity.flow.frame import CYCLE_EPOCH, Frame
from capacity.flow.history import History
from capacity.flow.metrics import MIN_HISTORY

__all__ = ["Reliability", "backtest", "calibration"]

PERFECT_BRIER = round(sum(q * (1 - q) for q in CONFIDENCES) / len(CONFIDENCES), 4)


@dataclass
class Reliability:
    """Outcomes of judged forecast dates: per confidence, how many were judged and came true; and the
    Brier sum over those whose three dates were all judged."""

    judged: list[int] = field(default_factory=lambda: [0] * len(CONFIDENCES))
    hits: list[int] = field(default_factory=lambda: [0] * len(CONFIDENCES))
    scored: int = 0
    brier_sum: float = 0.0

    def add(self, came_true: list[bool | None]) -> None:
        """One forecast's outcomes per confidence; None where it cannot be told yet."""
        for i, outcome in enumerate(came_true):
            if outcome is not None:
                self.judged[i] += 1
                self.hits[i] += int(outcome)
        if all(o is not None for o in came_true):
            self.scored += 1
            self.brier_sum += sum((q - bool(o)) ** 2 for q, o in zip(CONFIDENCES, came_true, strict=True)) / 3

    def merge(self, other: Reliability) -> None:
        self.judged = [a + b for a, b in zip(self.judged, other.judged, strict=True)]
        self.hits = [a + b for a, b in zip(self.hits, other.hits, strict=True)]
        self.scored += other.scored
        self.brier_sum += other.brier_sum

    def shares(self) -> dict[str, float | None]:
        return {f"p{round(q * 100)}": round(h / n, 4) if n else None
                for q, h, n in zip(CONFIDENCES, self.hits, self.judged, strict=True)}

    def as_json(self) -> dict[str, Any]:
        return {"judged": self.judged[1], "started_by": self.shares(),
                "brier": round(self.brier_sum / self.scored, 4) if self.scored else None}


def backtest(frame: Frame, history: History, lane: str, *, now: float, cycle_days: int, history_cycles: int,
             cycles: int, trials: int) -> Reliability:
    """Replay the last ``cycles`` cycle starts before ``now`` for one lane."""
    mask = frame.lane(lane)
    submitted, started = frame.submitted[mask], frame.started[mask]
    order = np.argsort(submitted, kind="stable")
    submitted, started = submitted[order], started[order]
    done = frame.done[mask][order]
    current = int(np.floor((now - CYCLE_EPOCH) / cycle_days))
    found = Reliability()
    for cycle in range(current - cycles, current):
        moment = CYCLE_EPOCH + cycle * cycle_days
        model = lane_model(history, lane, moment, cycle_days, history_cycles)
        if model.finished < MIN_HISTORY:
            continue
        waiting = np.flatnonzero((submitted <= moment) & ~(started <= moment) & ~(done <= moment))
        if not waiting.size:
            continue
        ranges = forecast_lane(model, [str(i) for i in waiting], [], trials=trials, finishes=False)
        for row in waiting:
            dates = ranges[str(row)].start
            assert dates is not None
            actual = started[row]
            found.add([bool(actual <= d) if actual <= now or d <= now else None for d in dates])
    return found


def calibration(frame: Frame, history: History, *, now: float, cycle_days: int, history_cycles: int, cycles: int,
                trials: int) -> dict[str, Any]:
    """The reliability table and Brier score per lane, and over every lane."""
    lanes: list[dict[str, Any]] = []
    overall = Reliability()
    for name in frame.lane_names:
        result = backtest(frame, history, name, now=now, cycle_days=cycle_days, history_cycles=history_cycles,
                          cycles=cycles, trials=trials)
        overall.merge(result)
        lanes.append({"lane": name, **result.as_json()})
    return {"method": "back-test at each past cycle start, from the history known then",
            "cycles": cycles, "trials": trials, "perfect_brier": PERFECT_BRIER,
            "lanes": lanes, "overall": overall.as_json()}

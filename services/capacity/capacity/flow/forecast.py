"""Monte Carlo forecasts: when waiting work starts and finishes, as 50/85/95% dates. Pure, vectorised.

Each lane is forecast from its own history only: the items it started and finished in each past cycle
(the policy's share is what bounded them), never the whole team's. A trial draws past cycles at random,
with replacement, as (starts, finishes) pairs, and adds them up from now on. Work in a lane starts in
the order of its queue (committed work first, then the backlog's order) and finishes in the order it
started. Within a cycle the n starts of a trial are spread evenly, so the k-th item of the queue starts
when the trial's running count passes k - 1/2. The q-date of item k is then the first moment the
(1 - q) quantile of the running count, over the trials, passes k - 1/2: with probability q the lane has
started k items by then. Quantiles of counts are taken once per cycle and interpolated linearly within
it, so one simulation answers for the whole queue.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from capacity.flow.frame import CYCLE_EPOCH, Floats
from capacity.flow.history import History

__all__ = ["CONFIDENCES", "Curves", "Forecast", "LaneModel", "Range", "by_horizon", "curves", "forecast_arrays",
           "forecast_lane", "lane_model"]

CONFIDENCES = (0.5, 0.85, 0.95)
MAX_CYCLES = 520  # a simulation never looks further than this many cycles ahead
Range = tuple[float, float, float]  # days since the epoch at 50, 85 and 95%; inf when beyond MAX_CYCLES


@dataclass(frozen=True)
class LaneModel:
    """A lane's past as the forecaster samples it, and where the current cycle stands."""

    lane: str
    starts: npt.NDArray[np.int64]  # per complete past cycle sampled
    finishes: npt.NDArray[np.int64]
    finished: int  # items the lane finished before now
    cycle_days: int
    now: float
    started_now: int  # items started and finished so far in the current cycle
    finished_now: int

    @property
    def cycle_index(self) -> int:
        return int(np.floor((self.now - CYCLE_EPOCH) / self.cycle_days))

    @property
    def elapsed(self) -> float:
        """How much of the current cycle has passed, 0 to 1."""
        return (self.now - CYCLE_EPOCH) / self.cycle_days - self.cycle_index


@dataclass(frozen=True)
class Forecast:
    start: Range | None  # None for work already started
    done: Range


def lane_model(history: History, lane: str, now: float, cycle_days: int, history_cycles: int,
               cap: int | None = None) -> LaneModel:
    """The lane's complete cycles from its first start (at most ``history_cycles`` of them) before ``now``,
    counting the days begun before ``now`` (live, today's events so far; in a back-test at a cycle's
    start, the days before it). ``cap`` bounds each past cycle's starts and finishes: what the policy's
    share of a cycle now allows the lane, should it allow less than the lane once did."""
    days = history.days(lane)
    current = int(np.floor((now - CYCLE_EPOCH) / cycle_days))
    known = sorted(day for day in days if day < now)  # a day's tally holds what happened from its start
    starting = [day for day in known if days[day].starts]
    first_cycle = (starting[0] - int(CYCLE_EPOCH)) // cycle_days if starting else current
    first = max(first_cycle, current - history_cycles)
    span = max(current - first, 0)
    starts, finishes = np.zeros(span, np.int64), np.zeros(span, np.int64)
    finished = started_now = finished_now = 0
    for day in known:
        tally = days[day]
        finished += tally.finishes
        cycle = (day - int(CYCLE_EPOCH)) // cycle_days
        if cycle == current:
            started_now += tally.starts
            finished_now += tally.finishes
        elif cycle >= first:
            starts[cycle - first] += tally.starts
            finishes[cycle - first] += tally.finishes
    if cap is not None:
        starts, finishes = np.minimum(starts, cap), np.minimum(finishes, cap)
    return LaneModel(lane, starts, finishes, finished, cycle_days, now, started_now, finished_now)


def _seed(lane: str) -> int:
    """The same history gives the same forecast: a fixed seed per lane, so dates move only with the facts."""
    return zlib.crc32(lane.encode())


def _running(counts: npt.NDArray[np.int64], so_far: int, need: int, trials: int, rng: np.random.Generator,
             picks: npt.NDArray[np.uint16] | None) -> tuple[Floats, npt.NDArray[np.uint16]]:
    """The (1 - q) quantiles of each trial's running count at the end of each cycle, from the current one,
    as far as the 95% row reaches ``need``; ``picks`` (cycles × trials) are the past cycles drawn, shared
    by starts and finishes. Cycles are simulated in blocks, each carrying on from the last."""
    rate = float(counts.mean()) if counts.size else 0.0
    block_cycles = MAX_CYCLES if rate <= 0 else min(MAX_CYCLES, int(need / rate) + 4)
    # Small integer types: less memory to move (a count that could outgrow 16 bits keeps 32).
    width = np.int16 if (int(counts.max()) if counts.size else 0) * MAX_CYCLES < 2**15 else np.int32
    drawable: npt.NDArray[np.signedinteger[Any]] = counts.astype(width) if counts.size else np.zeros(1, width)
    levels: list[Floats] = []
    carried: npt.NDArray[np.signedinteger[Any]] = np.zeros(trials, width)
    begun = 0
    while True:
        end = min(MAX_CYCLES, begun + block_cycles)
        have = 0 if picks is None else picks.shape[0]
        if have < end:
            more = rng.integers(0, drawable.size, size=(end - have, trials), dtype=np.uint16)
            picks = more if picks is None else np.concatenate([picks, more], axis=0)
        assert picks is not None
        running: npt.NDArray[np.signedinteger[Any]] = drawable[picks[begun:end]]  # a row per cycle
        if begun == 0:
            running[0] -= np.minimum(running[0], so_far)  # this cycle's work so far counts toward its draw
        np.cumsum(running, axis=0, out=running)
        running += carried
        levels.append(np.quantile(running, [1 - q for q in CONFIDENCES], axis=1, method="linear"))
        carried, begun = running[-1].copy(), end
        if levels[-1][-1, -1] >= need or begun >= MAX_CYCLES:
            return np.concatenate(levels, axis=1), picks
        block_cycles = max(8, begun // 4)


def _moments(levels: Floats, targets: Floats, model: LaneModel) -> Floats:
    """For each target count, the moment each quantile row of running counts passes it."""
    elapsed, cycles = model.elapsed, levels.shape[1]
    out = np.empty((len(CONFIDENCES), targets.size))
    for row, level in enumerate(levels):
        c = np.searchsorted(level, targets, side="left")
        inside = c < cycles
        cc = np.minimum(c, cycles - 1)
        low = np.where(cc == 0, 0.0, level[np.maximum(cc - 1, 0)])
        high = level[cc]
        begin = np.where(cc == 0, elapsed, cc.astype(np.float64))
        length = np.where(cc == 0, 1 - elapsed, 1.0)
        fraction = np.clip((targets - low) / np.maximum(high - low, 1e-9), 0, 1)
        moment = begin + fraction * length  # cycles from the current cycle's start
        out[row] = np.where(inside, CYCLE_EPOCH + (model.cycle_index + moment) * model.cycle_days, np.inf)
    return out.T


@dataclass(frozen=True)
class Curves:
    """The 50/85/95% running counts of a lane's starts and finishes at the end of each cycle from now;
    good for queues of up to ``covers`` items (work in progress included)."""

    starts: Floats
    finishes: Floats
    covers: int


def curves(model: LaneModel, covers: int, *, trials: int = 10_000) -> Curves:
    """Simulate the lane ``trials`` times, far enough for ``covers`` items to start and finish."""
    rng = np.random.default_rng(_seed(model.lane))
    starts, picks = _running(model.starts, model.started_now, covers, trials, rng, None)
    finishes, _ = _running(model.finishes, model.finished_now, covers, trials, rng, picks)
    return Curves(starts, finishes, covers)


def forecast_arrays(model: LaneModel, waiting: int, in_progress: int, simulated: Curves) -> tuple[Floats, Floats]:
    """Start moments of the ``waiting`` items of the queue, and finish moments of the ``in_progress`` items
    then the waiting ones, as rows of 50/85/95% (days since the epoch; inf beyond the simulation)."""
    total = waiting + in_progress
    starts = _moments(simulated.starts, np.arange(waiting, dtype=np.float64) + 0.5, model)
    done = _moments(simulated.finishes, np.arange(total, dtype=np.float64) + 0.5, model)
    done[in_progress:] = np.maximum(done[in_progress:], starts)  # nothing finishes before it starts
    return starts, done


def forecast_lane(model: LaneModel, waiting: Sequence[str], in_progress: Sequence[str], *,
                  trials: int = 10_000, finishes: bool = True, simulated: Curves | None = None
                  ) -> dict[str, Forecast]:
    """Start and finish ranges for the lane's queue (``waiting`` in order) and finish ranges for its work
    in progress (oldest first). ``simulated`` reuses curves of the same model that cover the queue."""
    total = len(in_progress) + len(waiting)
    if simulated is None or simulated.covers < total:
        simulated = curves(model, total, trials=trials)
    if not finishes:
        starts = _moments(simulated.starts, np.arange(len(waiting), dtype=np.float64) + 0.5, model)
        return {r: Forecast(tuple(start), tuple(start)) for r, start in zip(waiting, starts.tolist(), strict=True)}
    starts, done = forecast_arrays(model, len(waiting), len(in_progress), simulated)
    found: dict[str, Forecast] = {}
    for request_id, finish in zip(in_progress, done.tolist(), strict=False):
        found[request_id] = Forecast(None, tuple(finish))
    for request_id, start, finish in zip(waiting, starts.tolist(), done[len(in_progress):].tolist(), strict=True):
        found[request_id] = Forecast(tuple(start), tuple(finish))
    return found


def by_horizon(model: LaneModel, horizon: float, *, trials: int = 10_000) -> dict[str, Range]:
    """How many items the lane starts and finishes from now to ``horizon`` (days since the epoch), at
    50/85/95% confidence: with probability q at least that many."""
    rng = np.random.default_rng(_seed(model.lane))
    moment = (horizon - CYCLE_EPOCH) / model.cycle_days - model.cycle_index
    cycles = max(1, min(MAX_CYCLES, int(np.ceil(moment))))
    picks = rng.integers(0, max(model.starts.size, 1), size=(cycles, trials))
    found: dict[str, Range] = {}
    for name, counts, so_far in (("started", model.starts, model.started_now),
                                 ("done", model.finishes, model.finished_now)):
        drawn = counts[picks] if counts.size else np.zeros((cycles, trials), np.int64)
        running = np.cumsum(drawn, axis=0) - np.minimum(drawn[0], so_far)
        last = cycles - 1
        before = running[last - 1] if last > 0 else np.zeros(trials)
        part = moment - last if last > 0 else (moment - model.elapsed) / max(1 - model.elapsed, 1e-9)
        at = before + np.clip(part, 0, 1) * (running[last] - before)
        q = np.quantile(at, [1 - c for c in CONFIDENCES])
        found[name] = (float(np.floor(q[0])), float(np.floor(q[1])), float(np.floor(q[2])))
    return found

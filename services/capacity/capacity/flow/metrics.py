"""Flow figures per lane and overall, read off the passages: WIP, throughput, cycle and lead time, the age
of work in progress, the service level expectation, and a cumulative flow diagram. Pure, vectorised."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from capacity.flow.frame import CYCLE_EPOCH, Floats, Frame
from capacity.flow.history import History, to_date, to_datetime
from shared.events import LANES, lane_words

__all__ = ["MIN_HISTORY", "PERCENTILES", "Window", "ages", "cfd", "flow", "sle_days"]

PERCENTILES = (50, 85, 95)
MIN_HISTORY = 10  # finished items a lane needs before its SLE and forecasts speak for it
SLE_PERCENTILE = 85


@dataclass(frozen=True)
class Window:
    """What the figures look at: ``now`` (days since the epoch), the last ``days`` of finished work."""

    now: float
    days: int
    cycle_days: int


def _percentiles(values: Floats) -> dict[str, float] | None:
    if values.size == 0:
        return None
    found = np.percentile(values, PERCENTILES)
    return {f"p{p}": round(float(v), 2) for p, v in zip(PERCENTILES, found, strict=True)}


def sle_days(history: History, now: float, days: int) -> dict[str, float | None]:
    """Per lane, the days within which 85% of its work finished (start → done) over the last ``days``;
    None while the lane has fewer than ``MIN_HISTORY`` finished items there. Reads only those days."""
    found: dict[str, float | None] = {}
    for lane in LANES:
        tallies = history.days(lane)
        times = [t for day in range(math.floor(now - days), math.floor(now) + 1) if day in tallies
                 for t in tallies[day].cycle_times]
        found[lane] = round(float(np.percentile(times, SLE_PERCENTILE)), 2) if len(times) >= MIN_HISTORY else None
    return found


def _lane(frame: Frame, mask: npt.NDArray[np.bool_], window: Window, sle: float | None,
          name: str | None) -> dict[str, Any]:
    now = window.now
    started, done = frame.started[mask], frame.done[mask]
    wip = ~np.isnan(started) & np.isnan(done)
    finished = done > now - window.days
    this_cycle = int(np.floor((now - CYCLE_EPOCH) / window.cycle_days))
    done_cycles = np.floor((done[finished] - CYCLE_EPOCH) / window.cycle_days).astype(np.int64)
    recent = [this_cycle - k for k in range(8, 0, -1)]
    inside = done_cycles - recent[0]
    counts = np.bincount(inside[(inside >= 0) & (inside < 8)], minlength=8)
    complete = max(1, window.days // window.cycle_days)
    figures: dict[str, Any] = {
        "wip": int(wip.sum()), "paused": int((wip & frame.paused[mask]).sum()),
        "waiting": int((np.isnan(started) & np.isnan(done)).sum()),
        "finished": int(finished.sum()),
        "throughput": {"per_day": round(float(finished.sum()) / window.days, 3),
                       "per_cycle": round(float((done_cycles < this_cycle).sum()) / complete, 2),
                       "recent_cycles": [{"cycle_start": to_date(CYCLE_EPOCH + c * window.cycle_days).isoformat(),
                                          "done": int(n)} for c, n in zip(recent, counts, strict=True)]},
        "cycle_time_days": _percentiles((done - started)[finished]),
        "lead_time_days": _percentiles((done - frame.submitted[mask])[finished]),
    }
    if name is not None:
        figures["lane"] = name
        figures["sle"] = None if sle is None else {
            "percentile": SLE_PERCENTILE, "days": sle,
            "statement": f"{SLE_PERCENTILE}% of {lane_words(name)} work finishes within {sle:g} days."}
    return figures


def flow(frame: Frame, window: Window, sle: dict[str, float | None]) -> dict[str, Any]:
    """Flow figures for each lane and for the whole team; ``sle`` is ``sle_days``."""
    return {"as_of": to_datetime(window.now).isoformat(), "window_days": window.days,
            "cycle_days": window.cycle_days,
            "overall": _lane(frame, frame.lane(None), window, None, None),
            "lanes": [_lane(frame, frame.lane(name), window, sle.get(name), name) for name in frame.lane_names]}


def ages(frame: Frame, window: Window, sle: dict[str, float | None], shown: set[str] | None = None
         ) -> list[dict[str, Any]]:
    """Everything in progress, oldest first, with its age and its lane's SLE; ``shown`` limits the rows."""
    rows = np.flatnonzero(~np.isnan(frame.started) & np.isnan(frame.done))
    rows = rows[np.argsort(frame.started[rows], kind="stable")]
    found = []
    for row in rows:
        request_id = frame.request_ids[row]
        if shown is not None and request_id not in shown:
            continue
        lane = frame.lane_names[frame.lanes[row]]
        age = round(window.now - float(frame.started[row]), 2)
        limit = sle.get(lane)
        found.append({"request_id": request_id, "lane": lane, "started_at": to_datetime(frame.started[row]).isoformat(),
                      "age_days": age, "paused": bool(frame.paused[row]), "sle_days": limit,
                      "past_sle": limit is not None and age > limit})
    return found


def cfd(frame: Frame, first: float, last: float, lane: str | None = None) -> dict[str, Any]:
    """Cumulative counts per day from ``first`` to ``last`` (days since the epoch): how many items had
    arrived, been committed, started and finished by the end of each day."""
    mask = frame.lane(lane)
    start, days = int(np.floor(first)), int(np.floor(last)) - int(np.floor(first)) + 1
    bands: dict[str, list[int]] = {}
    committed = np.where(np.isnan(frame.committed), frame.started, frame.committed)  # started unplanned
    for band, times in (("arrived", frame.submitted), ("committed", committed),
                        ("started", frame.started), ("done", frame.done)):
        moments = times[mask]
        moments = moments[~np.isnan(moments)]
        offsets = np.clip(np.floor(moments).astype(np.int64) - start, 0, None)  # earlier ones count from day 0
        per_day = np.bincount(offsets[offsets < days], minlength=days)
        bands[band] = np.cumsum(per_day).tolist()
    return {"lane": lane, "days": [to_date(start + d).isoformat() for d in range(days)], **bands}

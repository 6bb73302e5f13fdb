"""The passages as numpy columns, so every flow figure is a few vectorised operations. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from capacity.flow.history import Passage
from shared.events import LANES

__all__ = ["CYCLE_EPOCH", "Frame", "frame_of"]

Floats = npt.NDArray[np.float64]
CYCLE_EPOCH = float((date(2024, 1, 1) - date(1970, 1, 1)).days)  # cycles are counted from Monday 2024-01-01


@dataclass(frozen=True)
class Frame:
    """One row per passage not withdrawn; times in days since the epoch, NaN when it has not happened."""

    request_ids: tuple[str, ...]
    lanes: npt.NDArray[np.int16]
    lane_names: tuple[str, ...]
    points: npt.NDArray[np.int32]
    submitted: Floats
    committed: Floats
    started: Floats
    done: Floats
    paused: npt.NDArray[np.bool_]

    def lane(self, name: str | None) -> npt.NDArray[np.bool_]:
        """A mask of the rows of lane ``name``; every row when None."""
        if name is None:
            return np.ones(len(self.request_ids), dtype=bool)
        if name not in self.lane_names:
            return np.zeros(len(self.request_ids), dtype=bool)
        found: npt.NDArray[np.bool_] = self.lanes == self.lane_names.index(name)
        return found

    def cycle_of(self, days: Floats, cycle_days: int) -> npt.NDArray[np.int64]:
        """The index of the cycle each time falls in (cycles counted as the planner counts them)."""
        return np.floor((days - CYCLE_EPOCH) / cycle_days).astype(np.int64)


def frame_of(passages: Iterable[Passage]) -> Frame:
    names: list[str] = list(LANES)
    rows = [p for p in passages if not p.withdrawn]
    for p in rows:
        if p.lane not in names:
            names.append(p.lane)
    index = {name: i for i, name in enumerate(names)}
    nan = float("nan")
    # One pass over the passages into one block of columns: far cheaper than a pass per column.
    block = np.array([(index[p.lane], p.points, p.submitted, nan if p.committed is None else p.committed,
                       nan if p.started is None else p.started, nan if p.done is None else p.done, p.paused)
                      for p in rows], dtype=np.float64).reshape(-1, 7)
    return Frame(
        request_ids=tuple(p.request_id for p in rows), lanes=block[:, 0].astype(np.int16), lane_names=tuple(names),
        points=block[:, 1].astype(np.int32), submitted=block[:, 2].copy(), committed=block[:, 3].copy(),
        started=block[:, 4].copy(), done=block[:, 5].copy(), paused=block[:, 6].astype(bool))

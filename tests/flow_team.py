"""A synthetic team whose throughput distribution is known, for the forecaster's calibration test and
bench: each cycle it starts a number of items drawn from a fixed distribution, in arrival order, spread
evenly over the cycle, and finishes each a random number of days later; the backlog is topped up so
it never runs dry."""

from __future__ import annotations

import numpy as np

from capacity.flow.frame import CYCLE_EPOCH
from capacity.flow.history import History, Passage

__all__ = ["STARTS", "team_history"]

STARTS = {1: 0.10, 2: 0.25, 3: 0.30, 4: 0.20, 6: 0.15}  # items started per weekly cycle, and how often


def team_history(*, cycles: int, seed: int, lane: str = "sales", backlog: int = 25,
                 first_cycle: int = 0) -> tuple[History, float]:
    """The team's history over ``cycles`` weekly cycles, and the moment it ends (days since the epoch)."""
    rng = np.random.default_rng(seed)
    values, weights = list(STARTS), list(STARTS.values())
    passages: dict[str, Passage] = {}
    waiting: list[tuple[str, float]] = []
    made = 0
    for cycle in range(first_cycle, first_cycle + cycles):
        begins = CYCLE_EPOCH + cycle * 7
        while len(waiting) < backlog:
            waiting.append((f"{lane}-{seed}-{made}", begins + 0.01 * len(waiting)))
            made += 1
        count = int(rng.choice(values, p=weights))
        for j in range(count):
            request_id, submitted = waiting.pop(0)
            started = begins + (j + 0.5) / count * 7
            passages[request_id] = Passage(request_id, lane, 3, submitted, started, started,
                                           started + float(rng.exponential(5.0)))
    for request_id, submitted in waiting:
        passages[request_id] = Passage(request_id, lane, 3, submitted)
    return History(passages), CYCLE_EPOCH + (first_cycle + cycles) * 7

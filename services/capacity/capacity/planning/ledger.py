"""Private to ``capacity.planning``: the per-cycle limits and the ledger that places points under them.

Cycles are indices here (0 = the current cycle); dates, items and slots stay in ``planning``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Ledger", "Limits", "Takes", "share_floor"]

Takes = list[tuple[int, int]]  # (cycle index, points), in cycle order
_SLACK = 1e-9  # so that 0.29 * 100 counts as 29, not 28.999999999999996


def share_floor(share: float, capacity: int) -> int:
    """Whole points of a share of the capacity, rounded down, never below 0."""
    return max(0, math.floor(share * capacity + _SLACK))


@dataclass(frozen=True)
class Limits:
    customer: str  # the one lane that may use the reserve
    capacity: int
    allowance: int  # what internal lanes together may use per cycle
    budgets: Mapping[str, int]
    horizon: int  # cycles in the planning window, the current one included

    def internal(self, lane: str) -> bool:
        return lane != self.customer

    def budget(self, lane: str) -> int:
        """The lane's budget; an internal lane the policy gives no cap is bound by the reserve alone."""
        return self.budgets.get(lane, self.capacity if lane == self.customer else self.allowance)

    def effective(self, lane: str) -> int:
        """The most the lane can ever get in one cycle, all rules together."""
        most = min(self.budget(lane), self.capacity)
        return max(0, min(most, self.allowance) if self.internal(lane) else most)

    def need(self, lane: str, points: int) -> int:
        """What an item must get in a cycle to start there, so that big work never starts with a sliver.

        All its points, or a full cycle's share: the lane's budget, or for the customer lane the
        reserve it is always sure of (all the capacity when the policy reserves nothing).
        """
        share = self.effective(lane)
        if lane == self.customer and self.capacity > self.allowance:
            share = self.capacity - self.allowance
        return min(points, share)

    def oversize(self, lane: str, points: int) -> bool:
        """Work the lane could not hold within the horizon even alone: more points than the most it gets in a
        cycle, over every cycle of the horizon. It starts once it gets its full share and runs past the
        horizon (``Ledger.place``); otherwise it would wait forever, its expected start one horizon away."""
        most = self.effective(lane)
        return most > 0 and points > most * self.horizon


class _Lane:
    """One lane's limits, what it uses per cycle, and what the ledger has learnt about its room."""

    def __init__(self, name: str, limits: Limits, total: list[int], internal: list[int]) -> None:
        self.used = used = [0] * len(total)
        self.internal = limits.internal(name)
        self.effective, self.share = limits.effective(name), limits.need(name, sys.maxsize)
        self.first_fit: dict[int, int] = {}  # need -> no earlier cycle has that much room left
        self.misfit = sys.maxsize  # the fewest points that found no place
        capacity, budget = limits.capacity, limits.budget(name)
        allowance = limits.allowance if self.internal else None

        def room(cycle: int) -> int:  # the hot path, hence plain locals
            free = capacity - total[cycle]
            if budget - used[cycle] < free:
                free = budget - used[cycle]
            if allowance is not None and allowance - internal[cycle] < free:
                free = allowance - internal[cycle]
            return free if free > 0 else 0

        self.room = room  # the points the lane can still get in a cycle


class Ledger:
    """Points used per cycle, in total, by internal lanes and per lane.

    Room only ever shrinks, which is what makes the shortcuts in ``place`` sound. WIP limits play no
    part here: they gate starting work (``capacity.board``), not commitment to a cycle.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = [0] * limits.horizon
        self.internal = [0] * limits.horizon
        self.lanes: dict[str, _Lane] = {}

    def hold(self, lane: str, points: int) -> Takes:
        """Place committed work: now what is left or its full share, by force if need be; the rest later.

        The rest may run past the horizon. In a lane that can get nothing in a cycle (ops closed it, or
        reserved every point for customer work, after it was committed), a point a cycle, by force, until it
        is done or paused: its commitment stands, and the closed lane's share stays closed for the rest.
        """
        state = self._lane(lane)
        if state.effective <= 0:
            takes = [(0, min(points, 1))]
            self._apply(state, takes)
            return takes
        now = min(points, max(state.share, state.room(0)))
        takes = [(0, now)]
        left, cycle = points - now, 1
        while left > 0:  # ends: past every earlier placement a cycle has room effective > 0
            if cycle >= len(self.total):
                self._grow(cycle + 1)
            free = state.room(cycle)
            if free:
                takes.append((cycle, min(free, left)))
                left -= takes[-1][1]
            cycle += 1
        self._apply(state, takes)
        return takes

    def place(self, lane: str, points: int, not_before: int = 0) -> Takes | None:
        """Place waiting work at its earliest possible start (cycle ``not_before`` at the soonest), or None
        when it does not fit within the horizon. Work too big for the horizon even alone (``Limits.oversize``)
        starts in the first cycle of the horizon that gives it its full share, and runs past the horizon."""
        state, first = self._lane(lane), max(not_before, 0)
        takes: Takes | None
        if self.limits.oversize(lane, points):
            takes = self._run_past(state, points, first)
        elif points >= state.misfit:
            return None  # what did not fit still does not, nor anything bigger
        elif points <= 0:
            takes = [(first, 0)] if first < self.limits.horizon else None
        else:
            takes = self._fit(state, points, first)
            if takes is None and not_before == 0:
                state.misfit = points
        if takes is not None:
            self._apply(state, takes)
        return takes

    def _fit(self, state: _Lane, points: int, first: int) -> Takes | None:
        need, horizon, room = min(points, state.share), self.limits.horizon, state.room
        if need <= 0:
            return None
        start = state.first_fit.get(need, 0)
        while start < horizon and room(start) < need:
            start += 1
        state.first_fit[need] = start
        if start < first:
            start = first
            while start < horizon and room(start) < need:
                start += 1
        takes: Takes = []
        left, cycle = points, start
        while left > 0 and cycle < horizon:
            free = room(cycle)
            if free:
                takes.append((cycle, free if free < left else left))
                left -= takes[-1][1]
            cycle += 1
        return None if left > 0 else takes

    def _run_past(self, state: _Lane, points: int, first: int) -> Takes | None:
        need, horizon, room = min(points, state.share), self.limits.horizon, state.room
        start = first
        while start < horizon and room(start) < need:
            start += 1
        if start >= horizon:
            return None
        takes: Takes = []
        left, cycle = points, start
        while left > 0:  # ends: past every earlier placement a cycle has room effective > 0
            if cycle >= len(self.total):
                self._grow(cycle + 1)
            free = room(cycle)
            if free:
                takes.append((cycle, free if free < left else left))
                left -= takes[-1][1]
            cycle += 1
        return takes

    def restore(self, lane: str, takes: Takes) -> None:
        """Book points that an earlier placement took (past the horizon too: work too big for it)."""
        if takes and takes[-1][0] >= len(self.total):
            self._grow(takes[-1][0] + 1)
        self._apply(self._lane(lane), takes)

    def _apply(self, state: _Lane, takes: Takes) -> None:
        total, internal, used = self.total, self.internal, state.used
        for cycle, points in takes:
            total[cycle] += points
            used[cycle] += points
            if state.internal:
                internal[cycle] += points

    def _lane(self, lane: str) -> _Lane:
        state = self.lanes.get(lane)
        if state is None:
            state = self.lanes[lane] = _Lane(lane, self.limits, self.total, self.internal)
        return state

    def _grow(self, size: int) -> None:
        extra = [0] * (size - len(self.total))
        for used in (self.total, self.internal, *(state.used for state in self.lanes.values())):
            used.extend(extra)

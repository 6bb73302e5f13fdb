"""Every waiting and in-progress request's forecast, lane by lane, from the board and the history. Pure
(the curve cache it is given is the caller's)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

from capacity.domain import Ledger
from capacity.flow.forecast import Curves, curves, forecast_arrays, lane_model
from capacity.flow.frame import Floats
from capacity.flow.history import History
from capacity.flow.metrics import MIN_HISTORY
from capacity.planning import Plan, lane_budgets
from shared.events import StartForecast

__all__ = ["ItemForecast", "Outlook", "Settings", "lane_queues", "outlook", "share_cap"]


@dataclass(frozen=True)
class Settings:
    trials: int = 10_000
    history_cycles: int = 26


@dataclass(frozen=True)
class ItemForecast:
    request_id: str
    lane: str
    position: int  # place in the lane's queue, 1-based; 0 for work in progress
    method: Literal["monte_carlo", "points"]
    history_items: int
    start: tuple[date, date, date] | None  # None once started
    done: tuple[date, date, date] | None  # None when beyond what the forecaster looks at

    def start_forecast(self) -> StartForecast | None:
        if self.start is None:
            return None
        likely, p85, p95 = self.start
        return StartForecast(likely=likely, p85=p85, p95=p95, method=self.method,
                             history_items=self.history_items)

    def as_json(self) -> dict[str, Any]:
        def dates(found: tuple[date, date, date] | None) -> dict[str, str] | None:
            return None if found is None else {f"p{p}": d.isoformat() for p, d in zip((50, 85, 95), found, strict=True)}
        note = None if self.method == "monte_carlo" else (
            f"The {self.lane} lane has finished {self.history_items} items, fewer than {MIN_HISTORY}: "
            "these are the planner's points-based dates, as if every estimate were exact.")
        return {"request_id": self.request_id, "lane": self.lane, "position_in_lane": self.position,
                "method": self.method, "history_items": self.history_items, "start": dates(self.start),
                "done": dates(self.done), "beyond_horizon": self.position > 0 and self.start is None, "note": note}


Outlook = dict[str, ItemForecast]


def lane_queues(ledger: Ledger, plan: Plan, history: History) -> dict[str, tuple[list[str], list[str]]]:
    """Per lane, the work waiting to start in the order it will (committed work, then the backlog's order)
    and the work in progress, oldest first."""
    queues: dict[str, tuple[list[str], list[str]]] = {}
    committed = sorted((c for c in ledger.cards.values() if c.item.state == "committed"),
                       key=lambda c: (c.item.committed_cycle or date.min, c.item.submitted_at, c.request_id))
    fresh = [rid for rid, slot in plan.slots.items()
             if slot.committed and ledger.cards[rid].item.state in ("open", "paused")]
    for request_id in [*(c.request_id for c in committed), *fresh, *plan.backlog]:  # fresh: in planning order
        queues.setdefault(ledger.cards[request_id].item.lane, ([], []))[0].append(request_id)
    going = [c for c in ledger.cards.values() if c.item.state == "in_progress"]
    passages = history.passages

    def began(request_id: str) -> float:
        known = passages.get(request_id)
        return known.started if known is not None and known.started is not None else float("inf")

    for card in sorted(going, key=lambda c: (began(c.request_id), c.request_id)):
        queues.setdefault(card.item.lane, ([], []))[1].append(card.request_id)
    return queues


def _to_dates(days: Floats) -> list[tuple[date, date, date] | None]:
    """Rows of 50/85/95% moments (days since the epoch) as dates, all at once; a row reaching beyond the
    simulation is None."""
    finite = np.all(np.isfinite(days), axis=1).tolist()
    dates = np.floor(np.where(np.isfinite(days), days, 0)).astype("int64").astype("datetime64[D]").tolist()
    return [(d[0], d[1], d[2]) if ok else None for d, ok in zip(dates, finite, strict=True)]


def share_cap(ledger: Ledger, lane: str, waiting: list[str]) -> int:
    """The most items of ``lane`` a cycle can start under the policy's share: its points per cycle over
    the mean size of the work it has waiting (rounded up, since work larger than a cycle's share starts
    with part of it)."""
    budget = lane_budgets(ledger.policy).get(lane, ledger.policy.capacity_points)
    sizes = [ledger.cards[rid].item.points for rid in waiting if rid in ledger.cards]
    mean = max(sum(sizes) / len(sizes), 1.0) if sizes else float(ledger.policy.default_points)
    return max(1, math.ceil(budget / mean))


def _points(ledger: Ledger, plan: Plan, request_id: str, lane: str, position: int, finished: int) -> ItemForecast:
    slot = plan.slots.get(request_id)
    cycle = timedelta(days=ledger.policy.cycle_days)
    if slot is None:
        return ItemForecast(request_id, lane, position, "points", finished, None, None)
    start = (slot.start, slot.start, slot.start) if position else None
    last = slot.points_by_cycle[-1][0] + cycle - timedelta(days=1) if slot.points_by_cycle else None
    return ItemForecast(request_id, lane, position, "points", finished, start,
                        None if last is None else (last, last, last))


def outlook(history: History, ledger: Ledger, plan: Plan, now: float, settings: Settings,
            cache: dict[tuple[Any, ...], Curves], lanes: set[str] | None = None) -> Outlook:
    """Forecasts of every request waiting or in progress on the board (in ``lanes``, when given); ``cache``
    keeps each lane's simulation while its history and the cycle stay the same."""
    found: Outlook = {}
    cycle_days = ledger.policy.cycle_days
    for lane, (waiting, going) in lane_queues(ledger, plan, history).items():
        if lanes is not None and lane not in lanes:
            continue
        model = lane_model(history, lane, now, cycle_days, settings.history_cycles, share_cap(ledger, lane, waiting))
        if model.finished < MIN_HISTORY:
            for position, request_id in enumerate(waiting, start=1):
                found[request_id] = _points(ledger, plan, request_id, lane, position, model.finished)
            for request_id in going:
                found[request_id] = _points(ledger, plan, request_id, lane, 0, model.finished)
            continue
        key = (lane, model.starts.tobytes(), model.finishes.tobytes(), model.started_now, model.finished_now,
               model.cycle_index, cycle_days, settings.trials)
        need = len(waiting) + len(going)
        simulated = cache.get(key)
        if simulated is None or simulated.covers < need:
            simulated = curves(model, need + need // 10 + 5, trials=settings.trials)  # room for a few more
            cache[key] = simulated
        starts, done = forecast_arrays(model, len(waiting), len(going), simulated)
        finishes = _to_dates(done)
        for request_id, finish in zip(going, finishes, strict=False):
            found[request_id] = ItemForecast(request_id, lane, 0, "monte_carlo", model.finished, None, finish)
        for position, (request_id, start, finish) in enumerate(
                zip(waiting, _to_dates(starts), finishes[len(going):], strict=True), start=1):
            found[request_id] = ItemForecast(request_id, lane, position, "monte_carlo", model.finished,
                                             *_no_sooner(start, finish, ledger.cards[request_id].item.not_before))
    return found


Moments = tuple[date, date, date]


def _no_sooner(start: Moments | None, finish: Moments | None, soonest: date | None
               ) -> tuple[Moments | None, Moments | None]:
    """A paused card starts no sooner than the cycle its pause names, whatever its lane's pace; its finish
    moves by as much as its start did."""
    if soonest is None:
        return start, finish
    if start is None:
        return None, None if finish is None else (max(finish[0], soonest), max(finish[1], soonest),
                                                   max(finish[2], soonest))
    moved = tuple(max(d, soonest) - d for d in start)
    later = (start[0] + moved[0], start[1] + moved[1], start[2] + moved[2])
    return later, None if finish is None else (finish[0] + moved[0], finish[1] + moved[1], finish[2] + moved[2])

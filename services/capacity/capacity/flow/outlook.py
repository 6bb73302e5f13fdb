"""Every waiting and in-progress request's forecast, lane by lane, from the board and the history. Pure
(the curve cache it is given is the caller's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

from capacity.domain import Ledger
from capacity.flow.forecast import Curves, Range, curves, forecast_lane, lane_model
from capacity.flow.history import History
from capacity.flow.metrics import MIN_HISTORY
from capacity.planning import Plan
from shared.events import StartForecast

__all__ = ["ItemForecast", "Outlook", "Settings", "lane_queues", "outlook"]


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
    for request_id in [*(c.request_id for c in committed), *sorted(fresh), *plan.backlog]:
        queues.setdefault(ledger.cards[request_id].item.lane, ([], []))[0].append(request_id)
    going = [c for c in ledger.cards.values() if c.item.state == "in_progress"]
    passages = history.passages

    def began(request_id: str) -> float:
        known = passages.get(request_id)
        return known.started if known is not None and known.started is not None else float("inf")

    for card in sorted(going, key=lambda c: (began(c.request_id), c.request_id)):
        queues.setdefault(card.item.lane, ([], []))[1].append(card.request_id)
    return queues


def _to_dates(found: list[Range | None]) -> list[tuple[date, date, date] | None]:
    """Days since the epoch as dates, all at once; a range reaching beyond the simulation is None."""
    days = np.array([r if r is not None else (np.inf,) * 3 for r in found], dtype=np.float64).reshape(-1, 3)
    finite = np.all(np.isfinite(days), axis=1, keepdims=False).astype(bool)
    dates = np.floor(np.where(np.isfinite(days), days, 0)).astype("int64").astype("datetime64[D]").tolist()
    return [(d[0], d[1], d[2]) if ok else None for d, ok in zip(dates, finite.tolist(), strict=True)]


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
        model = lane_model(history, lane, now, cycle_days, settings.history_cycles)
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
            simulated = curves(model, need + need // 4 + 10, trials=settings.trials)
            cache[key] = simulated
        ranges = forecast_lane(model, waiting, going, trials=settings.trials, simulated=simulated)
        place = {rid: i for i, rid in enumerate(waiting, start=1)}
        starts = _to_dates([f.start for f in ranges.values()])
        dones = _to_dates([f.done for f in ranges.values()])
        for (request_id, forecast), start, done in zip(ranges.items(), starts, dones, strict=True):
            found[request_id] = ItemForecast(request_id, lane, place.get(request_id, 0), "monte_carlo",
                                             model.finished, None if forecast.start is None else start, done)
    return found

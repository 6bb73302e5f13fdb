"""Flow in capacity's transactions: each replan's decisions get their ranges, slips and SLE breaches are
announced, and every decision is folded into the flow history, all in the planning transaction."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio.client import Pipeline

from capacity.config import CapacitySettings
from capacity.domain import Ledger
from capacity.flow.forecast import Curves
from capacity.flow.history import History, day_of
from capacity.flow.imports import FlowHistoryImported, fold_import
from capacity.flow.metrics import sle_days
from capacity.flow.outlook import Outlook, Settings, outlook
from capacity.flow.store import FlowStore
from capacity.flow.watch import at_risk, dress, slipped
from capacity.planning import Plan
from shared.envelope import CloudEvent, derived_id
from shared.events import (
    EventData,
    ForecastSlipped,
    RequestBacklogged,
    RequestClassified,
    RequestScheduled,
    RequestSubmitted,
)

__all__ = ["FlowService", "FlowSettings", "flow_settings", "fold_event"]

log = logging.getLogger(__name__)
Apply = Callable[..., Awaitable[Sequence[CloudEvent]]]


@dataclass(frozen=True)
class FlowSettings:
    trials: int = 10_000
    history_cycles: int = 26
    window_days: int = 182
    calibration_cycles: int = 52
    calibration_trials: int = 2_000


def flow_settings(settings: CapacitySettings) -> FlowSettings:
    return FlowSettings(settings.flow_trials, settings.flow_history_cycles, settings.flow_window_days,
                        settings.flow_calibration_cycles, settings.flow_calibration_trials)


def _told_at(event: EventData) -> str | None:
    """The 85% start date an event tells people, if it tells one."""
    match event:
        case RequestScheduled():
            return event.cycle_start.isoformat()
        case RequestBacklogged() if not event.paused:  # a paused card's re-announcement tells nobody
            return (event.start_forecast.p85 if event.start_forecast else event.expected_start).isoformat()
        case ForecastSlipped():
            return event.start_forecast.p85.isoformat()
        case _:
            return None


def fold_event(history: History, ledger: Ledger, event: EventData, at: datetime) -> None:
    """Fold one event into the history; ``ledger`` has folded it already (it knows the card)."""
    if isinstance(event, FlowHistoryImported):
        fold_import(history, event)
        return
    if isinstance(event, (RequestSubmitted, RequestClassified)):
        return  # a rebuild reads capacity's inputs too; passages follow its decisions only
    request_id = str(getattr(event, "request_id", ""))
    card = ledger.cards.get(request_id)
    if card is None:
        history.record("request.withdrawn", request_id, at)  # gone from the board: withdrawn or merged
        return
    history.record(event.event_type, request_id, at, lane=card.item.lane, points=card.item.points,
                   submitted_at=card.item.submitted_at, told_at=_told_at(event))


class FlowService:
    def __init__(self, store: FlowStore, settings: FlowSettings,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.settings = settings
        self._now = now
        self._curves: dict[tuple[Any, ...], Curves] = {}
        self._sle: tuple[tuple[int, int, int], dict[str, float | None]] | None = None

    def now(self) -> float:
        return day_of(self._now())

    def outlook(self, history: History, ledger: Ledger, plan: Plan, lanes: set[str] | None = None) -> Outlook:
        if len(self._curves) > 64:  # simulations of lane histories that have moved on
            self._curves.clear()
        return outlook(history, ledger, plan, self.now(), Settings(self.settings.trials, self.settings.history_cycles),
                       self._curves, lanes)

    def sle(self, history: History) -> dict[str, float | None]:
        """Each lane's SLE, read off the tallies again only when they changed or a day passed."""
        key = (id(history), history.tallied, int(self.now()))
        if self._sle is None or self._sle[0] != key:
            self._sle = (key, sle_days(history, self.now(), self.settings.window_days))
        return self._sle[1]

    async def decide(self, ledger: Ledger, plan: Plan, decided: Sequence[EventData],
                     made: Sequence[EventData] = ()) -> list[EventData]:
        """``decided`` with ranges on its backlog announcements, then the slips and SLE breaches in the
        lanes this change touched, but those the change ``made`` itself (the periodic check's)."""
        history = await self.store.history()
        touched = {ledger.cards[rid].item.lane for rid in ledger.dirty if rid in ledger.cards}
        touched |= {str(lane) for d in decided if (lane := getattr(d, "lane", None)) is not None}
        if not touched:
            return list(decided)
        found = self.outlook(history, ledger, plan, touched)
        told = {d.request_id for d in decided if isinstance(d, (RequestBacklogged, RequestScheduled))}
        flagged = {(d.event_type, d.subject()) for d in made}
        watched = [e for e in self._watch(ledger, history, found, told, touched)
                   if (e.event_type, e.subject()) not in flagged]
        return [*dress(decided, found), *watched]

    def _watch(self, ledger: Ledger, history: History, found: Outlook, told: set[str],
               lanes: set[str] | None) -> list[EventData]:
        risky = at_risk(ledger, history, self.sle(history), self.now())
        return [*slipped(ledger, history, found, told),
                *(e for e in risky if lanes is None or getattr(e, "lane", None) in lanes)]

    async def record(self, pipe: Pipeline, ledger: Ledger, decided: Sequence[tuple[EventData, datetime]]) -> None:
        """Fold the transaction's decisions (each with its envelope's time), and cards that left the board,
        into the history; queue it."""
        history = await self.store.history()
        for request_id in ledger.dirty:
            if request_id not in ledger.cards:
                history.record("request.withdrawn", request_id, self._now())
        for data, at in decided:
            fold_event(history, ledger, data, at)
        self.store.save(pipe, history)

    async def check(self, apply: Apply) -> Sequence[CloudEvent]:
        """Look at every lane: slipped forecasts and work past its SLE (run periodically)."""
        moment = self._now()

        async def change(ledger: Ledger, plan: Plan) -> list[EventData]:
            # Read under the planning lock: what another instance flagged meanwhile is not flagged again.
            history = await self.store.history()
            return self._watch(ledger, history, self.outlook(history, ledger, plan), set(), None)

        # A cause of its own each time: what was announced is kept in the history, so nothing repeats.
        made = await apply(change, cause_id=derived_id("flow-check", moment.isoformat()))
        if made:
            log.info("flow check: %d event(s)", len(made))
        return made

"""What the forecasts and the ages of work tell people: the range on a backlog notice, a slipped 85%
date, and work in progress past its lane's SLE. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from capacity.domain import BEYOND_HORIZON, Card, Ledger
from capacity.flow.history import History, to_datetime
from capacity.flow.outlook import Outlook
from shared.events import EventData, ForecastSlipped, RequestBacklogged, Requester, SleAtRisk

__all__ = ["at_risk", "dress", "slipped"]


def dress(decided: Sequence[EventData], found: Outlook) -> list[EventData]:
    """The decisions, each backlog announcement carrying its request's start range."""
    dressed: list[EventData] = []
    for data in decided:
        # Work beyond the horizon has no start the plan can give: a range from the lane's pace would say
        # otherwise, so it carries none.
        told = data if isinstance(data, RequestBacklogged) and not data.beyond_horizon else None
        forecast = found.get(told.request_id) if told is not None else None
        start = forecast.start_forecast() if forecast is not None else None
        dressed.append(data.model_copy(update={"start_forecast": start}) if start is not None else data)
    return dressed


def _requester(card: Card) -> Requester:
    return Requester.model_validate(card.requester)


def slipped(ledger: Ledger, history: History, found: Outlook, told_now: set[str]) -> list[EventData]:
    """A request waiting its turn in the backlog whose 85% start date moved out by more than a cycle since
    people were last told (its backlog notice or its last slip); ``told_now`` are told already. Only work
    waiting in the backlog: committed work's requester was told the cycle, and a paused card's hears next
    when it is committed again (the notice says the request waits its turn)."""
    cycle = timedelta(days=ledger.policy.cycle_days)
    events: list[EventData] = []
    for request_id, forecast in sorted(found.items()):
        if forecast.method != "monte_carlo" or forecast.start is None or request_id in told_now:
            continue
        passage = history.passages.get(request_id)
        card = ledger.cards.get(request_id)
        if (card is None or card.item.state != "open" or passage is None or passage.told_p85 is None
                or ledger.announced.get(request_id) == BEYOND_HORIZON):  # told it waits beyond the horizon
            continue
        previous = to_datetime(passage.told_p85).date()
        start = forecast.start_forecast()
        if start is not None and start.p85 > previous + cycle:
            events.append(ForecastSlipped(request_id=request_id, title=card.title, requester=_requester(card),
                                          lane=card.item.lane, previous_p85=previous, start_forecast=start))
    return events


def at_risk(ledger: Ledger, history: History, sle: dict[str, float | None], now: float) -> list[EventData]:
    """Work in progress (not paused) older than its lane's SLE, once per item."""
    events: list[EventData] = []
    for request_id, card in sorted(ledger.cards.items()):
        if card.item.state != "in_progress":
            continue
        passage = history.passages.get(request_id)
        limit = sle.get(card.item.lane)
        if passage is None or passage.started is None or limit is None or passage.sle_warned:
            continue
        age = now - passage.started
        if age > limit:
            events.append(SleAtRisk(request_id=request_id, title=card.title, requester=_requester(card),
                                    lane=card.item.lane, started_at=to_datetime(passage.started),
                                    age_days=round(age, 2), sle_days=limit))
    return events

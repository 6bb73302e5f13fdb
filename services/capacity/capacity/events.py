"""The events capacity folds: read off their envelopes into their models (``shared.events``, and capacity's
own flow import), and applied to the ledger (``fold``), matched on their types so a renamed field fails
mypy, not a rebuild. Pure, but for ``read``'s validation."""

from __future__ import annotations

from dataclasses import replace

from capacity.cycles import CYCLE_HELD, CycleHeld
from capacity.domain import BEYOND_HORIZON, Card, Ledger, Tradeoff, policy_from
from capacity.flow.imports import IMPORTED, FlowHistoryImported
from capacity.planning import Item, Policy, points_for
from shared.envelope import CloudEvent
from shared.events import (
    EVENT_TYPES,
    CapacityAlert,
    ConflictDetected,
    EventData,
    PolicyUpdated,
    RequestBacklogged,
    RequestClassified,
    RequestDone,
    RequestMerged,
    RequestPaused,
    RequestScheduled,
    RequestStarted,
    RequestWithdrawn,
    TradeoffDecided,
    TradeoffRequired,
)

__all__ = ["fold", "read"]

_MODELS: dict[str, type[EventData]] = {**EVENT_TYPES, IMPORTED: FlowHistoryImported, CYCLE_HELD: CycleHeld}


def read(event: CloudEvent) -> EventData | None:
    """``event``'s payload as its model; None for a type capacity does not know. Raises pydantic's
    ``ValidationError`` when the payload does not fit (a consumer retries, then dead-letters it)."""
    model = _MODELS.get(event.type)
    return None if model is None else model.model_validate(event.data)


def fold(ledger: Ledger, event: EventData) -> None:
    """Apply one event, input or decision, to the ledger."""
    request_id = str(getattr(event, "request_id", ""))
    card = ledger.cards.get(request_id)
    known = card is not None
    done = card is not None and card.item.state == "done"
    match event:
        case RequestClassified() if request_id not in ledger.closed and not _outdated(event, card):
            ledger.put(_card_from_classified(event, card, ledger.policy))
            ledger.overlaps.classified(request_id, event.similar)
        case RequestMerged() if not done:
            ledger.withdraw(request_id)  # it leaves like a withdrawn card: its points freed, nothing more said
            ledger.overlaps.merged(request_id, event.into)
        case RequestWithdrawn() if not done:
            ledger.withdraw(request_id)
        case RequestScheduled() if known:
            ledger.move(request_id, state="committed", committed_cycle=event.cycle_start, head_of_backlog=False,
                        not_before=None)
            ledger.announced.pop(request_id, None)
            if event.tradeoff_id is None:
                ledger.close_tradeoffs_of(request_id)
        case RequestBacklogged() if known:
            ledger.announced[request_id] = BEYOND_HORIZON if event.beyond_horizon else event.expected_start
            ledger.dirty.add(request_id)
        case RequestStarted() if known:
            ledger.move(request_id, state="in_progress")
        case RequestPaused() if known:
            ledger.move(request_id, state="paused", committed_cycle=None, head_of_backlog=True,
                        not_before=event.resume_from)
        case RequestDone() if known:
            ledger.move(request_id, state="done")
            ledger.closed.add(request_id)
            ledger.close_tradeoffs_of(request_id)
        case TradeoffRequired():  # replayed after a withdrawal it names (a rebuild folds by time)
            ledger.tradeoffs[event.tradeoff_id] = Tradeoff(
                event.tradeoff_id, request_id, event.cycle,
                tuple(c.request_id for c in event.committed if c.request_id not in ledger.closed),
                status="closed" if request_id in ledger.closed else "open")
        case TradeoffDecided() if event.tradeoff_id in ledger.tradeoffs:
            ledger.tradeoffs[event.tradeoff_id] = replace(
                ledger.tradeoffs[event.tradeoff_id], status="paused" if event.decision == "pause" else "deferred",
                paused_request_id=event.paused_request_id, decided_by=event.decided_by,
                policy_version=event.policy_version, note=event.note)
        case CapacityAlert():
            ledger.alerts[event.alert_id] = event.model_dump(mode="json")
        case ConflictDetected():
            ledger.conflicts.add(event.conflict_id)
        case CycleHeld():
            ledger.cycles[event.cycle_start] = event
        case PolicyUpdated():
            ledger.policy = policy_from(event.policy)
            ledger.policy_history[ledger.policy.version] = event.policy
            ledger.policy_authors[ledger.policy.version] = event.updated_by
        case _:
            pass


def _outdated(classified: RequestClassified, existing: Card | None) -> bool:
    """A classification under an older OKR set than the card's: the request's first one, published late, after
    a rollover had classified it again under the set that replaced it. The card keeps the newer objective."""
    if existing is None or None in (classified.okr_quarter, classified.okr_version, existing.okr_quarter,
                                    existing.okr_version):
        return False
    return (classified.okr_quarter, classified.okr_version) < (existing.okr_quarter, existing.okr_version)


def _card_from_classified(classified: RequestClassified, existing: Card | None, policy: Policy) -> Card:
    request = classified.request
    item = Item(
        request_id=classified.request_id, lane=classified.lane, team=request.requester.team,
        objective_id=classified.objective_id, objective_rank=classified.objective_rank, score=classified.score,
        points=points_for(request.effort, request.size, policy), submitted_at=classified.submitted_at,
        due_date=request.due_date, expedite=request.expedite)
    submitted_by = classified.submitted_by
    if existing is not None:  # re-classified: the objective changes, the card keeps its place on the board
        item = replace(existing.item, objective_id=item.objective_id, objective_rank=item.objective_rank,
                       score=item.score)
        submitted_by = submitted_by or existing.submitted_by  # a rollover's event may not name the tool
    return Card(item, request.title, request.requester.model_dump(), classified.colour, classified.okr_quarter,
                classified.okr_version, submitted_by, request.justification, classified.objective_title)

"""The events capacity folds, read off their envelopes into their models (``shared.events``, and capacity's
own flow import), so the folds match on types and a renamed field fails mypy, not a rebuild."""

from __future__ import annotations

from capacity.flow.imports import IMPORTED, FlowHistoryImported
from shared.envelope import CloudEvent
from shared.events import EVENT_TYPES, EventData

__all__ = ["read"]

_MODELS: dict[str, type[EventData]] = {**EVENT_TYPES, IMPORTED: FlowHistoryImported}


def read(event: CloudEvent) -> EventData | None:
    """``event``'s payload as its model; None for a type capacity does not know. Raises pydantic's
    ``ValidationError`` when the payload does not fit (a consumer retries, then dead-letters it)."""
    model = _MODELS.get(event.type)
    return None if model is None else model.model_validate(event.data)

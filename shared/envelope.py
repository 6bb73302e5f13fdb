"""The CloudEvents 1.0 envelope (structured JSON mode) that carries every event, on Kafka and in webhooks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.events import EVENT_TYPES, EventData

__all__ = ["CONTRACT_ID", "CloudEvent", "dataschema", "derived_id", "envelope", "parse_data", "parse_event"]

# The ``id`` of the AsyncAPI document (docs/asyncapi.json, served at /asyncapi.json by every service).
CONTRACT_ID = "urn:request-governance:events"
_ID_NAMESPACE = uuid.UUID("6f1b3c52-8a0e-4d4b-9a57-2d4c1f0e7a11")


def derived_id(*parts: str) -> str:
    """A stable id for something caused by ``parts``, so a retry yields the same id."""
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(parts)))


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope in structured JSON mode."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    # The schema of ``data`` in the AsyncAPI document (absent on events from before it was set).
    dataschema: str | None = None
    data: dict[str, Any]


def dataschema(model: type[EventData]) -> str:
    """The URI of ``model``'s schema: the AsyncAPI document's id and the schema's place in it."""
    return f"{CONTRACT_ID}#/components/schemas/{model.__name__}"


def envelope(data: EventData, *, source: str, event_id: str | None = None,
             time: datetime | None = None) -> CloudEvent:
    """Wrap ``data`` in an envelope; pass ``event_id`` to make retries dedupe downstream."""
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=data.event_type,
        subject=data.subject(),
        time=time or datetime.now(UTC),
        dataschema=dataschema(type(data)),
        data=data.model_dump(mode="json"),
    )


E = TypeVar("E", bound=EventData)


def parse_data(event: CloudEvent, model: type[E]) -> E:
    """The typed payload of ``event``; raises ``pydantic.ValidationError`` when it does not fit."""
    return model.model_validate(event.data)


def parse_event(event: CloudEvent) -> EventData:
    """The payload of a public event as its type's model (``shared.events.EVENT_TYPES``); raises ``KeyError``
    for a type that is not a public event, ``pydantic.ValidationError`` when the payload does not fit."""
    return parse_data(event, EVENT_TYPES[event.type])

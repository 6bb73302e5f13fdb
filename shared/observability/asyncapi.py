"""The event contract as an AsyncAPI 3 document, generated from ``shared.events`` (the payloads),
``shared.envelope`` (the CloudEvents envelope) and ``shared.topics`` (which topic carries which type,
and who sends and receives it).

Every service serves it at ``/asyncapi.json`` and as a page at ``/asyncapi`` (a server-rendered
table: no script, nothing from a CDN). ``docs/asyncapi.json`` is the committed copy:
``python -m shared.observability.asyncapi > docs/asyncapi.json`` (``make asyncapi``) writes it, and
a test fails when it and the code disagree. Each envelope's ``dataschema`` is
``<document id>#/components/schemas/<Model>``, the schema of its ``data`` in this document.

Every topic of ``Topics.all()`` is in the document or named in its ``x-topics-left-out`` with why:
each service's replay topic is a channel tagged ``internal`` (it carries the same envelopes as the
topics the service consumes); the dead-letter topics and the notifier's compacted state topics are
left out (see ``LEFT_OUT``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.access import ApiKeyCreated, ApiKeyRevoked
from shared.envelope import CONTRACT_ID, CloudEvent, dataschema
from shared.events import EVENT_TYPES, EventData
from shared.observability.asyncapi_page import page
from shared.topics import CONSUMES, Topics

__all__ = ["LEFT_OUT", "RECEIVES", "SENDS", "asyncapi_router", "document", "page"]

_BINDING = "0.5.0"
_REF = "#/components/schemas/{model}"

# Channel (a ``Topics`` property) -> what it is for.
# Types a service writes on a public channel for itself alone: not part of the contract, ignored by every
# other service; a consumer of the channel skips them by their `type`.
INTERNAL_TYPES: dict[str, str] = {
    "capacity.flow_history_imported": "Internal: past finished work ops imported (POST /v1/flow/import), on the "
                                      "log so that capacity's rebuild keeps it. Not part of the contract; skip it.",
    "capacity.cycle_held": "Internal: what a cycle has held so far (points per card, the policy in force), on "
                           "the log so that capacity's shares report keeps past cycles through a rebuild. Not "
                           "part of the contract; skip it.",
}
CHANNELS: dict[str, str] = {
    "requests": "Requests as they enter through the one door, and withdrawals.",
    "classifications": "Each request measured against the published objectives: lane, colour, objective.",
    "okrs": "Each quarter's published objectives (keyed by quarter).",
    "decisions": "Capacity's decisions and card moves: commitments, backlog, trade-offs, collisions, alerts.",
    "notifications": "What each person was told, and when (or why not).",
    "access_keys": "API keys as they are issued and revoked (compacted; secrets never travel, only hashes).",
}
# Who owns (sends on) each channel, and which channels each service consumes (``subscribe`` in its app).
SENDS: dict[str, tuple[str, ...]] = {
    "intake": ("requests", "access_keys"), "classifier": ("classifications", "okrs", "access_keys"),
    "capacity": ("decisions", "access_keys"), "notifier": ("notifications", "access_keys"),
}
RECEIVES: dict[str, tuple[str, ...]] = CONSUMES
_KEY_EVENTS: tuple[type[EventData], ...] = (ApiKeyCreated, ApiKeyRevoked)
_INTERNAL = [{"name": "internal", "description": "Between a service and itself; not for integrations."}]
# Topics of the system the document does not describe, and why (a test holds every topic to one or the other).
LEFT_OUT: dict[str, str] = {
    "dead_letters": "A service's dead letters: whatever it gave up on, as it arrived (it may match no schema), "
                    "with the failure in `dlq_*` headers; read through the service's `/v1/dead-letters`.",
    "subscriptions": "The notifier's own state (webhook subscriptions, secrets sealed), mirrored for its "
                     "rebuild: a storage format that changes with the notifier, not an event of the contract.",
    "sends": "The notifier's own state (each notice and webhook delivery at its latest revision), mirrored "
             "for its rebuild: a storage format that changes with the notifier, not an event of the contract.",
}


def _models() -> list[type[EventData]]:
    return [*EVENT_TYPES.values(), *_KEY_EVENTS]


def _channel_of(model: type[EventData], topics: Topics) -> str:
    address = topics.for_type(model.event_type)
    return next(name for name in CHANNELS if getattr(topics, name) == address)


def _schemas() -> dict[str, Any]:
    models: list[type[BaseModel]] = [CloudEvent, *_models()]
    _, top = models_json_schema([(m, "serialization") for m in models], ref_template=_REF)
    schemas: dict[str, Any] = dict(sorted(top["$defs"].items()))
    schemas["CloudEvent"]["properties"]["dataschema"]["format"] = "uri"
    for model in _models():
        name = model.__name__
        schemas[f"{name}Envelope"] = {
            "title": f"{model.event_type} envelope",
            "allOf": [{"$ref": _REF.format(model="CloudEvent")}],
            "type": "object",
            "required": ["dataschema"],
            "properties": {"type": {"const": model.event_type}, "dataschema": {"const": dataschema(model)},
                           "data": {"$ref": _REF.format(model=name)}},
        }
    schemas["KafkaHeaders"] = {
        "type": "object",
        "properties": {
            "content-type": {"const": "application/cloudevents+json"},
            "ce_id": {"type": "string", "description": "The envelope's id: the dedupe key everywhere."},
            "ce_type": {"type": "string", "description": "The envelope's type, to filter without parsing."},
            "traceparent": {"type": "string", "description": "W3C trace context of the producing span."},
            "dlq_replayed": {"type": "string", "description": "On a replay topic: the dead letter replayed."},
            "dlq_topic": {"type": "string", "description": "On a replay topic: where the record first came."},
        },
    }
    return schemas


def _message(model: type[EventData]) -> dict[str, Any]:
    doc = (model.__doc__ or "").strip().splitlines()
    message: dict[str, Any] = {
        "name": model.event_type, "title": model.event_type,
        "contentType": "application/cloudevents+json",
        "headers": {"$ref": _REF.format(model="KafkaHeaders")},
        "payload": {"$ref": _REF.format(model=f"{model.__name__}Envelope")},
        "bindings": {"kafka": {"key": {"type": "string", "description": "The envelope's subject (request id)."},
                               "bindingVersion": _BINDING}},
    }
    if doc:
        message["summary"] = doc[0]
    return message


@cache
def document(server: str = "127.0.0.1:9092", prefix: str = "governance") -> dict[str, Any]:
    """The AsyncAPI 3.0 document; the topic names are those under ``prefix``."""
    topics = Topics(prefix)
    by_channel: dict[str, list[type[EventData]]] = {name: [] for name in CHANNELS}
    for model in _models():
        by_channel[_channel_of(model, topics)].append(model)
    channels = {
        name: {"address": getattr(topics, name), "description": CHANNELS[name],
               "messages": {m.__name__: {"$ref": f"#/components/messages/{m.__name__}"} for m in models},
               "bindings": {"kafka": {"topic": getattr(topics, name), "bindingVersion": _BINDING}}}
        for name, models in by_channel.items()
    }
    channels["decisions"]["x-internal-types"] = INTERNAL_TYPES
    for service, names in RECEIVES.items():  # what an operator replays is what the service consumes
        address = topics.replays(service)
        channels[f"{service}_replays"] = {
            "address": address, "tags": _INTERNAL,
            "description": f"Internal: dead letters of {service} an operator put back (`POST /v1/dead-letters/"
                           "{id}/replay`), each the envelope it first arrived as; only "
                           f"{service} writes and reads it.",
            "messages": {m.__name__: {"$ref": f"#/components/messages/{m.__name__}"}
                         for name in names for m in by_channel[name]},
            "bindings": {"kafka": {"topic": address, "bindingVersion": _BINDING}}}
    operations: dict[str, Any] = {}
    for service, names in SENDS.items():
        for name in names:
            models = [m for m in by_channel[name] if name != "access_keys" or m in _KEY_EVENTS]
            operations[f"{service}.send.{name}"] = _operation("send", service, name, models)
    for service, names in RECEIVES.items():
        for name in names:
            operations[f"{service}.receive.{name}"] = _operation("receive", service, name, by_channel[name])
        replayed = [m for name in names for m in by_channel[name]]
        for action in ("send", "receive"):
            operations[f"{service}.{action}.{service}_replays"] = _operation(action, service, f"{service}_replays",
                                                                            replayed)
    left_out = {**{topics.dead_letters(service): LEFT_OUT["dead_letters"] for service in RECEIVES},
                topics.subscriptions: LEFT_OUT["subscriptions"], topics.sends: LEFT_OUT["sends"]}
    return {
        "asyncapi": "3.0.0",
        "id": CONTRACT_ID,
        "info": {
            "title": "Request governance events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 envelopes in structured JSON mode, the same JSON on Kafka and in "
                           "webhooks. The record key is the envelope's subject (the request id for request "
                           "events); `ce_id` is the dedupe key. Topic names start with the deployment's "
                           f"topic prefix (`{prefix}` here). Events change only by adding optional fields or "
                           "by a new type version. Channels tagged `internal` are a service's own (its replay "
                           "topic); the dead-letter topics and the notifier's state topics are left out, each "
                           "with its reason, in `x-topics-left-out`.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"kafka": {"host": server, "protocol": "kafka",
                              "description": "The Kafka cluster every service uses (its KAFKA_BOOTSTRAP)."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": {m.__name__: _message(m) for m in _models()}, "schemas": _schemas()},
        "x-topics-left-out": left_out,
    }


def _operation(action: str, service: str, channel: str, models: Iterable[type[EventData]]) -> dict[str, Any]:
    return {"action": action, "title": f"{service} {action}s on {channel}",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{m.__name__}"} for m in models]}


def asyncapi_router(server: str, prefix: str) -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_json() -> JSONResponse:
        return JSONResponse(document(server, prefix))

    @router.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        return HTMLResponse(page(document(server, prefix)))

    return router


if __name__ == "__main__":  # make asyncapi: the document on stdout
    sys.stdout.write(json.dumps(document(), indent=2) + "\n")

"""Checks a record against the AsyncAPI document: its envelope and ``data`` against the schemas of
its ``type``, its Kafka headers against the message's headers, its type against its topic's channel."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema_rs

from shared.observability.asyncapi import document


@cache
def _validator(schema_name: str) -> jsonschema_rs.Draft202012Validator:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "components": document()["components"], "$ref": f"#/components/schemas/{schema_name}"}
    return jsonschema_rs.Draft202012Validator(schema)


def channel_addresses(prefix: str) -> set[str]:
    """The topics the document describes (the contract's, and each service's internal replay topic)."""
    return {channel["address"] for channel in document(prefix=prefix)["channels"].values()}


def _message_of(event_type: str) -> str | None:
    return next((name for name, m in document()["components"]["messages"].items() if m["name"] == event_type), None)


def violations(value: bytes, headers: dict[str, str] | None = None) -> list[str]:
    """What is wrong with one record (an empty list when it matches its schema)."""
    body: Any = json.loads(value)
    message = _message_of(body.get("type", "")) if isinstance(body, dict) else None
    if message is None:
        return [f"no message in the AsyncAPI document for type {body.get('type')!r}"]
    found = [f"{message}: {error}" for error in _validator(f"{message}Envelope").iter_errors(body)]
    if headers is not None:
        found += [f"{message} headers: {error}" for error in _validator("KafkaHeaders").iter_errors(headers)]
    return found


def record_violations(prefix: str, topic: str, value: bytes, headers: dict[str, str] | None = None) -> list[str]:
    """``violations``, and whether the record's topic is a channel that carries its type. A type the channel
    declares internal (``x-internal-types``: a service's own, which every consumer skips) has no message in
    the contract: only its Kafka headers are checked."""
    channel = next((c for c in document(prefix=prefix)["channels"].values() if c["address"] == topic), None)
    if channel is not None and json.loads(value).get("type") in channel.get("x-internal-types", {}):
        return [] if headers is None else [f"headers: {e}" for e in _validator("KafkaHeaders").iter_errors(headers)]
    found = violations(value, headers)
    if channel is None:
        return [*found, f"{topic} is no channel of the AsyncAPI document"]
    name = str(json.loads(value).get("dataschema", "")).rsplit("/", 1)[-1]
    if name not in channel["messages"]:
        found.append(f"{topic} carries no {name!r}")
    return found

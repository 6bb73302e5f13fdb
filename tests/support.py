"""Builders and probes shared by the tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from redis.asyncio import Redis

from shared.envelope import CloudEvent, envelope
from shared.events import EventData, RequestDetails
from shared.infra import build_broker, ensure_topics
from shared.settings import ServiceSettings
from shared.topics import Topics, record_key
from tests.infra import admin_options

API_KEY = "test-key-0123456789"  # ops: may make every call
CRM_KEY = "test-crm-key-0123456789"  # a requester tool that posts for sales only
FORM_KEY = "test-form-key-0123456789"  # a requester tool for customer and business-unit work
TEAM_KEY = "test-team-key-0123456789"
HEAT_SHIELD_KEY = "test-heat-shield-key-0123456789"
API_KEYS: dict[str, dict[str, Any]] = {
    API_KEY: {"tool": "test-tool", "role": "ops"},
    CRM_KEY: {"tool": "crm", "role": "requester_tool", "lanes": ["sales"]},
    FORM_KEY: {"tool": "intake-form", "role": "requester_tool", "lanes": ["customer", "business_unit"]},
    TEAM_KEY: {"tool": "team-board", "role": "team_member"},
    HEAT_SHIELD_KEY: {"tool": "heat-shield", "role": "heat_shield"},
}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


AUTH = auth(API_KEY)


def request_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /v1/requests`` body; override any field."""
    body: dict[str, Any] = {
        "title": "Landing page for Halvorsen Logistics",
        "description": "A custom page for one account, with their logo.",
        "work_type": "landing_page",
        "requester": {"id": "u-2201", "name": "Dave Morrison", "email": "dave@example.com",
                      "team": "Enterprise Sales", "type": "sales"},
        "size": "M",
    }
    body.update(overrides)
    return body


def details(**overrides: Any) -> RequestDetails:
    return RequestDetails.model_validate(request_body(**overrides))


@asynccontextmanager
async def running(app: FastAPI, key: str | None = API_KEY) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (broker and subscribers started) and an HTTP client on it.

    The client sends ``key`` (ops by default) unless a call sends its own ``Authorization``.
    """
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     headers=auth(key) if key else None) as client:
            yield client



@asynccontextmanager
async def connected(settings: ServiceSettings, client_id: str, middlewares: Sequence[Any] = ()
                    ) -> AsyncIterator[tuple[KafkaBroker, Topics, Redis]]:
    """A started broker on the settings' topics (declared first) and a client of their Redis database;
    ``middlewares`` wrap its publishes (tracing)."""
    topics = Topics(settings.topic_prefix)
    await ensure_topics(settings, topics)
    broker = build_broker(settings, client_id, middlewares)
    await broker.start()
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        yield broker, topics, redis
    finally:
        await broker.stop()
        await redis.aclose()

class EventTap:
    """Reads topics from the beginning and keeps every envelope, for assertions."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, **admin_options(),
                                          auto_offset_reset="earliest", enable_auto_commit=False)
        self.events: list[CloudEvent] = []
        self.unparsed: list[tuple[str, bytes]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventTap:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _run(self) -> None:
        async for record in self._consumer:
            assert record.value is not None
            try:
                self.events.append(CloudEvent.model_validate_json(record.value))
            except ValidationError:
                self.unparsed.append((record.topic, record.value))

    def of_type(self, event_type: str) -> list[CloudEvent]:
        return [e for e in self.events if e.type == event_type]

    async def wait_for(self, predicate: Callable[[list[CloudEvent]], bool],
                       timeout: float = 20.0) -> list[CloudEvent]:
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            if time.monotonic() > deadline:
                seen = [(e.type, e.subject) for e in self.events]
                raise AssertionError(f"timed out; events seen: {seen}")
            await asyncio.sleep(0.05)
        return self.events


async def publish(bootstrap: str, topics: Topics, *events: CloudEvent) -> None:
    """Put envelopes on their topics as a producing service would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, **admin_options())
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topics.for_type(event.type),
                                         event.model_dump_json().encode(),
                                         key=record_key(event.subject))
    finally:
        await producer.stop()


async def publish_raw(bootstrap: str, topic: str, value: bytes, key: bytes = b"poison") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **admin_options())
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def event(data: EventData, event_id: str | None = None) -> CloudEvent:
    return envelope(data, source="/tests", event_id=event_id, time=datetime.now(UTC))


async def handled(client: httpx.AsyncClient, event_type: str) -> bool:
    """Whether the service behind ``client`` has handled an event of ``event_type`` (its /metrics)."""
    metrics = (await client.get("/metrics")).text
    return any(line.startswith("governance_events_handled_total{") and f'type="{event_type}"' in line
               and 'outcome="handled"' in line and not line.endswith(" 0.0") for line in metrics.splitlines())


async def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last result: {result!r}")
        await asyncio.sleep(0.1)


async def settled(check: Callable[[], Any], timeout: float = 120) -> Any:
    """``check`` truthy and unchanged over three polls a second apart: nothing more is on its way."""
    seen: list[Any] = []

    async def steady() -> Any:
        seen.append(await check())
        await asyncio.sleep(1)
        return seen[-1] if len(seen) >= 3 and seen[-1] and seen[-1] == seen[-2] == seen[-3] else None

    return await eventually(steady, timeout=timeout)


async def emptied(redis_url: str) -> None:
    """Empty a service's Redis database, so that what a rebuild then restores can have come from the log alone."""
    client = Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def records_of(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    """Every record on a one-partition topic, raw: (key, value)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **admin_options())
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        found: list[tuple[bytes | None, bytes]] = []
        while await consumer.position(partition) < end:
            for records in (await consumer.getmany(partition, timeout_ms=1000)).values():
                found += [(r.key, r.value) for r in records if r.value is not None]
        return found
    finally:
        await consumer.stop()


async def traces_on(bootstrap: str, topic: str, count: int) -> list[tuple[bytes | None, str, str]]:
    """Once ``count`` records are on ``topic``: each one's key, event id and the trace id of its
    ``traceparent`` header, in the order read."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, **admin_options())
    await consumer.start()
    found: list[tuple[bytes | None, str, str]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for r in records:
                        headers = {name: value.decode() for name, value in r.headers}
                        found.append((r.key, headers["ce_id"], headers["traceparent"].split("-")[1]))
    finally:
        await consumer.stop()
    return found

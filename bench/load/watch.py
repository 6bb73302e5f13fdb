"""Times each request's events as they appear on the topics: classification, decision, notice.

Reads the classifications, decisions and notifications topics from their end, as a consumer outside
any group (it commits nothing and changes nothing), authenticated as the stack's admin user. An event's
time is its record's timestamp: when the service produced it, whatever this watcher's own delay.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.kafka_auth import KafkaAuth
from shared.topics import Topics

__all__ = ["Sighting", "Watcher"]


@dataclass(frozen=True)
class Sighting:
    """One event record about a request. ``about`` and ``audience`` are set on notices only."""

    request_id: str
    type: str
    event_id: str
    at: float
    about_type: str | None = None
    about_id: str | None = None
    audience: str | None = None
    status: str | None = None
    detail: str | None = None


def _sighting(key: bytes | None, value: bytes, headers: dict[str, bytes], timestamp_ms: int) -> Sighting | None:
    etype, event_id = headers.get("ce_type", b"").decode(), headers.get("ce_id", b"").decode()
    data: dict[str, Any] = {}
    if not etype or not event_id or etype == "notification.sent":
        envelope = json.loads(value)
        etype, event_id, data = envelope["type"], envelope["id"], envelope.get("data") or {}
    request_id = data.get("request_id") or (key.decode() if key else "")
    if not request_id:
        return None
    return Sighting(request_id=request_id, type=etype, event_id=event_id, at=timestamp_ms / 1000,
                    about_type=data.get("about_event_type"), about_id=data.get("about_event_id"),
                    audience=data.get("audience"), status=data.get("status"), detail=data.get("detail"))


@dataclass
class Watcher:
    bootstrap: str
    auth: KafkaAuth
    topics: Topics = field(default_factory=Topics)
    sightings: list[Sighting] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Returns once positioned at the end of every partition: what comes after is seen."""
        consumer = AIOKafkaConsumer(
            self.topics.classifications, self.topics.decisions, self.topics.notifications,
            bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="latest", **self.auth.client_options())
        await consumer.start()
        for _ in range(200):
            if consumer.assignment():
                break
            await asyncio.sleep(0.05)
        for partition in consumer.assignment():
            await consumer.position(partition)
        self._consumer = consumer
        self._task = asyncio.create_task(self._consume(consumer))

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for r in records:
                    seen = _sighting(r.key, r.value, dict(r.headers or ()), r.timestamp)
                    if seen is not None:
                        self.sightings.append(seen)

    def check(self) -> None:
        """Raises what stopped the watcher, if it stopped: figures from a dead watcher would lie."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            self._task.result()
            raise RuntimeError("the watcher stopped")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

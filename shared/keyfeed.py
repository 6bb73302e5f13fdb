"""Keeps a ``KeyRegistry`` in step with the keys topic, on every instance of every service.

The topic is compacted and has one partition, keyed by key id. Each instance
reads it from the beginning without a consumer group (it needs every record,
not a share of them), catches up before the service reports ready, then follows.
A failed read is logged and tried again with backoff, never the end of following:
an instance that stopped following would go on accepting revoked keys. Until a
read succeeds again, ``following`` is False and the service's ``/readyz`` says so.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from shared.access import ApiKeyCreated, ApiKeyRevoked, KeyRegistry
from shared.cancelling import stop_if_cancelled
from shared.envelope import CloudEvent
from shared.kafka_auth import KafkaAuth

__all__ = ["KeyFeed"]

log = logging.getLogger(__name__)


class KeyFeed:
    def __init__(self, registry: KeyRegistry, bootstrap: str, topic: str, auth: KafkaAuth | None = None) -> None:
        self._registry = registry
        self._bootstrap = bootstrap
        self._auth = auth or KafkaAuth()
        self._partition = TopicPartition(topic, 0)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        """Read every key event there is, then follow the topic in the background."""
        # Made here, not in __init__: the consumer binds to the running event loop.
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False,
                                          auto_offset_reset="earliest", **self._auth.client_options())
        await self._consumer.start()
        self._consumer.assign([self._partition])
        await self._consumer.seek_to_beginning(self._partition)
        end = (await self._consumer.end_offsets([self._partition]))[self._partition]
        while await self._consumer.position(self._partition) < end:
            await self._read(timeout_ms=1000)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    def following(self) -> bool:
        """Whether the registry follows the topic: started, and its last read succeeded."""
        return self._task is not None and not self._task.done() and not self._failing

    async def _follow(self, backoff_s: float = 1.0, most_s: float = 30.0) -> None:
        delay = backoff_s
        while True:
            try:
                await self._read(timeout_ms=1000)
            except Exception:  # any failure of a read: log it, wait, read again (see the module's docstring)
                self._failing = True
                log.exception("reading the keys topic failed; trying again in %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, most_s)
            else:
                self._failing, delay = False, backoff_s
            stop_if_cancelled()

    async def _read(self, timeout_ms: int) -> None:
        assert self._consumer is not None, "start() first"
        batches = await self._consumer.getmany(self._partition, timeout_ms=timeout_ms)
        for record in batches.get(self._partition, []):
            if record.value is not None:
                self.apply(record.value)

    def apply(self, raw: bytes) -> None:
        try:
            event = CloudEvent.model_validate_json(raw)
            data = (ApiKeyCreated if event.type == ApiKeyCreated.event_type else ApiKeyRevoked)
            self._registry.apply(data.model_validate(event.data))
        except ValidationError:
            # Only this project writes the topic; a record it cannot read is a bug to see, not to stop on.
            log.error("unreadable record on the keys topic: %r", raw[:200])

"""Publishing and consuming events, with the delivery guarantees every service relies on.

- ``EventPublisher`` puts an envelope on the topic of its type, keyed by subject.
- ``Outcomes`` remembers, per consumed event id (or per HTTP change), the events
  its handling produced, written in the same Redis transaction as the handler's
  state. A redelivered event finds that outcome instead of being handled twice or
  dropped, and it is published if it is still pending (same ids, so consumers
  downstream dedupe), never again once Kafka has it. Outcomes stay
  marked pending until published: an outbox, kept in commit order, that
  ``republish_pending`` empties once Kafka is back, so a change made while it was
  away is still announced. Every publish goes through it oldest first, so a live
  publish never overtakes an older pending outcome of the same process.
- ``EventConsumer`` routes by ``type``, retries transient faults (Redis away,
  out of memory or read-only; Kafka) until they pass, retries other failures with
  backoff, then dead-letters them. A body that is not an envelope is dead-lettered
  at once. It returns only once an event was handled or dead-lettered (a failing
  dead-letter write is retried until it succeeds), so with ``AckPolicy.ACK`` no
  offset is committed for an event that is neither. Each outcome and retry is counted
  (``ConsumerMetrics``), and every log line written while handling names the event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import cast

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import (
    BusyLoadingError,
    ExecAbortError,
    LockError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared.dead_letters import DeadLetters
from shared.envelope import CloudEvent
from shared.observability.logs import log_context
from shared.observability.metrics import ConsumerMetrics
from shared.topics import Topics, record_key

__all__ = ["EventConsumer", "EventPublisher", "Handler", "Outcomes", "TRANSIENT"]

log = logging.getLogger(__name__)

Handler = Callable[[CloudEvent], Awaitable[None]]

# Faults of the infrastructure, not of the message: retried until they pass. A Redis at its memory
# limit (noeviction) or turned read-only (a replica) refuses writes until an operator acts; the events
# wait for it, uncommitted, rather than filling the dead-letter list.
TRANSIENT: tuple[type[Exception], ...] = (
    RedisConnectionError, RedisTimeoutError, LockError, OutOfMemoryError, ReadOnlyError, BusyLoadingError,
    TryAgainError, MasterDownError, ExecAbortError, KafkaError, asyncio.TimeoutError, ConnectionError,
)
OUTCOME_TTL_S = 14 * 24 * 3600


class EventPublisher:
    def __init__(self, broker: KafkaBroker, topics: Topics, timeout_s: float) -> None:
        self._broker = broker
        self._topics = topics
        self._timeout_s = timeout_s

    async def publish(self, event: CloudEvent) -> None:
        """Send and wait for the broker's acknowledgement (acks=all), or raise TimeoutError.

        aiokafka keeps retrying a send while the broker is away, so a timed-out
        event may still be written later; its id is stable, so consumers dedupe it.
        """
        await asyncio.wait_for(self._broker.publish(
            event.model_dump_json().encode(),
            self._topics.for_type(event.type),
            key=record_key(event.subject),
            headers={"content-type": "application/cloudevents+json",
                     "ce_id": event.id, "ce_type": event.type},
        ), timeout=self._timeout_s)

    async def publish_all(self, events: Sequence[CloudEvent]) -> None:
        for event in events:
            await self.publish(event)


class Outcomes:
    """What handling each consumed event produced, kept so redelivery repeats it exactly."""

    def __init__(self, redis: Redis, service: str) -> None:
        self._redis = redis
        self._prefix = f"{service}:outcome:"
        # A list, not a set: transactions append in commit order, and the relay keeps that order.
        self._pending = f"{service}:outbox-ordered"
        self._unordered = f"{service}:outbox"  # the set earlier versions kept: adopted by the relay's first run
        self._publishing = asyncio.Lock()

    async def get(self, event_id: str) -> list[CloudEvent] | None:
        raw = await self._redis.get(self._prefix + event_id)
        if raw is None:
            return None
        return [CloudEvent.model_validate(e) for e in json.loads(raw)]

    async def once(self, event_id: str,
                   work: Callable[[Pipeline], Awaitable[Sequence[CloudEvent]]]) -> Sequence[CloudEvent]:
        """Run ``work`` for an event not seen before, or return what it produced the first time.

        ``work`` reads Redis as it likes and queues its writes on the pipeline it is
        given; those writes and the outcome commit together.
        """
        prior = await self.get(event_id)
        if prior is not None:
            return prior
        async with self._redis.pipeline(transaction=True) as pipe:
            produced = await work(pipe)
            self.record(pipe, event_id, produced)
            await pipe.execute()
        return produced

    def record(self, pipe: Pipeline, event_id: str, produced: Sequence[CloudEvent]) -> None:
        """Queue the outcome on ``pipe``, the same transaction as the handler's state."""
        payload = json.dumps([e.model_dump(mode="json") for e in produced])
        pipe.set(self._prefix + event_id, payload, ex=OUTCOME_TTL_S)
        if produced:
            pipe.rpush(self._pending, event_id)

    async def run(self, event_id: str, work: Callable[[Pipeline], Awaitable[Sequence[CloudEvent]]],
                  publisher: EventPublisher) -> Sequence[CloudEvent]:
        """``once``, then publish what it produced."""
        produced = await self.once(event_id, work)
        await self.deliver(event_id, produced, publisher)
        return produced

    async def deliver(self, event_id: str, produced: Sequence[CloudEvent], publisher: EventPublisher) -> None:
        """Publish ``produced``, after every outcome committed before it that is still pending.

        An outcome leaves the outbox only once Kafka acknowledged it, so one no longer pending (the relay
        sent it, or a redelivered event's outcome went out the first time) is not sent again.
        """
        async with self._publishing:
            pending = cast(list[str], await self._redis.lrange(self._pending, 0, -1))
            if event_id not in pending:
                return
            for earlier in pending[:pending.index(event_id)]:
                await self._publish_pending(earlier, publisher)
            await publisher.publish_all(produced)
            await self._redis.lrem(self._pending, 0, event_id)

    async def republish_pending(self, publisher: EventPublisher) -> int:
        """Publish every outcome not yet known to be on Kafka, in commit order; the outbox's relay."""
        async with self._publishing:
            await self._adopt_unordered()
            pending = cast(list[str], await self._redis.lrange(self._pending, 0, -1))
            for event_id in dict.fromkeys(pending):
                await self._publish_pending(event_id, publisher)
        if pending:
            log.info("re-sent the events of %d pending outcome(s)", len(pending))
        return len(pending)

    async def _publish_pending(self, event_id: str, publisher: EventPublisher) -> None:
        await publisher.publish_all(await self.get(event_id) or [])
        await self._redis.lrem(self._pending, 0, event_id)

    async def depth(self) -> int:
        """Outcomes committed but not yet known to be on Kafka (the outbox)."""
        return int(await self._redis.llen(self._pending))

    async def _adopt_unordered(self) -> None:
        """Outcomes an earlier version left pending in a set go first, in the only order it kept (none)."""
        left = cast(set[str], await self._redis.smembers(self._unordered))
        if left:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.lpush(self._pending, *sorted(left, reverse=True))
                pipe.delete(self._unordered)
                await pipe.execute()


class EventConsumer:
    """Routes consumed envelopes to handlers by ``type``; other types are ignored."""

    def __init__(self, service: str, routes: Mapping[str, Handler], dead_letters: DeadLetters,
                 *, max_attempts: int, backoff_s: float, backoff_max_s: float,
                 metrics: ConsumerMetrics | None = None) -> None:
        self._service = service
        self._metrics = metrics
        self._routes = routes
        self._dead = dead_letters
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s

    def _delay(self, attempt: int) -> float:
        base = min(self._backoff_max_s, self._backoff_s * 2 ** (attempt - 1))
        return float(base * (0.5 + random.random() / 2))

    async def __call__(self, msg: KafkaMessage) -> None:
        record = msg.raw_message
        topic, partition, offset = record.topic, record.partition, record.offset  # type: ignore[union-attr]
        key: bytes | None = record.key  # type: ignore[union-attr]
        body: bytes = msg.body
        started = time.perf_counter()
        try:
            event = CloudEvent.model_validate_json(body)
        except ValidationError as exc:
            # Not an envelope at all: no retry will make it one.
            await self._dead_letter(body, topic, partition, offset, exc, 1, key)
            self._observe(topic, "malformed", "dead_lettered", started)
            return
        handler = self._routes.get(event.type)
        if handler is None:
            self._observe(topic, "other", "ignored", started)
            return
        with log_context(event_id=event.id, event_type=event.type, request_id=event.subject):
            outcome = await self._attempts(handler, event, body, topic, partition, offset, key)
        self._observe(topic, event.type, outcome, started)

    async def _attempts(self, handler: Handler, event: CloudEvent, body: bytes, topic: str, partition: int,
                        offset: int, key: bytes | None) -> str:
        """Handle ``event`` until it was handled or dead-lettered; answers which."""
        failures = 0
        transient = 0
        log.info("%s: handling %s %s (subject %s)", self._service, event.id, event.type, event.subject)
        while True:
            try:
                await handler(event)
                return "handled"
            except TRANSIENT as exc:
                transient += 1
                self._retried(topic, event.type, "transient")
                delay = self._delay(min(transient, 10))
                log.warning("%s: transient fault at %s/%s@%s, retrying in %.1fs: %r",
                            self._service, topic, partition, offset, delay, exc)
                await asyncio.sleep(delay)
            except Exception as exc:
                failures += 1
                if failures >= self._max_attempts:
                    await self._dead_letter(body, topic, partition, offset, exc, failures, key)
                    return "dead_lettered"
                self._retried(topic, event.type, "failure")
                delay = self._delay(failures)
                log.warning("%s: handler failed at %s/%s@%s (attempt %d of %d), retrying in %.1fs: %r",
                            self._service, topic, partition, offset, failures,
                            self._max_attempts, delay, exc)
                await asyncio.sleep(delay)

    def _retried(self, topic: str, event_type: str, fault: str) -> None:
        if self._metrics is not None:
            self._metrics.retries.labels(topic, event_type, fault).inc()

    def _observe(self, topic: str, event_type: str, outcome: str, started: float) -> None:
        if self._metrics is None:
            return
        self._metrics.handled.labels(topic, event_type, outcome).inc()
        self._metrics.seconds.labels(topic, event_type).observe(time.perf_counter() - started)
        if outcome == "dead_lettered":
            self._metrics.dead_letters.labels(topic).inc()

    async def _dead_letter(self, body: bytes, topic: str, partition: int, offset: int,
                           exc: BaseException, attempts: int, key: bytes | None) -> None:
        """Keep the event where an operator sees it; until that worked, the offset must not be committed,
        so any failure of the write itself is retried (with backoff) rather than raised."""
        tries = 0
        while True:
            try:
                letter = await self._dead.add(body, topic=topic, partition=partition, offset=offset,
                                              error=f"{type(exc).__name__}: {exc}", attempts=attempts, key=key)
                log.error("%s: dead-lettered %s/%s@%s as %s after %d attempt(s): %r",
                          self._service, topic, partition, offset, letter, attempts, exc)
                return
            except Exception as fault:  # raising would let AckPolicy.ACK commit an event nobody can see
                tries += 1
                delay = self._delay(min(tries, 10))
                log.warning("%s: cannot dead-letter %s/%s@%s yet, retrying in %.1fs: %r",
                            self._service, topic, partition, offset, delay, fault)
                await asyncio.sleep(delay)

"""Publishing and consuming events, with the delivery guarantees every service relies on.

- ``EventPublisher`` puts an envelope on the topic of its type, keyed by subject.
- ``shared.outbox.Outcomes`` keeps what handling each event produced, and publishes it in commit order.
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
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from pydantic import ValidationError

from shared.dead_letters import DeadLetters
from shared.envelope import CloudEvent
from shared.faults import TRANSIENT
from shared.observability.logs import log_context
from shared.observability.metrics import ConsumerMetrics
from shared.topics import Topics, record_key

__all__ = ["EventConsumer", "EventPublisher", "Handler", "Publisher", "Record"]

log = logging.getLogger(__name__)

Handler = Callable[[CloudEvent], Awaitable[None]]


@dataclass(frozen=True)
class Record:
    """One consumed Kafka record: where it was, and what it held."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    body: bytes
    traceparent: str | None = None

    @classmethod
    def of(cls, raw: ConsumerRecord[bytes, bytes]) -> Record:
        headers = {name: value for name, value in raw.headers or ()}
        parent = headers.get("traceparent")
        return cls(raw.topic, raw.partition, raw.offset, raw.key, raw.value or b"",
                   parent.decode() if parent is not None else None)


class Publisher(Protocol):
    """What puts envelopes on the log: ``EventPublisher``, or a benchmark's or test's stand-in."""

    async def publish_all(self, events: Sequence[CloudEvent], origins: Mapping[str, Context] | None = None) -> None:
        """Send ``events`` in their order, each in its ``origins`` context if named, and wait for them all."""


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
        await self.publish_all([event])

    async def publish_all(self, events: Sequence[CloudEvent], origins: Mapping[str, Context] | None = None) -> None:
        """Send ``events`` in their order and wait for the broker to acknowledge them all, or raise.

        Each is queued on the producer without waiting for the one before (the idempotent producer keeps
        their order per partition), so a handler's decisions share the broker's round trips instead of
        paying one each. An event named in ``origins`` (by id) is sent in that context, so its send span
        and ``traceparent`` continue the trace of what caused it, not the trace of whoever sends the group.
        """
        if not events:
            return
        deadline = time.monotonic() + self._timeout_s
        async with asyncio.timeout(self._timeout_s):
            sent = [await self._send(event, (origins or {}).get(event.id)) for event in events]
        # Waited for, not cancelled on timeout: the producer keeps retrying what it queued.
        _, late = await asyncio.wait(sent, timeout=max(0.0, deadline - time.monotonic()))
        if late:
            raise TimeoutError(f"{len(late)} of {len(sent)} event(s) not acknowledged in {self._timeout_s}s")
        for done in sent:
            done.result()  # the first send the broker refused raises here

    async def _send(self, event: CloudEvent, origin: Context | None) -> asyncio.Future[object]:
        token = otel_context.attach(origin) if origin is not None else None
        try:
            queued: asyncio.Future[object] = await self._broker.publish(
                event.model_dump_json().encode(),
                self._topics.for_type(event.type),
                key=record_key(event.subject),
                headers={"content-type": "application/cloudevents+json",
                         "ce_id": event.id, "ce_type": event.type},
                no_confirm=True,
            )
        finally:
            if token is not None:
                otel_context.detach(token)
        return queued


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

    async def handle(self, record: Record) -> None:
        """Handle one consumed record until it was handled, ignored or dead-lettered."""
        started = time.perf_counter()
        try:
            event = CloudEvent.model_validate_json(record.body)
        except ValidationError as exc:
            # Not an envelope at all: no retry will make it one.
            await self.dead_letter(record, exc, 1)
            self.observe(record.topic, "malformed", "dead_lettered", started)
            return
        await self.handle_event(record, event, started)

    async def handle_event(self, record: Record, event: CloudEvent, started: float | None = None) -> None:
        """Handle ``record``, already parsed as ``event``, by its type's handler."""
        started = time.perf_counter() if started is None else started
        handler = self._routes.get(event.type)
        if handler is None:
            self.observe(record.topic, "other", "ignored", started)
            return
        with log_context(event_id=event.id, event_type=event.type, request_id=event.subject):
            outcome = await self._attempts(handler, event, record)
        self.observe(record.topic, event.type, outcome, started)

    async def _attempts(self, handler: Handler, event: CloudEvent, record: Record) -> str:
        """Handle ``event`` until it was handled or dead-lettered; answers which."""
        failures = 0
        transient = 0
        topic, partition, offset = record.topic, record.partition, record.offset
        # DEBUG: at a few hundred events a second, a line each costs more than the handling of some;
        # outcomes worth reading (retries, dead letters) are logged on their own, with the event named.
        log.debug("%s: handling %s %s (subject %s)", self._service, event.id, event.type, event.subject)
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
                    await self.dead_letter(record, exc, failures)
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

    def observe(self, topic: str, event_type: str, outcome: str, started: float) -> None:
        if self._metrics is None:
            return
        self._metrics.handled.labels(topic, event_type, outcome).inc()
        self._metrics.seconds.labels(topic, event_type).observe(time.perf_counter() - started)
        if outcome == "dead_lettered":
            self._metrics.dead_letters.labels(topic).inc()

    async def dead_letter(self, record: Record, exc: BaseException, attempts: int) -> None:
        """Keep the event where an operator sees it; until that worked, the offset must not be committed,
        so any failure of the write itself is retried (with backoff) rather than raised."""
        tries = 0
        topic, partition, offset = record.topic, record.partition, record.offset
        while True:
            try:
                letter = await self._dead.add(record.body, topic=topic, partition=partition, offset=offset,
                                              error=f"{type(exc).__name__}: {exc}", attempts=attempts,
                                              key=record.key)
                log.error("%s: dead-lettered %s/%s@%s as %s after %d attempt(s): %r",
                          self._service, topic, partition, offset, letter, attempts, exc)
                return
            except Exception as fault:  # raising would let AckPolicy.ACK commit an event nobody can see
                tries += 1
                delay = self._delay(min(tries, 10))
                log.warning("%s: cannot dead-letter %s/%s@%s yet, retrying in %.1fs: %r",
                            self._service, topic, partition, offset, delay, fault)
                await asyncio.sleep(delay)

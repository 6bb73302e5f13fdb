"""Consuming in batches: one offset commit per batch, requests handled side by side, order kept per request.

Kafka hands a service up to ``max_records`` records at once (``shared.runtime.subscribe``); the batch is
committed once, after every record in it was handled, ignored or dead-lettered, so delivery stays at least
once and every handler stays idempotent. Within a batch:

- records of one request (one record key) are handled one after another, in their order on the log;
  records of different requests are handled side by side, at most ``concurrency`` at once, so a request
  whose handler waits (Redis, Kafka, the embedding model) holds up only itself. A poison record is retried
  with backoff and dead-lettered on its request's lane, while the other requests of the batch go on.
- a *batch route* takes a whole run of consecutive records of its types in one call (capacity plans a run of
  classified requests once instead of once each). A run is a barrier: what came before it on the log is
  handled first, what comes after it waits for it. If the batch route fails (not a transient fault), each
  record of the run falls back to its per-event route, requests side by side as above, so the retries and
  dead letter that single out the poison hold up only the poison's own request.

A batch route's work continues the trace of the run's first record and links the others' (OpenTelemetry's
way of one operation for many messages); every other record's handling continues its own trace. Each record
of a run also gets a ``process`` span of its own, in its own trace, for as long as the run takes; work a run
parks for later (a send) continues that span's trace (``trace_of``), not the run's first record's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link
from pydantic import ValidationError

from shared.envelope import CloudEvent
from shared.faults import TRANSIENT
from shared.messaging import EventConsumer, Record
from shared.observability.tracing import continued, extract, traceparent

__all__ = ["BatchConsumer", "BatchHandler", "origin_of", "trace_of"]

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[CloudEvent]], Awaitable[None]]
_Parsed = tuple[Record, CloudEvent | None]
# While a batch route runs: the traceparent of each of its events' own process span, by event id and by
# subject (the request a published decision is about; the last of the run's events about it).
_RUN_TRACES: ContextVar[tuple[Mapping[str, str], Mapping[str, str]] | None] = ContextVar("run_traces", default=None)


def trace_of(event_id: str) -> str | None:
    """The ``traceparent`` of an event's own process span while the batch route handling it runs, else None
    (its handling is then the current span)."""
    run = _RUN_TRACES.get()
    return run[0].get(event_id) if run else None


def origin_of(event_id: str, subject: str | None = None) -> Context:
    """The context in which an event ``event_id`` caused, about ``subject``, is published: while a batch
    route runs, the process span of the run's event about that subject (a run's decision about a request
    continues that request's trace), else of ``event_id``; otherwise the current context. Captured by the
    caller, it survives a group commit, whose work runs in the context of whichever caller started the
    group (``EventPublisher.publish_all``'s ``origins``)."""
    run = _RUN_TRACES.get()
    header = ((subject and run[1].get(subject)) or run[0].get(event_id)) if run else None
    return trace.set_span_in_context(trace.NonRecordingSpan(extract(header))) if header else otel_context.get_current()


class BatchConsumer:
    def __init__(self, consumer: EventConsumer, *, batch_routes: Mapping[str, BatchHandler] | None = None,
                 concurrency: int = 16, tracer: trace.Tracer | None = None, backoff_s: float = 0.2,
                 backoff_max_s: float = 30.0) -> None:
        self._one = consumer
        self._runs = dict(batch_routes or {})
        self._lanes = asyncio.Semaphore(max(1, concurrency))
        self._tracer = tracer or trace.get_tracer(__name__)
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s

    async def __call__(self, records: Sequence[Record]) -> None:
        """Handle every record of a batch; returns once each was handled, ignored or dead-lettered."""
        loose: list[_Parsed] = []
        run: list[tuple[Record, CloudEvent]] = []
        for record in records:
            event = _parse(record)
            route = self._runs.get(event.type) if event is not None else None
            if route is not None and event is not None:
                if loose:
                    await self._side_by_side(loose)
                    loose = []
                if run and self._runs[run[0][1].type] is not route:
                    await self._run(run)
                    run = []
                run.append((record, event))
            else:
                if run:
                    await self._run(run)
                    run = []
                loose.append((record, event))
        if run:
            await self._run(run)
        if loose:
            await self._side_by_side(loose)

    async def _side_by_side(self, parsed: list[_Parsed]) -> None:
        lanes: dict[bytes | None, list[_Parsed]] = {}
        for item in parsed:
            lanes.setdefault(item[0].key, []).append(item)
        await asyncio.gather(*(self._lane(items) for items in lanes.values()))

    async def _lane(self, items: list[_Parsed]) -> None:
        async with self._lanes:
            for record, event in items:
                await self._single(record, event)

    async def _single(self, record: Record, event: CloudEvent | None) -> None:
        if event is None:
            await self._one.handle(record)  # dead-letters what is not an envelope
            return
        with continued(self._tracer, record.traceparent, f"{record.topic} process",
                       kind=trace.SpanKind.CONSUMER, attributes={"messaging.kafka.offset": str(record.offset)}):
            await self._one.handle_event(record, event)

    async def _run(self, run: list[tuple[Record, CloudEvent]]) -> None:
        """One call of the batch route for the whole run; on failure, each record by its own route."""
        route = self._runs[run[0][1].type]
        links = [Link(context) for record, _ in run[1:]
                 if record.traceparent and (context := extract(record.traceparent)).is_valid]
        spans = [self._tracer.start_span(f"{record.topic} process", context=_context(record.traceparent),
                                         kind=trace.SpanKind.CONSUMER,
                                         attributes={"messaging.kafka.offset": str(record.offset)})
                 for record, _ in run]
        carried = [(event, header) for (_, event), span in zip(run, spans, strict=True)
                   if (header := traceparent(span).get("traceparent"))]
        traces = _RUN_TRACES.set(({event.id: header for event, header in carried},
                                  {event.subject: header for event, header in carried if event.subject}))
        try:
            await self._attempt_run(run, route, links)
        finally:
            _RUN_TRACES.reset(traces)
            for span in spans:
                span.end()

    async def _attempt_run(self, run: list[tuple[Record, CloudEvent]], route: BatchHandler,
                           links: list[Link]) -> None:
        first, events = run[0][0], [event for _, event in run]
        started = time.perf_counter()
        transient = 0
        while True:
            try:
                with continued(self._tracer, first.traceparent, "process run",
                               kind=trace.SpanKind.CONSUMER, links=links,
                               attributes={"messaging.batch.message_count": str(len(run))}):
                    await route(events)
                break
            except TRANSIENT as exc:  # the run is idempotent: try it whole again once the fault passed
                transient += 1
                delay = min(self._backoff_max_s, self._backoff_s * 2 ** min(transient, 10))
                log.warning("a run of %d event(s) met a transient fault, retrying in %.1fs: %r",
                            len(run), delay, exc)
                await asyncio.sleep(delay)
            except Exception:
                log.exception("a run of %d event(s) failed as a whole; handling each on its own", len(run))
                await self._side_by_side(list(run))  # the poison's retries hold up only its own request
                return
        for record, event in run:
            self._one.observe(record.topic, event.type, "handled", started)


def _context(header: str | None) -> Context | None:
    return trace.set_span_in_context(trace.NonRecordingSpan(extract(header))) if header else None


def _parse(record: Record) -> CloudEvent | None:
    try:
        return CloudEvent.model_validate_json(record.body)
    except ValidationError:
        return None

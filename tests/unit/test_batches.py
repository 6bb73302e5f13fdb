"""Batch consumption (``shared.batches``): order is kept per request, requests go side by side, a poison
record holds up only its own request, and a batch route takes a run whole or falls back to each record."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.batches import BatchConsumer, origin_of, trace_of
from shared.dead_letters import DeadLetters
from shared.envelope import CloudEvent
from shared.messaging import EventConsumer, Record


class Letters:
    def __init__(self) -> None:
        self.kept: list[tuple[int, int]] = []

    async def add(self, body: bytes, *, topic: str, partition: int, offset: int, error: str, attempts: int,
                  key: bytes | None) -> str:
        self.kept.append((offset, attempts))
        return f"letter-{offset}"


def record(offset: int, subject: str, event_type: str = "request.submitted") -> Record:
    event = CloudEvent(id=f"e-{offset}", source="test", type=event_type, subject=subject, data={},
                       time=datetime.now(UTC))
    return Record("t", 0, offset, subject.encode(), event.model_dump_json().encode())


def consumer(routes: dict[str, Any], letters: Letters, *, batch_routes: dict[str, Any] | None = None,
             concurrency: int = 8) -> BatchConsumer:
    one = EventConsumer("test", routes, cast(DeadLetters, letters), max_attempts=3, backoff_s=0.01,
                        backoff_max_s=0.02)
    return BatchConsumer(one, batch_routes=batch_routes, concurrency=concurrency, backoff_s=0.01)


async def test_records_of_one_request_keep_their_order_while_requests_go_side_by_side() -> None:
    seen: list[str] = []
    at_once = 0
    most = 0

    async def handle(event: CloudEvent) -> None:
        nonlocal at_once, most
        at_once += 1
        most = max(most, at_once)
        await asyncio.sleep(0.01 if event.subject == "a" else 0.001)
        seen.append(event.id)
        at_once -= 1

    batch = [record(i, "a" if i % 2 == 0 else "b") for i in range(10)]
    await consumer({"request.submitted": handle}, Letters())(batch)
    assert sorted(seen) == sorted(f"e-{i}" for i in range(10))
    assert [e for e in seen if int(e[2:]) % 2 == 0] == [f"e-{i}" for i in range(0, 10, 2)]
    assert [e for e in seen if int(e[2:]) % 2 == 1] == [f"e-{i}" for i in range(1, 10, 2)]
    assert most == 2  # the two requests were handled at the same time


async def test_a_poison_record_is_dead_lettered_without_holding_up_other_requests() -> None:
    done: list[str] = []

    async def handle(event: CloudEvent) -> None:
        if event.id == "e-0":
            raise ValueError("cannot be handled")
        done.append(event.id)

    letters = Letters()
    await consumer({"request.submitted": handle}, letters)([record(0, "a"), record(1, "b"), record(2, "a")])
    assert letters.kept == [(0, 3)]
    assert done == ["e-1", "e-2"] or done == ["e-2", "e-1"]


async def test_a_record_that_is_not_an_envelope_is_dead_lettered_at_once() -> None:
    letters = Letters()
    await consumer({}, letters)([Record("t", 0, 7, b"k", b"{not json")])
    assert letters.kept == [(7, 1)]


async def test_a_run_goes_to_its_batch_route_in_one_call_and_other_records_keep_their_place() -> None:
    calls: list[list[str]] = []
    order: list[str] = []

    async def run(events: Sequence[CloudEvent]) -> None:
        calls.append([e.id for e in events])
        order.extend(e.id for e in events)

    async def single(event: CloudEvent) -> None:
        order.append(event.id)

    batch = [record(0, "a", "okrs.published"), record(1, "a", "request.classified"),
             record(2, "b", "request.classified"), record(3, "c", "request.withdrawn"),
             record(4, "d", "okrs.published"), record(5, "e", "request.classified")]
    routes = {"okrs.published": single, "request.classified": single, "request.withdrawn": single}
    await consumer(routes, Letters(), batch_routes={"request.classified": run, "request.withdrawn": run})(batch)
    assert calls == [["e-1", "e-2", "e-3"], ["e-5"]]
    assert order == ["e-0", "e-1", "e-2", "e-3", "e-4", "e-5"]


async def test_a_failing_run_falls_back_to_each_record_so_only_the_poison_is_dead_lettered() -> None:
    happened: list[str] = []

    async def run(events: Sequence[CloudEvent]) -> None:
        raise ValueError("one of these is poison")

    async def single(event: CloudEvent) -> None:
        if event.id == "e-1":
            happened.append("poison tried")
            raise ValueError("poison")
        happened.append(event.id)

    class Watching(Letters):
        async def add(self, body: bytes, **kwargs: Any) -> str:
            happened.append("poison dead-lettered")
            return await super().add(body, **kwargs)

    letters = Watching()
    # e-3 is about the poison's request: it waits for the dead letter; the other requests do not.
    batch = [*(record(i, f"r{i}", "request.classified") for i in range(3)), record(3, "r1", "request.classified")]
    await consumer({"request.classified": single}, letters, batch_routes={"request.classified": run})(batch)
    assert letters.kept == [(1, 3)]
    assert happened.index("e-2") < happened.index("poison dead-lettered") < happened.index("e-3")
    assert sorted(happened) == sorted(["e-0", "e-2", "e-3", "poison dead-lettered", *["poison tried"] * 3])


async def test_a_run_meeting_a_transient_fault_is_tried_again_whole() -> None:
    calls = 0

    async def run(events: Sequence[CloudEvent]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("Redis away")

    await consumer({}, Letters(), batch_routes={"request.classified": run})(
        [record(0, "a", "request.classified"), record(1, "b", "request.classified")])
    assert calls == 2


async def test_each_event_of_a_run_has_a_process_span_in_its_own_trace_and_work_parked_continues_it() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traces = {"a": "0af7651916cd43dd8448eb211c80319c", "b": "4bf92f3577b34da6a3ce929d0e0e4736"}
    batch = [replace(record(n, subject, "request.classified"), traceparent=f"00-{trace_id}-00f067aa0ba902b7-01")
             for n, (subject, trace_id) in enumerate(traces.items())]
    parked: dict[str, str | None] = {}
    published: dict[str, int] = {}  # what the run publishes about each subject: the span it continues

    async def run(events: Sequence[CloudEvent]) -> None:
        parked.update({e.id: trace_of(e.id) for e in events})
        # a decision about a subject, whichever of the run's events caused it (the last one, say)
        published.update({e.subject or "": trace.get_current_span(origin_of(events[-1].id, e.subject))
                          .get_span_context().span_id for e in events})

    one = EventConsumer("test", {}, cast(DeadLetters, Letters()), max_attempts=3, backoff_s=0.01, backoff_max_s=0.02)
    await BatchConsumer(one, batch_routes={"request.classified": run}, tracer=provider.get_tracer("test"))(batch)

    by_trace = {f"{s.context.trace_id:032x}": s for s in exporter.get_finished_spans()
                if s.name == "t process" and s.context is not None}
    assert set(by_trace) == set(traces.values())  # one process span per event, each in its event's trace
    for n, trace_id in enumerate(traces.values()):
        span = by_trace[trace_id]
        assert span.context is not None and span.parent is not None and span.parent.span_id == 0x00f067aa0ba902b7
        assert parked[f"e-{n}"] == f"00-{trace_id}-{span.context.span_id:016x}-01"  # not the run's first trace
        assert published[list(traces)[n]] == span.context.span_id
    assert trace_of("e-0") is None  # only while the run is handled
    assert not trace.get_current_span(origin_of("e-0", "a")).get_span_context().is_valid  # outside: the current

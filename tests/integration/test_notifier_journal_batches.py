"""The notifier's journal puts many records on the log together, real broker and Redis: each record's latest
revision ends up last on the log for its key, a record changed while it was being sent goes round again,
and a mark whose record is gone is cleared."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pytest
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.context import Context
from redis.asyncio import Redis

from notifier.config import NotifierSettings
from notifier.journal import UNPUBLISHED, Journal, Recorded, member
from shared.envelope import CloudEvent
from shared.messaging import EventPublisher
from shared.observability.tracing import Tracing
from shared.topics import Topics
from tests.support import connected, records_of, traces_on

pytestmark = pytest.mark.integration

KIND = "notification"  # the notices' topic, which the journal's envelopes go to by type


class Note(Recorded):
    event_type: ClassVar[str] = "notifier.notice_recorded"
    kind: ClassVar[str] = KIND
    note_id: str
    text: str

    def record_id(self) -> str:
        return self.note_id


class Notes:
    """Records kept as one Redis hash each (``rev`` and ``text``), changed the way the notifier's stores do."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.reads = 0

    async def change(self, note_id: str, text: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"note:{note_id}", "text", text)
            pipe.hincrby(f"note:{note_id}", "rev", 1)
            pipe.sadd(UNPUBLISHED, member(KIND, note_id))
            await pipe.execute()

    def revision_of(self, record_id: str) -> tuple[str, str]:
        return f"note:{record_id}", "rev"

    async def snapshots(self, record_ids: Sequence[str]) -> list[Recorded | None]:
        self.reads += 1
        async with self.redis.pipeline(transaction=False) as pipe:
            for one in record_ids:
                pipe.hgetall(f"note:{one}")
            found = await pipe.execute()
        return [Note(revision=int(raw["rev"]), note_id=one, text=raw["text"]) if raw else None
                for one, raw in zip(record_ids, found, strict=True)]


class ChangingPublisher(EventPublisher):
    """Changes one record right after the first batch is sent, as another instance's change would."""

    def __init__(self, parts: Parts, notes: Notes, note_id: str) -> None:
        super().__init__(parts.broker, parts.topics, 10)
        self.notes, self.note_id = notes, note_id
        self.batches: list[int] = []

    async def publish_all(self, events: Sequence[CloudEvent], origins: Mapping[str, Context] | None = None) -> None:
        await super().publish_all(events, origins)
        self.batches.append(len(events))
        if len(self.batches) == 1:
            await self.notes.change(self.note_id, "changed meanwhile")


@dataclass(frozen=True)
class Parts:
    redis: Redis
    broker: KafkaBroker
    topics: Topics
    bootstrap: str

    async def on_the_log(self) -> list[tuple[bytes | None, bytes]]:
        return await records_of(self.bootstrap, self.topics.for_type(Note.event_type))


@pytest.fixture
async def parts(settings_for: Callable[..., NotifierSettings]) -> AsyncIterator[Parts]:
    settings = settings_for(NotifierSettings)
    async with connected(settings, "journal-test") as (broker, topics, redis):
        yield Parts(redis, broker, topics, settings.kafka_bootstrap)


async def test_many_records_go_out_together_and_one_changed_meanwhile_goes_again(
        parts: Parts) -> None:
    redis = parts.redis
    notes = Notes(redis)
    ids = [f"n{i}" for i in range(40)]
    for one in ids:
        await notes.change(one, f"first words of {one}")
    await redis.sadd(UNPUBLISHED, member(KIND, "gone"))  # marked, but its record is not there
    sending = ChangingPublisher(parts, notes, "n7")
    journal = Journal(redis, sending, source="/tests")
    journal.track(KIND, notes)

    assert await journal.publish(*(member(KIND, one) for one in [*ids, "gone", "n3"])) == 42
    assert await journal.publish(member(KIND, "n1")) == 0  # on the log already: nothing sent

    assert sending.batches == [40, 1]  # all at once, then the one that changed meanwhile
    assert notes.reads == 2
    assert await redis.scard(UNPUBLISHED) == 0
    last: dict[bytes | None, dict[str, object]] = {}
    for key, value in await parts.on_the_log():
        last[key] = json.loads(value)["data"]
    assert set(last) == {member(KIND, one).encode() for one in ids}
    assert last[member(KIND, "n7").encode()] == {"revision": 2, "note_id": "n7", "text": "changed meanwhile"}
    assert last[member(KIND, "n8").encode()] == {"revision": 1, "note_id": "n8", "text": "first words of n8"}


async def test_the_relay_publishes_every_marked_record_in_chunks(parts: Parts) -> None:
    redis = parts.redis
    notes = Notes(redis)
    ids = [f"r{i}" for i in range(300)]
    for one in ids:
        await notes.change(one, one)
    journal = Journal(redis, EventPublisher(parts.broker, parts.topics, 10), source="/tests")
    journal.track(KIND, notes)

    assert await journal.flush() == 300
    assert notes.reads == 2  # 256, then 44
    assert await redis.scard(UNPUBLISHED) == 0
    keys = [key for key, _ in await parts.on_the_log()]
    assert len(keys) == 300  # each once
    assert set(keys) == {member(KIND, one).encode() for one in ids}


async def test_records_published_together_each_continue_the_trace_they_were_changed_in(
        settings_for: Callable[..., NotifierSettings]) -> None:
    """Publishes made side by side go out as one group, in the task of the first; each record's event must
    still continue its own caller's trace (or the one ``origins`` names), or traces mix under load."""
    settings = settings_for(NotifierSettings)
    tracing = Tracing("journal-trace-test", "memory")
    elsewhere = tracing.tracer.start_span("the event that caused n2")
    async with connected(settings, "journal-trace-test", [tracing.kafka_middleware()]) as (broker, topics, redis):
        notes = Notes(redis)
        journal = Journal(redis, EventPublisher(broker, topics, 10), source="/tests")
        journal.track(KIND, notes)

        async def change(one: str) -> str:
            with tracing.tracer.start_as_current_span(f"changing {one}") as span:
                await notes.change(one, f"words of {one}")
                origins = {member(KIND, one): trace.set_span_in_context(elsewhere)} if one == "n2" else None
                await journal.publish(member(KIND, one), origins=origins)
                return f"{(elsewhere if one == 'n2' else span).get_span_context().trace_id:032x}"

        expected = dict(zip(["n0", "n1", "n2"], await asyncio.gather(*(change(f"n{i}") for i in range(3))),
                            strict=True))
        found = await traces_on(settings.kafka_bootstrap, topics.for_type(Note.event_type), 3)
    elsewhere.end()
    assert len(set(expected.values())) == 3
    assert {key: trace_id for key, _, trace_id in found} == {member(KIND, one).encode(): trace_id
                                                              for one, trace_id in expected.items()}

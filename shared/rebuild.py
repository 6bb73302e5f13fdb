"""Rebuilding a service's Redis state from the Kafka log: the machinery every service's ``rebuild`` shares.

    python -m <service>.rebuild         (make rebuild SERVICE=<service>)

1. Refuse while an instance of the service is consuming (its consumer group has members): a live
   instance would write into the state being rebuilt. Capacity, whose planner takes a lock, is the
   exception and passes ``require_stopped=False``.
2. Publish what the service's outbox still holds, so the log has every event the service made.
3. Read the topics the state is a fold of, from their beginnings to their ends as of now.
4. Wipe the service's keys (``<service>:*``), then fold the events in time order, each once. An event
   whose payload does not fit its model is skipped with a warning: live, the service tried it and set it
   aside as a dead letter, so it changed nothing there either.
5. Rebuild the dead-letter list from the service's dead-letter topic.

The consumer group's committed offsets are left where they are: events the service had not handled
yet are handled when it starts, and any it handles a second time are known by their ids (the events
they produce have ids derived from their cause), so nothing is announced or sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from pydantic import ValidationError
from redis.asyncio import Redis

from shared.dead_letters import DeadLetters
from shared.envelope import CloudEvent
from shared.infra import build_broker
from shared.kafka_auth import KafkaAuth
from shared.messaging import EventPublisher
from shared.outbox import Outcomes
from shared.runtime import configure_logging
from shared.settings import ServiceSettings
from shared.topics import Topics

__all__ = ["RebuildRefused", "Rebuilt", "command", "read_log", "read_records", "rebuild_service"]

log = logging.getLogger(__name__)

Fold = Callable[[CloudEvent], Awaitable[None]]
_PROGRESS_S = 2.0
_COORDINATOR_ATTEMPTS = 20


class RebuildRefused(RuntimeError):
    """The rebuild would not be sound now (an instance is still running)."""


@dataclass(frozen=True)
class Rebuilt:
    service: str
    events: int
    dead_letters: int
    seconds: float


async def read_records(bootstrap: str, topics: list[str],
                       auth: KafkaAuth | None = None) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on ``topics`` up to their ends as of now (no consumer group: from the beginning)."""
    options = (auth or KafkaAuth()).client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    unreadable = [t["topic"] for t in described if t.get("error_code") or not t["partitions"]]
    if unreadable:  # before anything is wiped: a log read in part would rebuild a part
        raise RebuildRefused(f"cannot read {', '.join(unreadable)} (missing, or not allowed to this user)")
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", **options)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, got in batch.items():
                records.extend(r for r in got if r.offset < ends[tp])
                if got and got[-1].offset >= ends[tp] - 1:
                    pending.discard(tp)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return records


async def read_log(bootstrap: str, topics: list[str], auth: KafkaAuth | None = None) -> list[CloudEvent]:
    """Every envelope on ``topics`` up to their ends as of now, in time order, each id once."""
    events: dict[str, CloudEvent] = {}
    for record in await read_records(bootstrap, topics, auth):
        if record.value is None:
            continue
        try:
            event = CloudEvent.model_validate_json(record.value)
        except ValidationError:
            log.warning("skipping a record that is not an envelope at %s/%s@%s",
                        record.topic, record.partition, record.offset)
            continue
        events.setdefault(event.id, event)  # a send retried after a timeout can appear twice
    return sorted(events.values(), key=lambda e: e.time)


async def _refuse_if_running(bootstrap: str, group: str, auth: KafkaAuth) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth.client_options())
    await admin.start()
    try:
        for attempt in range(_COORDINATOR_ATTEMPTS):
            try:
                described = await admin.describe_consumer_groups([group])
                break
            except GroupCoordinatorNotAvailableError:
                # A broker on which no group was ever used creates its offsets topic on this first
                # question, and answers once it exists.
                if attempt == _COORDINATOR_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await admin.close()
    for response in described:
        for _, group_id, state, _, _, members, *_ in response.groups:
            if members:
                raise RebuildRefused(f"{len(members)} instance(s) of {group_id} are running (group {state}); "
                                     "stop them first, then rebuild, then start them again.")


async def _wipe(redis: Redis, service: str, keep: frozenset[str]) -> int:
    wiped = 0
    async for key in redis.scan_iter(match=f"{service}:*", count=1000):
        if key not in keep:
            wiped += int(await redis.delete(key))
    return wiped


async def _flush_outbox(settings: ServiceSettings, service: str, redis: Redis, topics: Topics) -> int:
    """Publish what the outbox holds, so the log is complete before it is read."""
    broker = build_broker(settings, f"{service}-rebuild")
    await broker.start()
    try:
        return await Outcomes(redis, service).republish_pending(
            EventPublisher(broker, topics, settings.publish_timeout_ms / 1000))
    finally:
        await broker.stop()


async def rebuild_service(service: str, settings: ServiceSettings, redis: Redis, topics: list[str], fold: Fold,
                          *, require_stopped: bool = True, keep: frozenset[str] = frozenset(),
                          finish: Callable[[], Awaitable[None]] | None = None) -> Rebuilt:
    """Wipe ``service``'s keys (but ``keep``) and fold ``topics`` back into them, then ``finish`` (see the
    module's docstring)."""
    started = time.monotonic()
    named = Topics(settings.topic_prefix)
    if require_stopped:
        await _refuse_if_running(settings.kafka_bootstrap, service, settings.kafka_auth())
    flushed = await _flush_outbox(settings, service, redis, named)
    if flushed:
        log.info("%s: published %d pending outcome(s) from the outbox first", service, flushed)
    events = await read_log(settings.kafka_bootstrap, topics, settings.kafka_auth())
    log.info("%s: read %d events from %s", service, len(events), ", ".join(topics))
    wiped = await _wipe(redis, service, keep)
    log.info("%s: wiped %d keys", service, wiped)
    await _fold_all(service, events, fold)
    if finish is not None:
        await finish()
    letters = await _dead_letters(settings, service, redis, named)
    seconds = time.monotonic() - started
    log.info("%s: rebuilt from %d events (and %d dead letters) in %.1f s", service, len(events), letters, seconds)
    return Rebuilt(service, len(events), letters, seconds)


async def _fold_all(service: str, events: Iterable[CloudEvent], fold: Fold) -> None:
    listed = list(events)
    shown = time.monotonic()
    for done, event in enumerate(listed, start=1):
        try:
            await fold(event)
        except ValidationError as exc:  # a fold reads the payload into its model before it changes anything
            log.warning("%s: skipping %s %s, whose payload does not fit its model (a dead letter live): %s",
                        service, event.type, event.id, exc.errors(include_url=False)[:3])
        if time.monotonic() - shown > _PROGRESS_S:
            shown = time.monotonic()
            log.info("%s: %d of %d events folded", service, done, len(listed))


async def _dead_letters(settings: ServiceSettings, service: str, redis: Redis, topics: Topics) -> int:
    letters = DeadLetters(redis, None, topics, service)
    records = await read_records(settings.kafka_bootstrap, [topics.dead_letters(service)], settings.kafka_auth())
    for record in records:
        await letters.restore(record)
    return len(records)


S = TypeVar("S", bound=ServiceSettings)


def command(service: str, settings: S, rebuild: Callable[[S], Coroutine[Any, Any, Rebuilt]]) -> Rebuilt:
    """``python -m <service>.rebuild``: the service's log lines, the rebuild, and a last line with its figures."""
    configure_logging(f"{service}.rebuild", settings)
    rebuilt = asyncio.run(rebuild(settings))
    log.info("%s rebuilt: %d events in %.1f s", service, rebuilt.events, rebuilt.seconds)
    return rebuilt

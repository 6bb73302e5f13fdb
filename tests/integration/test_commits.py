"""Offset commits on an interval against the real broker: nothing is committed before it is handled and
flushed, and a consumer joining the group takes over from what the first one handled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from capacity.config import CapacitySettings
from shared.commits import Commits
from shared.envelope import CloudEvent
from shared.infra import ensure_topics
from shared.messaging import Record
from shared.topics import Topics
from tests.infra import admin_options
from tests.support import publish

pytestmark = pytest.mark.integration


def _events(count: int) -> list[CloudEvent]:
    return [CloudEvent(id=f"e-{n}", source="/tests", type="request.paused", subject="one-request",
                       time=datetime.now(UTC), data={"n": n}) for n in range(count)]


def _consumer(bootstrap: str, topic: str, commits: Commits) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=commits.group, enable_auto_commit=False,
                                auto_offset_reset="earliest", **admin_options())
    consumer.subscribe([topic], listener=commits)
    return consumer


async def _read(consumer: AIOKafkaConsumer, count: int) -> list[Record]:
    found: list[Record] = []
    async with asyncio.timeout(30):
        while len(found) < count:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                found += [Record.of(r) for r in batch]
    return found


async def test_handled_offsets_are_committed_on_flush_and_a_new_member_starts_from_them(
        settings_for: Callable[..., CapacitySettings]) -> None:
    settings = settings_for(CapacitySettings)
    topics = Topics(settings.topic_prefix)
    await ensure_topics(settings, topics)
    await publish(settings.kafka_bootstrap, topics, *_events(5))
    first = Commits(f"{settings.topic_prefix}-commits", 60.0)  # an interval that never comes in this test
    one = _consumer(settings.kafka_bootstrap, topics.decisions, first)
    await one.start()
    try:
        handled = await _read(one, 5)  # one request's: all on one partition
        partition = TopicPartition(topics.decisions, handled[0].partition)
        await first.handled(one, handled[:3])
        assert await one.committed(partition) is None  # handled, not yet flushed
        assert await first.flush() == 1
        assert await one.committed(partition) == 3  # only what was handled, not what was read

        # A member joining the group starts a rebalance, which takes the partition from the first: what
        # it handled since is committed before it lets go, and whoever owns the partition next starts there.
        await first.handled(one, handled[3:4])
        two = _consumer(settings.kafka_bootstrap, topics.decisions, Commits(first.group, 60.0))
        await two.start()
        try:
            async with asyncio.timeout(60):
                while await one.committed(partition) != 4:
                    await asyncio.gather(one.getmany(timeout_ms=200), two.getmany(timeout_ms=200))
        finally:
            await two.stop()
    finally:
        await one.stop()

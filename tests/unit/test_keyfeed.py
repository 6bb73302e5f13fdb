"""The key feed follows the keys topic through failed reads: a read that raises is tried again, so a key revoked
after it is still refused, and until a read succeeds again the feed says it is not following (``/readyz``)."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import KafkaConnectionError

from shared.access import ApiKeyRevoked, KeyRegistry, KeySpec, Role, issue
from shared.envelope import envelope
from shared.keyfeed import KeyFeed

AT = datetime(2026, 12, 1, tzinfo=UTC)


class Flaky:
    """A consumer whose reads fail ``failures`` times, then bring ``records`` once, then nothing."""

    def __init__(self, failures: int, records: list[bytes]) -> None:
        self.failures, self.records, self.reads = failures, records, 0
        self.failed = asyncio.Event()

    async def getmany(self, partition: Any, timeout_ms: int) -> dict[Any, list[Any]]:
        self.reads += 1
        await asyncio.sleep(0)
        if self.failures:
            self.failures -= 1
            self.failed.set()
            raise KafkaConnectionError("broker went away")
        found, self.records = self.records, []
        return {partition: [type("Record", (), {"value": raw})() for raw in found]}


async def test_a_failed_read_is_tried_again_and_a_later_revocation_still_applies() -> None:
    registry = KeyRegistry({}, AT)
    secret, created = issue(KeySpec(tool="crm", role=Role.REQUESTER_TOOL, lanes=("sales",)), by="ops", at=AT)
    registry.apply(created)
    revoked = ApiKeyRevoked(key_id=created.key.key_id, revoked_at=AT, revoked_by="ops")
    feed = KeyFeed(registry, "unused:9092", "keys")
    consumer = Flaky(failures=2, records=[envelope(revoked, source="/test").model_dump_json().encode()])
    feed._consumer = consumer
    feed._task = asyncio.create_task(feed._follow(backoff_s=0.01, most_s=0.02))
    try:
        await asyncio.wait_for(consumer.failed.wait(), timeout=5)
        assert not feed.following()  # a read failed: not ready until one succeeds
        for _ in range(200):
            if registry.revoked(created.key.key_id):
                break
            await asyncio.sleep(0.01)
        found = registry.find(secret)
        assert registry.revoked(created.key.key_id) and found is not None and found.revoked_at is not None
        assert feed.following() and not feed._task.done()
    finally:
        feed._task.cancel()
        await asyncio.gather(feed._task, return_exceptions=True)

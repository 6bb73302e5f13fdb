"""Rebuild capacity's Redis state from the Kafka event log.

    python -m capacity.rebuild        (make rebuild-capacity)

Wipes capacity's keys, reads its input topics and its own decisions from the
beginning up to their current ends, folds them in time order, and saves the
ledger. The planning lock is held throughout, so running services wait.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from capacity.config import CapacitySettings
from capacity.domain import Ledger, fold
from capacity.store import LedgerStore
from shared.envelope import CloudEvent
from shared.infra import connect_redis
from shared.topics import Topics

log = logging.getLogger(__name__)


async def read_log(bootstrap: str, topics: list[str]) -> list[CloudEvent]:
    """Every envelope on ``topics`` up to their ends as of now, in time order."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    # No group, so no committed offsets: every partition is read from its beginning.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        events: list[CloudEvent] = []
        pending = {tp for tp in partitions if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp] and record.value is not None:
                        try:
                            events.append(CloudEvent.model_validate_json(record.value))
                        except ValidationError:
                            log.warning("skipping a record that is not an envelope at %s@%s", tp, record.offset)
                    if record.offset >= ends[tp] - 1:
                        pending.discard(tp)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return sorted(events, key=lambda e: e.time)


async def rebuild(settings: CapacitySettings) -> Ledger:
    topics = Topics(settings.topic_prefix)
    redis = connect_redis(settings.redis_url)
    store = LedgerStore(redis)
    try:
        async with store.lock(timeout=600):
            events = await read_log(settings.kafka_bootstrap,
                                    [topics.requests, topics.classifications, topics.decisions])
            await store.wipe()
            ledger = Ledger()
            seen: set[str] = set()
            for event in events:
                if event.id in seen:  # a send retried after a timeout can appear twice
                    continue
                seen.add(event.id)
                fold(ledger, event.type, event.data)
                if event.type == "request.bypass_refused":
                    await store.record_bypass({**event.data, "at": event.time.date().isoformat()})
            ledger.dirty.update(ledger.cards)
            async with redis.pipeline(transaction=True) as pipe:
                store.save(pipe, ledger)
                await pipe.execute()
        log.info("rebuilt capacity from %d events: %d cards", len(events), len(ledger.cards))
        return ledger
    finally:
        await redis.aclose()


def main() -> None:
    logging.basicConfig(level="INFO", format="%(asctime)s capacity.rebuild %(levelname)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    ledger = asyncio.run(rebuild(CapacitySettings()))
    log.info("capacity rebuilt: %d cards, policy version %d", len(ledger.cards), ledger.policy.version)


if __name__ == "__main__":
    main()

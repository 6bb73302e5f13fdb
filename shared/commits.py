"""Offset commits on an interval: a consumer group's position moves once a second, not after every batch.

A commit is a round trip to the group's coordinator and a write to its offsets log, and the consume loop
waits for it before fetching again: committed after every batch, it cost each hop of the pipeline a
round trip and the broker a write per batch, most of them for batches of a record or two. Here a batch's
offsets are noted once every record in it was handled (``shared.batches``), and what was noted is
committed every ``interval_s``, when partitions are taken away in a rebalance, and when the service
stops. Delivery stays at least once: only handled offsets are ever committed. What a crash costs is the
records handled since the last commit being handled again, which every handler is built for (the outbox
answers a redelivered event with its first outcome). ``interval_s=0`` commits after every batch.

Hand-written: aiokafka's own auto-commit commits what ``getmany`` returned, before it was handled, and
FastStream's ack policies commit per message or per batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from shared.messaging import Record

__all__ = ["Commits"]

log = logging.getLogger(__name__)


class Commits(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    def __init__(self, group: str, interval_s: float) -> None:
        self.group = group
        self.interval_s = interval_s
        self._consumer: Any = None  # the subscriber's AIOKafkaConsumer, known from its first batch
        self._handled: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    async def handled(self, consumer: Any, records: Sequence[Record]) -> None:
        """Note a batch as handled (each of its records handled, ignored or dead-lettered)."""
        self._consumer = consumer
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            self._handled[partition] = max(self._handled.get(partition, 0), record.offset + 1)
        if self.interval_s <= 0:
            await self.flush()

    async def flush(self, partitions: Iterable[TopicPartition] | None = None) -> int:
        """Commit what was handled and not yet committed (of ``partitions`` only, if named) for the
        partitions this consumer still owns; answers how many partitions' offsets moved. A failed commit
        is logged and tried again on the next flush; the records since are handled again if it never
        succeeds (a rebalance took their partition: its new owner starts from the last commit)."""
        if self._consumer is None:
            return 0
        owned = self._consumer.assignment()
        wanted = set(partitions) if partitions is not None else set(self._handled)
        due = {tp: offset for tp, offset in self._handled.items()
               if tp in wanted and tp in owned and self._committed.get(tp) != offset}
        for gone in [tp for tp in self._handled if tp not in owned]:
            del self._handled[gone]
            self._committed.pop(gone, None)
        if not due:
            return 0
        try:
            await self._consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in due.items()})
        except KafkaError as exc:
            log.warning("%s: could not commit offsets of %d partition(s) yet: %r", self.group, len(due), exc)
            return 0
        self._committed.update(due)
        return len(due)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Before a rebalance hands partitions to another consumer: what was handled of them is committed,
        so their new owner does not handle it again; then they are forgotten (should one come back, an offset
        noted before it left must not be committed over its new owners' progress)."""
        await self.flush(revoked)
        for partition in revoked:
            self._handled.pop(partition, None)
            self._committed.pop(partition, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Nothing to do: a partition starts from its group's last commit."""

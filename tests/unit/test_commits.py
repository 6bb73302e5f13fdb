"""Offset commits on an interval (``shared.commits``): only handled offsets, only owned partitions, what a
rebalance takes away committed first, and a failed commit tried again."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from shared.commits import Commits
from shared.messaging import Record

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class Consumer:
    def __init__(self, owned: set[TopicPartition]) -> None:
        self.owned = owned
        self.commits: list[dict[TopicPartition, int]] = []
        self.refuse = 0

    def assignment(self) -> set[TopicPartition]:
        return self.owned

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        if self.refuse:
            self.refuse -= 1
            raise CommitFailedError("the group rebalanced")
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})


def records(partition: int, *offsets: int) -> list[Record]:
    return [Record("t", partition, offset, b"k", b"{}") for offset in offsets]


async def test_handled_offsets_wait_for_the_interval_and_go_out_in_one_commit() -> None:
    consumer, commits = Consumer({A, B}), Commits("g", 1.0)
    await commits.handled(consumer, records(0, 5, 6))
    await commits.handled(consumer, [*records(0, 7), *records(1, 3)])
    assert consumer.commits == []
    assert await commits.flush() == 2
    assert consumer.commits == [{A: 8, B: 4}]  # the next record to read, past the last handled
    assert await commits.flush() == 0  # nothing new: no round trip
    assert consumer.commits == [{A: 8, B: 4}]


async def test_with_no_interval_each_batch_is_committed_once_handled() -> None:
    consumer, commits = Consumer({A}), Commits("g", 0)
    await commits.handled(consumer, records(0, 0, 1))
    await commits.handled(consumer, records(0, 2))
    assert consumer.commits == [{A: 2}, {A: 3}]


async def test_a_rebalance_commits_what_it_takes_away_and_partitions_no_longer_owned_are_forgotten() -> None:
    consumer, commits = Consumer({A, B}), Commits("g", 1.0)
    await commits.handled(consumer, [*records(0, 1), *records(1, 9)])
    await commits.on_partitions_revoked({B})
    assert consumer.commits == [{B: 10}]
    consumer.owned = {A}
    await commits.handled(consumer, records(1, 10))  # a batch that finished after its partition left
    assert await commits.flush() == 1
    assert consumer.commits == [{B: 10}, {A: 2}]  # B's late batch is its new owner's to commit


async def test_a_failed_commit_is_tried_again_on_the_next_flush() -> None:
    consumer, commits = Consumer({A}), Commits("g", 1.0)
    consumer.refuse = 1
    await commits.handled(consumer, records(0, 4))
    assert await commits.flush() == 0
    assert await commits.flush() == 1
    assert consumer.commits == [{A: 5}]


async def test_nothing_is_committed_before_a_first_batch() -> None:
    assert await Commits("g", 1.0).flush() == 0


async def test_a_partition_that_leaves_and_comes_back_does_not_commit_what_was_noted_before_it_left() -> None:
    consumer, commits = Consumer({A}), Commits("g", 1.0)
    await commits.handled(consumer, records(0, 4))
    consumer.refuse = 1  # the commit on revoke fails (the group moved on): the new owner handles 4 again
    await commits.on_partitions_revoked({A})
    await commits.on_partitions_assigned({A})  # back, after its other owner committed further
    assert await commits.flush() == 0  # offset 5, noted before it left, is not committed over theirs
    assert consumer.commits == []

"""The dispatcher wakes when a send is scheduled, on any instance, and when the earliest is due; its timed
look is only a net (real Redis; the poll here is far longer than any wait the tests allow)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from notifier.sending.dispatch import Dispatcher
from notifier.sending.schedule import Claim, Schedule

pytestmark = pytest.mark.integration

POLL_S = 30.0


class Recorded:
    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.any = asyncio.Event()

    async def __call__(self, claim: Claim) -> None:
        self.sent[claim.id] = time.monotonic()
        self.any.set()

    async def failed(self, claim: Claim, error: str) -> None:
        raise AssertionError(error)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def schedule_at(redis: Redis, job_id: str, due: float) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        Schedule.at(pipe, "notification", job_id, due)
        await pipe.execute()


async def started(redis: Redis, job: Recorded) -> tuple[Dispatcher, asyncio.Task[None]]:
    dispatcher = Dispatcher(Schedule(redis), {"notification": job}, concurrency=4, lease_s=60.0, poll_s=POLL_S,
                            grace_s=0.5)
    task = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0.3)  # listening, and asleep: nothing is due
    return dispatcher, task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_send_scheduled_by_another_instance_wakes_this_one_at_once(redis: Redis) -> None:
    job = Recorded()
    _, task = await started(redis, job)
    other = Dispatcher(Schedule(redis), {}, concurrency=1, lease_s=60.0, poll_s=POLL_S, grace_s=0.5)
    await schedule_at(redis, "n-1", time.time())
    other.wake()  # what the other instance's handler does after recording the notice
    await asyncio.wait_for(job.any.wait(), timeout=5)  # far sooner than its poll (POLL_S): it was woken
    assert set(job.sent) == {"n-1"}
    await stop(task)


async def test_a_send_due_later_goes_when_it_is_due_not_at_the_next_poll(redis: Redis) -> None:
    job = Recorded()
    dispatcher, task = await started(redis, job)
    await schedule_at(redis, "n-later", time.time() + 1.0)
    began = time.monotonic()
    dispatcher.wake()
    await asyncio.wait_for(job.any.wait(), timeout=10)  # far sooner than its poll (POLL_S)
    assert job.sent["n-later"] - began >= 0.8  # not before it was due
    await stop(task)

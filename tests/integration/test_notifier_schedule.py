"""The notifier's schedule on a real Redis: making notices due now never takes a lease from one under way."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from notifier.sending.schedule import DUE, Schedule, job

KIND = "notification"


async def test_notices_made_due_now_leave_one_under_way_to_its_attempt(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    schedule = Schedule(redis)
    now = time.time()
    try:
        await redis.zadd(DUE, {job(KIND, "b"): now, job(KIND, "c"): now + 100, job(KIND, "d"): now + 100})
        [under_way] = await schedule.claim(now, lease_s=60, limit=1)
        assert under_way.id == "b"
        # A first-told notice finishes and releases the ones told after it; one of them is being sent.
        async with redis.pipeline(transaction=True) as pipe:
            Schedule.due_now(pipe, KIND, ["b", "c", "never-scheduled"], now + 1)
            await pipe.execute()
        # A request is withdrawn: its notices are due now, to be cancelled; the one under way is left be.
        await Schedule.due_now(redis, KIND, ["b", "d"], now + 1)
        claimed = await schedule.claim(now + 2, lease_s=60, limit=10)
        assert sorted(c.id for c in claimed) == ["c", "d"]
        assert await redis.zscore(DUE, job(KIND, "never-scheduled")) is None
        # The attempt under way still holds its lease: what it concludes is kept.
        assert await schedule.under_lease(under_way, lambda pipe: Schedule.drop(pipe, KIND, "b"))
        # Once concluded (held, retried: its lease is gone), it is released like any other.
        async with redis.pipeline(transaction=True) as pipe:
            Schedule.at(pipe, KIND, "b", now + 500)
            await pipe.execute()
        await Schedule.due_now(redis, KIND, ["b"], now + 3)
        assert [c.id for c in await schedule.claim(now + 4, lease_s=60, limit=10)] == ["b"]
    finally:
        await redis.aclose()

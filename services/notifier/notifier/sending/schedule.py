"""The durable schedule of sends: a Redis sorted set of jobs scored by the time they are due.

A job is ``<kind>:<id>`` (``notification:…`` or ``delivery:…``); its body is the record of that
id, kept by its log. Claiming a job re-scores it to now + lease and gives it a fresh lease token
(``notifier:lease:<job>``) in the same script. Whatever an attempt concludes (finished, retried)
is written only while its token is still the job's: an attempt that outlived its lease, and was
claimed again meanwhile, has its outcome dropped. A job whose dispatcher died mid-send is due
again once its lease runs out. Nothing waits in memory: a restart finds every job where it was.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from shared.observability.tracing import TraceCarrier

__all__ = ["DUE", "TRACES", "WAKE", "Claim", "Schedule", "job", "lease_key"]

DUE = "notifier:due"
# A channel: "a job was scheduled", so every instance's dispatcher looks at once instead of at its next poll.
WAKE = "notifier:wake"
# The trace each job was scheduled in, so its send continues the trace of the event that caused it.
TRACES = TraceCarrier("notifier:trace:")
_LEASE = "notifier:lease:"

log = logging.getLogger(__name__)

# A lease key outlives its lease (it is only tidied away then): a token that was replaced, not one
# that expired, is what makes an outcome stale. Each job comes with the trace it was scheduled in (or nil).
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for i, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
  redis.call('SET', ARGV[5] .. member, ARGV[4], 'PX', tonumber(ARGV[6]))
  claimed[2 * i - 1] = member
  claimed[2 * i] = redis.call('GET', ARGV[7] .. member)
end
return claimed
"""


# Make jobs due now, those scheduled only (XX) and never later than they are (LT), except a job whose attempt
# is under way (its lease key is there: a claim sets it, what concludes an attempt deletes it). Re-scoring
# such a job would have it claimed again mid-attempt, and that claim's new token would drop the outcome of
# the attempt under way (a message sent but still pending until the new lease ran out). What such an
# attempt concludes is made with the change in view: a hold watches the records it waits on.
_DUE_NOW = """
for i = 3, #ARGV do
  if redis.call('EXISTS', ARGV[2] .. ARGV[i]) == 0 then
    redis.call('ZADD', KEYS[1], 'XX', 'LT', ARGV[1], ARGV[i])
  end
end
return 0
"""


def job(kind: str, job_id: str) -> str:
    return f"{kind}:{job_id}"


def lease_key(kind: str, job_id: str) -> str:
    return _LEASE + job(kind, job_id)


@dataclass
class Claim:
    """One claimed job and the token of its current lease (renewed in place when it is claimed again)."""

    kind: str
    id: str
    token: str
    trace: str | None = None  # the ``traceparent`` the job was scheduled under, if it was inside a trace

    @property
    def job(self) -> str:
        return job(self.kind, self.id)

    @property
    def lease(self) -> str:
        return lease_key(self.kind, self.id)

    def stale(self, what: str) -> None:
        log.warning("%s %s: dropped the outcome of an attempt whose lease was taken over (%s)", self.kind,
                    self.id, what)


class Schedule:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def claim(self, now: float, lease_s: float, limit: int) -> list[Claim]:
        """Up to ``limit`` due jobs, each leased to the caller until now + ``lease_s`` under a new token."""
        token = uuid.uuid4().hex
        claimed = cast(list[str | None], await self._redis.eval(
            _CLAIM, 1, DUE, now, now + lease_s, limit, token, _LEASE, int(lease_s * 2000) + 60_000, TRACES.prefix))
        jobs = [cast(str, member).split(":", 1) for member in claimed[::2]]
        return [Claim(kind, job_id, token, trace) for (kind, job_id), trace in zip(jobs, claimed[1::2], strict=True)]

    async def next_due(self) -> float | None:
        """When the earliest job is due (leased ones: when their lease runs out), or None when none is."""
        first = cast(list[tuple[str, float]], await self._redis.zrange(DUE, 0, 0, withscores=True))
        return float(first[0][1]) if first else None

    async def announce(self) -> None:
        """Tell every dispatcher that a job was scheduled."""
        await self._redis.publish(WAKE, "due")

    @asynccontextmanager
    async def wakes(self) -> AsyncIterator[AsyncIterator[object]]:
        """The announcements, as they come (a connection of their own while open)."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(WAKE)
        try:
            yield (message async for message in pubsub.listen() if message is not None)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def under_lease(self, claim: Claim, queue: Callable[[Pipeline], None]) -> bool:
        """Apply what ``queue`` queues, in one transaction, only while ``claim`` still holds its lease;
        answers whether it did."""
        async with self._redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(claim.lease)
                if cast(str | None, await pipe.get(claim.lease)) != claim.token:
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                queue(pipe)
                await pipe.execute()
            except WatchError:
                return False
        return True

    @staticmethod
    def at(pipe: Pipeline, kind: str, job_id: str, due: float) -> None:
        """Queue on ``pipe``: send (again) at ``due``; the next claim gets a new lease."""
        pipe.zadd(DUE, {job(kind, job_id): due})
        pipe.delete(lease_key(kind, job_id))
        TRACES.queue(pipe, job(kind, job_id))

    @staticmethod
    def due_now(pipe: Pipeline | Redis, kind: str, job_ids: Iterable[str], now: float) -> Any:
        """Make the jobs due at ``now``, those that are scheduled and not under way (see ``_DUE_NOW``);
        queued on a pipeline, or run on a client (then awaited by the caller)."""
        members = [job(kind, job_id) for job_id in job_ids]
        return pipe.eval(_DUE_NOW, 1, DUE, now, _LEASE, *members)

    @staticmethod
    def drop(pipe: Pipeline, kind: str, job_id: str) -> None:
        pipe.zrem(DUE, job(kind, job_id))
        pipe.delete(lease_key(kind, job_id))

    async def forget(self, kind: str, job_id: str) -> None:
        """Drop a job that has nothing left to send (already finished, or its record is gone)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            self.drop(pipe, kind, job_id)
            await pipe.execute()

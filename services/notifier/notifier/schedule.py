"""The durable schedule of sends: a Redis sorted set of jobs scored by the time they are due.

A job is ``<kind>:<id>`` (``notification:…`` or ``delivery:…``); its body is the record of that
id, kept by its log. Claiming a job re-scores it to now + lease in the same script, so a job is
sent by one dispatcher at a time, and one whose dispatcher died mid-send is due again once its
lease runs out. Nothing waits in memory: a restart finds every job where it was.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

__all__ = ["DUE", "Schedule", "job"]

DUE = "notifier:due"

_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
"""


def job(kind: str, job_id: str) -> str:
    return f"{kind}:{job_id}"


class Schedule:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def claim(self, now: float, lease_s: float, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` due jobs as (kind, id), each leased to the caller until now + ``lease_s``."""
        members = cast(list[str], await self._redis.eval(_CLAIM, 1, DUE, now, now + lease_s, limit))
        return [cast(tuple[str, str], tuple(m.split(":", 1))) for m in members]

    @staticmethod
    def at(pipe: Pipeline, kind: str, job_id: str, due: float) -> None:
        """Queue on ``pipe``: send (again) at ``due``."""
        pipe.zadd(DUE, {job(kind, job_id): due})

    @staticmethod
    def drop(pipe: Pipeline, kind: str, job_id: str) -> None:
        pipe.zrem(DUE, job(kind, job_id))

    async def forget(self, kind: str, job_id: str) -> None:
        """Drop a job that has nothing left to send (already finished, or its record is gone)."""
        await self._redis.zrem(DUE, job(kind, job_id))

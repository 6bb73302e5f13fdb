"""The titles of the published objectives, so a requester reads what "O2" stands for.

Learnt from ``okrs.published`` (the latest version of each quarter wins) and, per request, the
quarter its classification used (``request.classified``). Unknown titles are simply left out.
"""

from __future__ import annotations

from redis.asyncio import Redis

from shared.envelope import CloudEvent

__all__ = ["Objectives"]

QUARTER_TTL_S = 400 * 24 * 3600
# Replace a quarter's titles unless a later version is already known.
_PUBLISH = """
local known = tonumber(redis.call('HGET', KEYS[1], '__version') or '0')
if known > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '__version', ARGV[1], unpack(ARGV, 2))
return 1
"""


def _titles(quarter: str) -> str:
    return f"notifier:objectives:{quarter}"


def _quarter_of(request_id: str) -> str:
    return f"notifier:okr-quarter:{request_id}"


class Objectives:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def learn(self, event: CloudEvent) -> None:
        data = event.data
        if event.type == "okrs.published":
            pairs = [v for o in data["objectives"] for v in (o["id"], o["title"])]
            await self._redis.eval(_PUBLISH, 1, _titles(data["quarter"]), data["version"], *pairs)
        elif event.type == "request.classified" and data.get("okr_quarter"):
            await self._redis.set(_quarter_of(data["request_id"]), data["okr_quarter"], ex=QUARTER_TTL_S)

    async def title(self, request_id: str, objective_id: str) -> str | None:
        quarter = await self._redis.get(_quarter_of(request_id))
        if quarter is None:
            return None
        title = await self._redis.hget(_titles(str(quarter)), objective_id)
        return None if title is None else str(title)

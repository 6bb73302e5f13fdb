"""The titles of the published objectives, per quarter, and per request the quarter its classification used.

No notice is composed from these any more: ``request.classified`` and capacity's ``request.scheduled`` and
``request.backlogged`` carry the objective's title (``objective_title``), and a decision from before they
did names the objective by its id. Nothing reads these titles; only the rebuild (``notifier.rebuild``) still
writes them, and this module goes once it stops.
"""

from __future__ import annotations

from redis.asyncio import Redis

from shared.envelope import CloudEvent, parse_data
from shared.events import OkrsPublished, RequestClassified

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
        if event.type == "okrs.published":
            okrs = parse_data(event, OkrsPublished)
            pairs = [v for o in okrs.objectives for v in (o.id, o.title)]
            await self._redis.eval(_PUBLISH, 1, _titles(okrs.quarter), okrs.version, *pairs)
        elif event.type == "request.classified":
            classified = parse_data(event, RequestClassified)
            if classified.okr_quarter:
                await self._redis.set(_quarter_of(classified.request_id), classified.okr_quarter, ex=QUARTER_TTL_S)

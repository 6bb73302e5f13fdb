"""Capacity's Redis state: the open items, their last placements, and the planning lock."""

from __future__ import annotations

import json
from datetime import date
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.lock import Lock

from capacity.domain import OpenItem, Placement

ITEMS = "capacity:items"
PLACEMENTS = "capacity:placements"
CLOSED = "capacity:closed"


class CapacityStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def lock(self) -> Lock:
        """One planner at a time, across every capacity instance."""
        return self._redis.lock("capacity:plan-lock", timeout=30, blocking_timeout=60)

    async def items(self) -> dict[str, OpenItem]:
        rows = cast(dict[str, str], await self._redis.hgetall(ITEMS))
        return {k: OpenItem.from_dict(json.loads(v)) for k, v in rows.items()}

    async def placements(self) -> dict[str, Placement]:
        rows = cast(dict[str, str], await self._redis.hgetall(PLACEMENTS))
        return {k: _placement(k, json.loads(v)) for k, v in rows.items()}

    async def is_closed(self, request_id: str) -> bool:
        return bool(await self._redis.sismember(CLOSED, request_id))

    @staticmethod
    def put_item(pipe: Pipeline, item: OpenItem) -> None:
        pipe.hset(ITEMS, item.request_id, json.dumps(item.as_dict()))

    @staticmethod
    def close(pipe: Pipeline, request_id: str) -> None:
        pipe.hdel(ITEMS, request_id)
        pipe.sadd(CLOSED, request_id)

    @staticmethod
    def put_placements(pipe: Pipeline, placements: list[Placement]) -> None:
        pipe.delete(PLACEMENTS)
        if placements:
            pipe.hset(PLACEMENTS, mapping={
                p.request_id: json.dumps({"position": p.position, "cycle": p.cycle,
                                          "cycle_start": p.cycle_start.isoformat()})
                for p in placements
            })


def _placement(request_id: str, raw: dict[str, object]) -> Placement:
    return Placement(request_id, int(str(raw["position"])), str(raw["cycle"]),
                     date.fromisoformat(str(raw["cycle_start"])))

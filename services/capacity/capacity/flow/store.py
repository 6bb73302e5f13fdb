"""The flow history in Redis: one JSON passage per request, a token that changes with every write, and a
stream naming the passages each write changed, so an instance re-reads only what another one wrote
since (the whole history only when it lost track: a rebuild, or more writes than the stream keeps)."""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from capacity.flow.frame import Frame, frame_of
from capacity.flow.history import History, Passage

__all__ = ["CHANGES", "PASSAGES", "TOKEN", "FlowStore"]

PASSAGES, TOKEN, CHANGES = "capacity:flow:passages", "capacity:flow:token", "capacity:flow:changes"
KEPT = 1_000  # writes the stream of changes keeps (about); an instance further behind reads everything


class FlowStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._cached: tuple[str, History] | None = None
        self._frame: tuple[str, Frame] | None = None

    async def history(self) -> History:
        """The history, from this instance's copy while no other instance wrote, brought up to date with
        what they changed otherwise. Fold into it only inside the planning lock, and ``save`` what was
        folded in the same transaction."""
        token = cast(str | None, await self._redis.get(TOKEN)) or ""
        if self._cached is not None and self._cached[0] == token:
            return self._cached[1]
        if self._cached is not None and await self._catch_up(self._cached[0], token, self._cached[1]):
            self._cached = (token, self._cached[1])
            return self._cached[1]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(TOKEN)
            pipe.hgetall(PASSAGES)
            token, rows = await pipe.execute()
        passages = {rid: Passage.from_json(json.loads(raw)) for rid, raw in cast(dict[str, str], rows).items()}
        self._cached = (token or "", History(passages))
        return self._cached[1]

    async def _catch_up(self, mine: str, latest: str, history: History) -> bool:
        """Apply the passages other writes changed since ours; False when the stream cannot tell them all."""
        newer: list[dict[str, Any]] = []
        for _, fields in cast(list[tuple[str, dict[str, str]]], await self._redis.xrevrange(CHANGES, count=KEPT)):
            if fields.get("token") == mine:
                break
            if fields.get("full") == "1":
                return False
            newer.append(fields)
        else:
            return False
        if not newer or newer[0].get("token") != latest:
            return False
        changed = sorted({rid for fields in newer for rid in json.loads(fields["ids"])})
        rows = cast(list[str | None], await self._redis.hmget(PASSAGES, changed)) if changed else []
        for raw in rows:
            if raw is not None:
                history.replace(Passage.from_json(json.loads(raw)))
        return True

    async def frame(self) -> tuple[History, Frame]:
        """The history and its numpy columns, built once per change."""
        history = await self.history()
        assert self._cached is not None
        token = self._cached[0]
        if self._frame is None or self._frame[0] != token:
            self._frame = (token, frame_of(history.passages.values()))
        return history, self._frame[1]

    def save(self, pipe: Pipeline, history: History, *, full: bool = False) -> None:
        """Queue the passages the folds changed on ``pipe``, with a new token and a note of what changed
        (``full``: everything, as after a rebuild); should the transaction fail, the token in Redis does
        not match this copy's and the next read loads the history afresh."""
        changed = sorted(history.dirty)
        for request_id in changed:
            pipe.hset(PASSAGES, request_id, json.dumps(history.passages[request_id].to_json()))
        history.dirty.clear()
        token = uuid.uuid4().hex
        pipe.xadd(CHANGES, {"token": token, "ids": json.dumps([] if full else changed), "full": "1" if full else "0"},
                  maxlen=KEPT, approximate=True)
        pipe.set(TOKEN, token)
        self._cached = (token, history)

"""The flow history in Redis: one JSON passage per request, and a token that changes with every write, so
an instance re-reads the history only when another one wrote since."""

from __future__ import annotations

import json
import uuid
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from capacity.flow.frame import Frame, frame_of
from capacity.flow.history import History, Passage

__all__ = ["PASSAGES", "TOKEN", "FlowStore"]

PASSAGES, TOKEN = "capacity:flow:passages", "capacity:flow:token"


class FlowStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._cached: tuple[str, History] | None = None
        self._frame: tuple[str, Frame] | None = None

    async def history(self) -> History:
        """The history, from this instance's copy while no other instance wrote. Fold into it only inside
        the planning lock, and ``save`` what was folded in the same transaction."""
        token = cast(str | None, await self._redis.get(TOKEN)) or ""
        if self._cached is None or self._cached[0] != token:
            rows = cast(dict[str, str], await self._redis.hgetall(PASSAGES))
            passages = {rid: Passage.from_json(json.loads(raw)) for rid, raw in rows.items()}
            self._cached = (token, History(passages))
        return self._cached[1]

    async def frame(self) -> tuple[History, Frame]:
        """The history and its numpy columns, built once per change."""
        history = await self.history()
        assert self._cached is not None
        token = self._cached[0]
        if self._frame is None or self._frame[0] != token:
            self._frame = (token, frame_of(history.passages.values()))
        return history, self._frame[1]

    def save(self, pipe: Pipeline, history: History) -> None:
        """Queue the passages the folds changed on ``pipe``, with a new token; should the transaction fail,
        the token in Redis does not match this copy's and the next read loads the history afresh."""
        for request_id in history.dirty:
            pipe.hset(PASSAGES, request_id, json.dumps(history.passages[request_id].to_json()))
        history.dirty.clear()
        token = uuid.uuid4().hex
        pipe.set(TOKEN, token)
        self._cached = (token, history)

"""A merge's claim in Redis, held from its POST until its event is on the log: two merges racing (of one
request, or of two requests into each other) cannot both go ahead, and the same merge asked again is known."""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

__all__ = ["MERGE_PUBLISHED", "MergeClaims"]

MERGE_PUBLISHED = "published"  # what ``MergeClaims.claim`` answers for the same merge, already on the log

# Atomic, so two merges racing cannot both claim. The same merge claimed already: published (its claim kept),
# or still under way.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then
  if held ~= ARGV[1] then return held end
  if redis.call('PTTL', KEYS[1]) == -1 then return 'same:published' end
  return 'same:pending'
end
local onward = redis.call('GET', KEYS[2])
if onward then return 'into:' .. onward end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""


def _merge_key(request_id: str) -> str:
    return f"intake:merging:{request_id}"


class MergeClaims:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def claim(self, request_id: str, into: str, hold_ms: int = 60_000) -> str | None:
        """Claim the merge of ``request_id`` into ``into``; None when claimed, ``MERGE_PUBLISHED`` when this very
        merge is on the log already (its timeline entry still to come), else why not. Refused while
        another merge of the same request holds its claim, or while ``into`` is being merged itself (two
        requests merged into each other at once would leave neither open). A claim lapses after ``hold_ms``
        unless ``keep`` keeps it, so a merge cut short before its event was published blocks nothing."""
        held = cast(str | None, await self._redis.eval(
            _CLAIM, 2, _merge_key(request_id), _merge_key(into), into, hold_ms))
        if held is None:
            return None
        if held == "same:published":
            return MERGE_PUBLISHED
        if held == "same:pending":
            return f"The merge of {request_id} into {into} is under way; ask again in a moment."
        if held.startswith("into:"):
            return f"Request {into} is being merged into {held.removeprefix('into:')}; it cannot take a merge."
        return f"Request {request_id} is being merged into {held} already."

    async def keep(self, request_id: str) -> None:
        """A published merge keeps its claim: the event is on the log, its timeline entry may come later."""
        await self._redis.persist(_merge_key(request_id))

    async def release(self, request_id: str) -> None:
        """A merge that could not be published gives its claim back."""
        await self._redis.delete(_merge_key(request_id))

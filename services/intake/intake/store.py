"""Intake's Redis state: requests, their timelines and status, and a time index (merge claims: ``merges``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from intake.domain import TimelineEntry, current_status
from intake.merge_claims import MergeClaims
from shared.events import RequestSubmitted
from shared.lifecycle import STATUS_AFTER

_INDEX = "intake:requests"


def _request_key(request_id: str) -> str:
    return f"intake:request:{request_id}"


def _timeline_key(request_id: str) -> str:
    return f"intake:timeline:{request_id}"


# The status is stale from the moment a status change is on the timeline until it is written: a handler cut
# short between the two finds the mark when the event comes again, and writes the status then.
# KEYS: the timeline, the request. ARGV: the event id, its entry, 1 if it changes the status. 1: refresh it.
_APPEND = """
local added = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '1' then return 0 end
if added == 1 then
  redis.call('HSET', KEYS[2], 'status_stale', '1')
  return 1
end
return redis.call('HEXISTS', KEYS[2], 'status_stale')
"""

# A submission's record, written once: a request that exists is never changed (the POST and the consumed
# event both write it), unless an earlier write was cut short before its fields. KEYS: the request, the time
# index. ARGV: the request's details (JSON), its fields (a JSON object of strings), its id, its index score.
_SUBMIT = """
local created = redis.call('HSETNX', KEYS[1], 'request', ARGV[1])
if created == 1 or redis.call('HEXISTS', KEYS[1], 'id') == 0 then
  for name, value in pairs(cjson.decode(ARGV[2])) do redis.call('HSET', KEYS[1], name, value) end
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
end
return created
"""

# KEYS: the timeline, the request. ARGV: how many entries the status was folded from, the status.
_SET_STATUS = """
if redis.call('HLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'status', ARGV[2])
redis.call('HDEL', KEYS[2], 'status_stale')
return 1
"""


@dataclass
class Restored:
    """A request as a rebuild reads it off the log: its first submission, its timeline by event id."""

    submitted: RequestSubmitted | None = None
    timeline: dict[str, TimelineEntry] = field(default_factory=dict)


def _fields(event: RequestSubmitted) -> dict[FieldT, EncodableT]:
    return {"id": event.request_id, "submitted_at": event.submitted_at.isoformat(),
            "submitted_by": event.submitted_by, "requester_id": event.request.requester.id,
            "lane": event.request.requester.type}


def _queue_append(pipe: Pipeline, request_id: str, entry: TimelineEntry) -> None:
    """``_APPEND`` of one entry, queued: answers 1 when the request's status is to be folded again."""
    pipe.eval(_APPEND, 2, _timeline_key(request_id), _request_key(request_id), entry.event_id,
              json.dumps(entry.as_dict()), int(entry.type in STATUS_AFTER and entry.changes_status))


class RequestStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.merges = MergeClaims(redis)

    async def save_submitted(self, event_id: str, event_time: datetime, event: RequestSubmitted) -> None:
        """Idempotent, and never changes a request that exists: the POST and the consumed event both call it.
        The record and its timeline entry in one round trip; the status folded after it (two more)."""
        request_id = event.request_id
        entry = TimelineEntry.of(event_id, event_time, event, event.model_dump(mode="json"))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.eval(_SUBMIT, 2, _request_key(request_id), _INDEX, event.request.model_dump_json(),
                      json.dumps(_fields(event)), request_id, event.submitted_at.timestamp())
            _queue_append(pipe, request_id, entry)
            _, stale = await pipe.execute()
        if stale:
            await self._refresh([request_id])

    async def append(self, request_id: str, entry: TimelineEntry) -> None:
        """Add a lifecycle event once (keyed by event id) and refresh the stored status if it can change it."""
        await self.append_all([(request_id, entry)])

    async def append_all(self, entries: Sequence[tuple[str, TimelineEntry]]) -> None:
        """``append`` for a run of entries, in three round trips however many: add them, then read the
        timelines whose status may have changed, then write those statuses."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for request_id, entry in entries:
                _queue_append(pipe, request_id, entry)
            added = await pipe.execute()
        # A notice, a re-classification: the status is folded from status changes only.
        await self._refresh(list(dict.fromkeys(rid for (rid, _), stale in zip(entries, added, strict=True) if stale)))

    async def _refresh(self, request_ids: list[str]) -> None:
        """Fold each request's status off its whole timeline. Another entry of the same request may land
        meanwhile (on another instance, or a merge naming it): a status is written only if its timeline
        did not grow since it was read (entries are only ever added), else it is read again."""
        while request_ids:
            async with self._redis.pipeline(transaction=False) as pipe:
                for request_id in request_ids:
                    pipe.hvals(_timeline_key(request_id))
                timelines = cast(list[list[str]], await pipe.execute())
            async with self._redis.pipeline(transaction=False) as pipe:
                for request_id, rows in zip(request_ids, timelines, strict=True):
                    status = current_status(sorted((TimelineEntry.from_dict(json.loads(r)) for r in rows),
                                                   key=lambda e: e.time))
                    pipe.eval(_SET_STATUS, 2, _timeline_key(request_id), _request_key(request_id), len(rows), status)
                written = await pipe.execute()
            request_ids = [rid for rid, done in zip(request_ids, written, strict=True) if not done]

    async def restore(self, requests: Mapping[str, Restored], batch: int = 500) -> None:
        """Write requests as a rebuild found them on the log into wiped keys, ``batch`` requests a round trip:
        the same record, index entry, timeline and status that ``save_submitted`` and ``append`` leave."""
        found = list(requests.items())
        for first in range(0, len(found), batch):
            async with self._redis.pipeline(transaction=False) as pipe:
                for request_id, request in found[first:first + batch]:
                    key = _request_key(request_id)
                    if request.submitted is not None:
                        pipe.hset(key, mapping={"request": request.submitted.request.model_dump_json(),
                                                **_fields(request.submitted)})
                        pipe.zadd(_INDEX, {request_id: request.submitted.submitted_at.timestamp()})
                    if request.timeline:
                        pipe.hset(_timeline_key(request_id), mapping={
                            event_id: json.dumps(entry.as_dict()) for event_id, entry in request.timeline.items()})
                        pipe.hset(key, "status", current_status(request.timeline.values()))
                await pipe.execute()

    async def posted_by(self, request_ids: set[str]) -> dict[str, str | None]:
        """The tool that posted each request (None for one intake does not know)."""
        ordered = sorted(request_ids)
        async with self._redis.pipeline(transaction=False) as pipe:
            for request_id in ordered:
                pipe.hget(_request_key(request_id), "submitted_by")
            found: list[str | None] = await pipe.execute()
        return dict(zip(ordered, found, strict=True))

    async def timeline(self, request_id: str) -> list[TimelineEntry]:
        rows = await self._redis.hvals(_timeline_key(request_id))
        return sorted((TimelineEntry.from_dict(json.loads(r)) for r in rows), key=lambda e: e.time)

    async def get(self, request_id: str) -> dict[str, Any] | None:
        record = await self._redis.hgetall(_request_key(request_id))
        if not record or "request" not in record:
            return None
        timeline = await self.timeline(request_id)
        return {
            "id": record["id"],
            "status": current_status(timeline),
            "lane": record["lane"],
            "submitted_at": record["submitted_at"],
            "submitted_by": record["submitted_by"],
            "request": json.loads(record["request"]),
            "timeline": [e.as_dict() for e in timeline],
        }

    async def page(self, *, after: float | None, limit: int, requester_id: str | None,
                   status: str | None, lane: str | None,
                   submitted_by: str | None = None) -> tuple[list[dict[str, Any]], float | None]:
        """Newest first; filters apply to the stored status, lane, requester and posting tool."""
        items: list[dict[str, Any]] = []
        upper: str = f"({after}" if after is not None else "+inf"
        cursor: float | None = None
        while len(items) < limit:
            batch = cast(list[tuple[str, float]], await self._redis.zrevrangebyscore(
                _INDEX, upper, "-inf", start=0, num=limit * 4, withscores=True))
            if not batch:
                return items, None
            async with self._redis.pipeline(transaction=False) as pipe:
                for request_id, _ in batch:
                    pipe.hmget(_request_key(request_id), "id", "status", "lane", "requester_id",
                               "submitted_at", "request", "submitted_by")
                rows: list[list[str | None]] = await pipe.execute()
            for (_, score), row in zip(batch, rows, strict=True):
                cursor = score
                rid, st, ln, req_id, submitted_at, request, by = row
                if rid is None or request is None:
                    continue
                if ((status and st != status) or (lane and ln != lane)
                        or (requester_id and req_id != requester_id) or (submitted_by and by != submitted_by)):
                    continue
                items.append({"id": rid, "status": st or "submitted", "lane": ln,
                              "submitted_at": submitted_at, "title": json.loads(request)["title"]})
                if len(items) == limit:
                    return items, cursor
            upper = f"({cursor}"
        return items, cursor

"""Classifier's Redis state: every published version of each quarter's OKR set, and the open requests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.lock import Lock

from classifier.domain import OkrSet, OpenRequest
from shared.events import RequestDetails

OPEN = "classifier:open"
CLOSED = "classifier:closed"
# Each open request's sentence vector (similarity), base64 float32, under the name of the vectors' space: what
# was embedded, and how (``classifier.similarity.detector.space``), as ``vectors_key`` names it. Vectors of another
# space are never compared with these: after a change of model or of what it reads, the classifier drops them at
# start and embeds each open request again.
VECTORS = "classifier:vectors"
# A stream naming each open request as it is put or closed, in order: a reader of the open requests reads
# only what changed since it last looked, not all of them on every submission.
CHANGES = "classifier:open-changes"
_CHANGES_KEPT = 100_000


def _versions_key(quarter: str) -> str:
    return f"classifier:okrs:{quarter}"


def vectors_key(space: str) -> str:
    return f"{VECTORS}:{space}"


class OkrStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def publishing(self, quarter: str) -> Lock:
        return self._redis.lock(f"classifier:publishing:{quarter}", timeout=30, blocking_timeout=30)

    async def latest(self, quarter: str) -> OkrSet | None:
        raw = await self._redis.hget(_versions_key(quarter), "latest")
        if raw is None:
            return None
        return await self.version(quarter, int(raw))

    async def version(self, quarter: str, version: int) -> OkrSet | None:
        raw = await self._redis.hget(_versions_key(quarter), f"v{version}")
        return None if raw is None else OkrSet.model_validate_json(raw)

    async def versions(self, quarter: str) -> list[int]:
        fields = cast(list[str], await self._redis.hkeys(_versions_key(quarter)))
        return sorted(int(f[1:]) for f in fields if f.startswith("v"))

    async def save(self, okrs: OkrSet) -> None:
        """Idempotent: keeps every version, and ``latest`` never goes back."""
        key = _versions_key(okrs.quarter)
        await self._redis.hsetnx(key, f"v{okrs.version}", okrs.model_dump_json())
        latest = await self._redis.hget(key, "latest")
        if latest is None or int(latest) < okrs.version:
            await self._redis.hset(key, "latest", okrs.version)


class OpenRequests:
    """Requests to classify again when another OKR set becomes current."""

    def __init__(self, redis: Redis, space: str) -> None:
        self._redis = redis
        self._vectors = vectors_key(space)
        # Each open request as last parsed, by its stored JSON: a request read again unchanged (the usual
        # case: every submission reads them all) is not validated again.
        self._parsed: dict[str, tuple[str, OpenRequest]] = {}
        self._seen: str | None = None  # the last change of ``CHANGES`` taken in

    def lock(self) -> Lock:
        return self._redis.lock("classifier:rollover-lock", timeout=60, blocking_timeout=90)

    def put(self, pipe: Pipeline, request: OpenRequest, vector: str | None = None) -> None:
        pipe.hset(OPEN, request.request_id, _stored(request))
        if vector is not None:
            pipe.hset(self._vectors, request.request_id, vector)
        pipe.xadd(CHANGES, {"id": request.request_id}, maxlen=_CHANGES_KEPT, approximate=True)

    async def close(self, request_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(OPEN, request_id)
            pipe.hdel(self._vectors, request_id)
            pipe.sadd(CLOSED, request_id)
            pipe.xadd(CHANGES, {"id": request_id}, maxlen=_CHANGES_KEPT, approximate=True)
            await pipe.execute()

    async def restore(self, still_open: list[OpenRequest], closed: set[str], batch: int = 1000,
                      vectors: dict[str, str] | None = None) -> None:
        """Write what a rebuild found into wiped keys: the same entries ``keep`` and ``close`` leave."""
        members = sorted(closed)
        vectors = vectors or {}
        for first in range(0, max(len(still_open), len(members)), batch):
            async with self._redis.pipeline(transaction=False) as pipe:
                for request in still_open[first:first + batch]:
                    self.put(pipe, request, vectors.get(request.request_id))
                if members[first:first + batch]:
                    pipe.sadd(CLOSED, *members[first:first + batch])
                await pipe.execute()

    async def is_closed(self, request_id: str) -> bool:
        return bool(await self._redis.sismember(CLOSED, request_id))

    async def all(self) -> list[OpenRequest]:
        """Every open request: those changed since the last look are read again (``CHANGES``); all of them
        only the first time, or when the count kept here no longer matches Redis's (a wipe, a trimmed log)."""
        if self._seen is None:
            return await self._reload()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xrange(CHANGES, min=f"({self._seen}", max="+")
            pipe.xrange(CHANGES, min="-", max="+", count=1)
            pipe.hlen(OPEN)
            changes, first, size = cast(tuple[list[tuple[str, dict[str, str]]], list[tuple[str, Any]], int],
                                        await pipe.execute())
        if first and _position(first[0][0]) > _position(self._seen):  # what came after our look was trimmed
            return await self._reload()
        changed = list(dict.fromkeys(fields["id"] for _, fields in changes))
        if changed:
            rows = cast(list[str | None], await self._redis.hmget(OPEN, changed))
            for request_id, raw in zip(changed, rows, strict=True):
                self._take(request_id, raw)
            self._seen = changes[-1][0]
        if len(self._parsed) != size:
            return await self._reload()
        return [request for _, request in self._parsed.values()]

    async def _reload(self) -> list[OpenRequest]:
        last = cast(list[tuple[str, Any]], await self._redis.xrevrange(CHANGES, count=1))
        rows = cast(dict[str, str], await self._redis.hgetall(OPEN))
        for gone in set(self._parsed) - set(rows):
            del self._parsed[gone]
        for request_id, raw in rows.items():
            self._take(request_id, raw)
        self._seen = last[0][0] if last else "0-0"
        return [request for _, request in self._parsed.values()]

    def _take(self, request_id: str, raw: str | None) -> None:
        if raw is None:
            self._parsed.pop(request_id, None)
            return
        kept = self._parsed.get(request_id)
        if kept is None or kept[0] != raw:
            self._parsed[request_id] = (raw, _parse(request_id, raw))

    async def vectors(self, request_ids: list[str]) -> dict[str, str]:
        """The kept sentence vectors of these requests (those that have one)."""
        if not request_ids:
            return {}
        found = cast(list[str | None], await self._redis.hmget(self._vectors, request_ids))
        return {i: v for i, v in zip(request_ids, found, strict=True) if v is not None}

    async def forget_other_spaces(self) -> int:
        """Drop the vectors of every other space (another model, or text it read otherwise); answers how many
        spaces were dropped. Their requests are embedded again in this one (``Similarity.warm``)."""
        others = [key async for key in self._redis.scan_iter(match=f"{VECTORS}*") if key != self._vectors]
        if others:
            await self._redis.delete(*others)
        return len(others)

    async def keep_vectors(self, vectors: dict[str, str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for request_id, vector in vectors.items():
                pipe.hset(self._vectors, request_id, vector)
            await pipe.execute()

    async def keep(self, updated: list[OpenRequest]) -> None:
        """Keep open requests with their (new) objective and the set they were classified under; one closed
        since it was read (withdrawn, done or merged while a rollover ran: ``close`` does not wait for the
        rollover's lock) stays closed."""
        if not updated:
            return
        await self._redis.eval(_KEEP_OPEN, 3, OPEN, CLOSED, CHANGES, _CHANGES_KEPT,
                               *(value for r in updated for value in (r.request_id, _stored(r))))


# Rewrites only entries still open and not closed; each rewrite is named on the changes stream, as ``put`` does.
_KEEP_OPEN = """
for i = 2, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 and redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], '*', 'id', ARGV[i])
  end
end
return 1
"""


def _stored(request: OpenRequest) -> str:
    return json.dumps({
        "details": request.details.model_dump(mode="json"),
        "submitted_at": request.submitted_at.isoformat(), "objective_id": request.objective_id,
        "objective_rank": request.objective_rank, "classified_under": request.classified_under,
        "submitted_by": request.submitted_by})


def _parse(request_id: str, raw: str) -> OpenRequest:
    data = json.loads(raw)
    return OpenRequest(request_id, RequestDetails.model_validate(data["details"]),
                       datetime.fromisoformat(data["submitted_at"]), data["objective_id"], data.get("objective_rank"),
                       data.get("classified_under"), data.get("submitted_by"))


def _position(stream_id: str) -> tuple[int, int]:
    millis, _, sequence = stream_id.partition("-")
    return int(millis), int(sequence or 0)

"""Idempotency-Key for POSTs that create something (IETF httpapi draft semantics).

The same key with the same body replays the first answer (``Idempotent-Replayed:
true``); with another body it is 422; while the first is still in flight, 409.
Completed answers are kept 48 hours; an in-flight claim expires after a minute so
a crashed attempt does not block the key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from shared.problems import Problem

__all__ = ["IdempotencyKeys", "StoredAnswer", "fingerprint"]

DONE_TTL_S = 48 * 3600
IN_FLIGHT_TTL_S = 60


def fingerprint(body: bytes) -> str:
    """Hash of the body as JSON, so whitespace and key order do not matter."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]


class IdempotencyKeys:
    def __init__(self, redis: Redis, service: str) -> None:
        self._redis = redis
        self._prefix = f"{service}:idempotency:"

    def _key(self, caller: str, key: str) -> str:
        return f"{self._prefix}{caller}:{key}"

    async def begin(self, caller: str, key: str, body_hash: str) -> StoredAnswer | None:
        """Claim ``key``; return the stored answer to replay, or None to go ahead."""
        if not 1 <= len(key) <= 255:
            raise Problem(400, "Idempotency-Key must be 1 to 255 characters.")
        claim = json.dumps({"state": "in_flight", "fingerprint": body_hash})
        if await self._redis.set(self._key(caller, key), claim, nx=True, ex=IN_FLIGHT_TTL_S):
            return None
        raw = await self._redis.get(self._key(caller, key))
        if raw is None:  # expired between the two calls
            return await self.begin(caller, key, body_hash)
        stored = json.loads(raw)
        if stored["fingerprint"] != body_hash:
            raise Problem(422, "This Idempotency-Key was already used with a different body.",
                          type_="https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/")
        if stored["state"] == "in_flight":
            raise Problem(409, "A request with this Idempotency-Key is still being processed.",
                          headers={"Retry-After": "1"})
        return StoredAnswer(stored["status"], stored["body"])

    async def complete(self, caller: str, key: str, body_hash: str, answer: StoredAnswer) -> None:
        value = json.dumps({"state": "done", "fingerprint": body_hash,
                            "status": answer.status, "body": answer.body})
        await self._redis.set(self._key(caller, key), value, ex=DONE_TTL_S)

    async def abandon(self, caller: str, key: str) -> None:
        """Release the claim after a failure, so the client may retry with the same key."""
        await self._redis.delete(self._key(caller, key))

"""Webhook subscriptions: where to send which event types, and the secret that signs them.

Secrets are Standard Webhooks secrets, ``whsec_`` and the base64 of 24 to 64 random bytes. A
subscription is ``active`` until deleted or until its endpoint answers 410 Gone (``disabled``).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, cast

from redis.asyncio import Redis

from notifier.domain import subscribed

__all__ = ["Subscription", "SubscriptionStore", "check_secret", "masked", "new_secret"]

SECRET_PREFIX = "whsec_"
_RECORDS = "notifier:subscription"
_ORDER = "notifier:subscriptions"
_SEQ = "notifier:subscription-seq"
_CREATE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
return 1
"""
_REPLACE_IF_PRESENT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> None:
    """Raise ValueError unless ``secret`` is ``whsec_`` and the base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"A secret starts with {SECRET_PREFIX!r} followed by base64.")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"The part after {SECRET_PREFIX!r} is not valid base64.") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError(f"A secret is 24 to 64 bytes of random data; this one is {len(key)}.")


def masked(secret: str) -> str:
    return f"{SECRET_PREFIX}…{secret[-4:]}"


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    event_types: list[str]
    secret: str
    created_at: str
    created_by: str
    status: Literal["active", "disabled"] = "active"
    disabled_at: str | None = None
    disabled_reason: str | None = None

    def public(self, *, with_secret: bool = False) -> dict[str, Any]:
        shown = asdict(self)
        shown["secret"] = self.secret if with_secret else masked(self.secret)
        return shown


class SubscriptionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def create(self, subscription: Subscription) -> bool:
        """Store a new subscription; False when one with that id exists already."""
        created = await self._redis.eval(_CREATE, 3, _RECORDS, _ORDER, _SEQ, subscription.id,
                                         json.dumps(asdict(subscription)))
        return bool(created)

    async def get(self, subscription_id: str) -> Subscription | None:
        raw = await self._redis.hget(_RECORDS, subscription_id)
        return None if raw is None else Subscription(**json.loads(raw))

    async def page(self, *, limit: int, after: int | None) -> tuple[list[Subscription], int | None]:
        """Oldest first, ``limit`` at a time; the cursor is the position of the last one given."""
        low = f"({after}" if after is not None else "-inf"
        found = cast(list[tuple[str, float]], await self._redis.zrangebyscore(
            _ORDER, low, "+inf", start=0, num=limit + 1, withscores=True))
        page = found[:limit]
        records = cast(list[str | None], await self._redis.hmget(_RECORDS, [i for i, _ in page])) if page else []
        items = [Subscription(**json.loads(r)) for r in records if r is not None]
        return items, (int(page[-1][1]) if len(found) > limit else None)

    async def delete(self, subscription_id: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(_RECORDS, subscription_id)
            pipe.zrem(_ORDER, subscription_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def disable(self, subscription_id: str, *, at: str, reason: str) -> Subscription | None:
        found = await self.get(subscription_id)
        if found is None or found.status == "disabled":
            return found
        disabled = replace(found, status="disabled", disabled_at=at, disabled_reason=reason)
        replaced = await self._redis.eval(_REPLACE_IF_PRESENT, 1, _RECORDS, subscription_id,
                                          json.dumps(asdict(disabled)))
        return disabled if replaced else None

    async def matching(self, event_type: str) -> list[Subscription]:
        """Active subscriptions that want events of ``event_type``."""
        rows = [Subscription(**json.loads(r)) for r in cast(list[str], await self._redis.hvals(_RECORDS))]
        return sorted((s for s in rows if s.status == "active" and subscribed(s.event_types, event_type)),
                      key=lambda s: s.id)

"""Webhook subscriptions: where to send which event types, and the secret that signs them.

Secrets are Standard Webhooks secrets, ``whsec_`` and the base64 of 24 to 64 random bytes. A
subscription is ``active`` until deleted or until its endpoint answers 410 Gone (``disabled``).

Every change bumps the subscription's revision and marks it unpublished in the same script; the
journal (``notifier.journal``) puts it on the log with its secret sealed, a deleted one as its deleted
state, and a rebuild puts it back (``restore``).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, cast

from redis.asyncio import Redis

from notifier.domain import subscribed
from notifier.journal import UNPUBLISHED, Journal, SubscriptionRecorded
from notifier.webhooks.scripts import AT_LEAST
from notifier.webhooks.sealed import Sealer

__all__ = ["Subscription", "SubscriptionStore", "check_secret", "masked", "new_secret"]

SECRET_PREFIX = "whsec_"
_RECORDS = "notifier:subscription"
_ORDER = "notifier:subscriptions"
_SEQ = "notifier:subscription-seq"
_REVISIONS = "notifier:subscription-rev"
_DELETED = "notifier:subscription-deleted"  # id -> when, until the log has it (and for a rebuild to see)
KIND = "subscription"
# KEYS (every script): records, order, seq, revisions, deleted, unpublished. ARGV: id, then the script's own.
_CREATE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('SADD', KEYS[6], 'subscription:' .. ARGV[1])
return 1
"""
_REPLACE_IF_PRESENT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('SADD', KEYS[6], 'subscription:' .. ARGV[1])
return 1
"""
# Replace only the record as it was read (ARGV[3]): a change meanwhile (a 410 disabling it) is not undone.
_REPLACE_IF_UNCHANGED = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('SADD', KEYS[6], 'subscription:' .. ARGV[1])
return 1
"""
_DELETE = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[5], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
redis.call('SADD', KEYS[6], 'subscription:' .. ARGV[1])
return 1
"""
_KEYS = (_RECORDS, _ORDER, _SEQ, _REVISIONS, _DELETED, UNPUBLISHED)


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
    """``journal`` and ``sealer``: where changes are published, and what seals secrets for it (none in a
    rebuild, which only restores)."""

    def __init__(self, redis: Redis, journal: Journal | None = None, sealer: Sealer | None = None) -> None:
        self._redis = redis
        self._journal = journal
        self._sealer = sealer
        if journal is not None:
            journal.track(KIND, self)

    async def create(self, subscription: Subscription) -> bool:
        """Store a new subscription; False when one with that id exists already."""
        created = await self._redis.eval(_CREATE, len(_KEYS), *_KEYS, subscription.id,
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

    async def delete(self, subscription_id: str, *, at: str) -> bool:
        return bool(await self._redis.eval(_DELETE, len(_KEYS), *_KEYS, subscription_id, at))

    async def disable(self, subscription_id: str, *, at: str, reason: str) -> Subscription | None:
        found = await self.get(subscription_id)
        if found is None or found.status == "disabled":
            return found
        disabled = replace(found, status="disabled", disabled_at=at, disabled_reason=reason)
        replaced = await self._redis.eval(_REPLACE_IF_PRESENT, len(_KEYS), *_KEYS, subscription_id,
                                          json.dumps(asdict(disabled)))
        return disabled if replaced else None

    async def replace_secret(self, subscription_id: str, secret: str) -> Subscription | None:
        """Sign with ``secret`` from now on; on the log (sealed) like any change, so a rebuild keeps it. None
        when the subscription is gone."""
        while True:
            raw = await self._redis.hget(_RECORDS, subscription_id)
            if raw is None:
                return None
            renewed = replace(Subscription(**json.loads(raw)), secret=secret)
            if await self._redis.eval(_REPLACE_IF_UNCHANGED, len(_KEYS), *_KEYS, subscription_id,
                                      json.dumps(asdict(renewed)), raw):
                return renewed

    async def matching(self, event_types: Iterable[str]) -> dict[str, list[Subscription]]:
        """For each of ``event_types``, the active subscriptions that want events of it (one read)."""
        rows = [Subscription(**json.loads(r)) for r in cast(list[str], await self._redis.hvals(_RECORDS))]
        active = sorted((s for s in rows if s.status == "active"), key=lambda s: s.id)
        return {kind: [s for s in active if subscribed(s.event_types, kind)] for kind in event_types}

    async def announce(self, subscription_id: str) -> None:
        """Put the subscription's change on the log (if it is not there yet); raises what publishing raises."""
        if self._journal is not None:
            await self._journal.announce(KIND, [subscription_id])

    def revision_of(self, record_id: str) -> tuple[str, str]:
        return _REVISIONS, record_id

    async def snapshots(self, record_ids: Sequence[str]) -> list[SubscriptionRecorded | None]:
        # One at a time: subscriptions change a few times a day, never in a burst worth a pipeline.
        return [await self.snapshot(one) for one in record_ids]

    async def snapshot(self, record_id: str) -> SubscriptionRecorded | None:
        """The subscription as the log should have it, its secret sealed."""
        assert self._sealer is not None, "a store that publishes needs a sealer"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(_REVISIONS, record_id)
            pipe.hget(_RECORDS, record_id)
            pipe.zscore(_ORDER, record_id)
            pipe.hget(_DELETED, record_id)
            revision, raw, position, deleted_at = await pipe.execute()
        if revision is None:
            return None
        if raw is None:
            return None if deleted_at is None else SubscriptionRecorded(
                revision=int(revision), subscription_id=record_id, status="deleted", deleted_at=deleted_at)
        found = Subscription(**json.loads(raw))
        return SubscriptionRecorded(
            revision=int(revision), subscription_id=found.id, status=found.status,
            position=None if position is None else int(position), url=found.url, event_types=found.event_types,
            sealed_secret=self._sealer.seal(found.secret), created_at=found.created_at, created_by=found.created_by,
            disabled_at=found.disabled_at, disabled_reason=found.disabled_reason)

    async def restore(self, recorded: SubscriptionRecorded, secret: str | None) -> None:
        """Put a subscription back as the log has it (a rebuild); ``secret`` is its secret, unsealed."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_REVISIONS, recorded.subscription_id, recorded.revision)
            if recorded.status == "deleted" or recorded.position is None or secret is None:
                pipe.hset(_DELETED, recorded.subscription_id, recorded.deleted_at or "")
            else:
                restored = Subscription(
                    id=recorded.subscription_id, url=recorded.url or "", event_types=recorded.event_types,
                    secret=secret, created_at=recorded.created_at or "", created_by=recorded.created_by or "",
                    status="disabled" if recorded.status == "disabled" else "active", disabled_at=recorded.disabled_at,
                    disabled_reason=recorded.disabled_reason)
                pipe.hset(_RECORDS, restored.id, json.dumps(asdict(restored)))
                pipe.zadd(_ORDER, {restored.id: recorded.position})
                pipe.eval(AT_LEAST, 1, _SEQ, recorded.position)
            await pipe.execute()

"""Who mail may go to: an allow-list of recipient domains, and a throttle per person.

Checked just before an email is sent, so a tool that names any address it likes cannot make the
team's sender write to it. A refused recipient, or one over the throttle, has the notice finished
as ``not_sent`` with the reason (and announced so on ``notification.sent``); it is never sent.
Throttled notices are dropped with that record, not deferred: deferring would turn a flood into a
slower one that outlives it and queues the person's later, real notices behind it. The team's own
addresses (ops, heat shield) are not throttled.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

from notifier.domain import recipient_refusal
from notifier.drafts import Draft

__all__ = ["WINDOW_S", "Recipients"]

WINDOW_S = 3600.0

# KEYS: the recipient's sends in the window. ARGV: now, window start, limit, notification id, ttl.
# A notice counted once stays allowed (a retry, or a repeat after a crash, is not a new message).
_THROTTLE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1
"""


def _sends_key(address: str) -> str:
    return f"notifier:sent-to:{address.lower()}"


class Recipients:
    def __init__(self, redis: Redis, *, allowed_domains: frozenset[str], limit_per_hour: int,
                 unthrottled: Iterable[str]) -> None:
        self._redis = redis
        self._allowed = allowed_domains
        self._limit = limit_per_hour
        self._unthrottled = frozenset(a.lower() for a in unthrottled)

    def refused(self, draft: Draft) -> str | None:
        """Why this email may not be sent at all; None for a recipient on the allow-list, or not an email."""
        if draft.channel != "email":
            return None
        why = recipient_refusal(draft.recipient, self._allowed)
        return None if why is None else f"refused: {why}"

    async def throttled(self, draft: Draft, now: float) -> str | None:
        """Counts this email against its recipient's hour; why not, when the hour is full."""
        if draft.channel != "email" or draft.recipient.lower() in self._unthrottled:
            return None
        allowed = await self._redis.eval(_THROTTLE, 1, _sends_key(draft.recipient), now, now - WINDOW_S,
                                         self._limit, draft.id, int(WINDOW_S) + 60)
        if allowed:
            return None
        return (f"throttled: {draft.recipient} was already sent {self._limit} email(s) in the last hour "
                "(NOTIFIER_RECIPIENT_LIMIT_PER_HOUR); dropped, not deferred")

    @staticmethod
    async def remember(redis: Redis, address: str, notification_id: str, *, at: float, now: float) -> None:
        """An email sent at ``at`` counts against its recipient's hour again (a rebuild)."""
        key = _sends_key(address)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {notification_id: at})
            pipe.expire(key, max(1, int(at + WINDOW_S + 60 - now)))
            await pipe.execute()

"""Notifier's Redis state: what was said to whom about each request, once per (event, recipient, channel)."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from shared.events import NotificationSent

SENT = "notifier:sent"
# Once per notification id across every subject: mark it sent and list it under its subject, atomically.
_RECORD_ONCE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


def _key(subject: str) -> str:
    return f"notifier:notifications:{subject}"


class NotificationLog:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def record(self, subject: str, sent: NotificationSent) -> bool:
        """True the first time this notification id is recorded, False on a repeat (from any event)."""
        recorded = await self._redis.eval(
            _RECORD_ONCE, 2, SENT, _key(subject), sent.notification_id, sent.model_dump_json())
        return bool(recorded)

    async def for_subject(self, subject: str) -> list[dict[str, Any]]:
        rows = [json.loads(r) for r in await self._redis.hvals(_key(subject))]
        return sorted(rows, key=lambda r: r["sent_at"])

"""What was said to whom: one record per notification, (event or collision, recipient, channel).

Recording is once per notification id, whichever event announces it, and schedules its send in
the same script: a consumed event either leaves every message it causes recorded and due, or
none. The dispatcher then moves each record from ``pending`` to ``sent`` (or ``not_sent`` when
the channel is not configured, or ``failed`` after the last retry).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from notifier.schedule import DUE, Schedule

__all__ = ["Draft", "NotificationLog"]

KIND = "notification"

_RECORD_ONCE = """
local created = 0
for i = 1, (#KEYS - 1) / 2 do
  local record, index = KEYS[2 * i], KEYS[2 * i + 1]
  local id, body = ARGV[2 * i + 1], ARGV[2 * i + 2]
  if redis.call('HSETNX', record, 'body', body) == 1 then
    redis.call('HSET', record, 'status', 'pending', 'attempts', 0, 'failures', 0,
               'created_at', ARGV[2], 'next_attempt_at', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[1], 'notification:' .. id)
    created = created + 1
  end
  redis.call('SADD', index, id)
end
return created
"""


@dataclass(frozen=True)
class Draft:
    """A message ready to send: its words are fixed when the event is consumed."""

    id: str
    subject: str  # the event's subject (the request id), which lists it
    request_id: str | None
    about_event_id: str
    about_event_type: str
    audience: str
    recipient: str
    channel: str
    title: str  # the email's subject line
    text: str  # what is sent on this channel


def _record_key(notification_id: str) -> str:
    return f"notifier:notification:{notification_id}"


def _index_key(subject: str) -> str:
    return f"notifier:notifications:{subject}"


class NotificationLog:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def record(self, drafts: Sequence[Draft], *, now: float, created_at: str) -> int:
        """Record the drafts not seen before and make them due now; answers how many were new."""
        if not drafts:
            return 0
        keys = [DUE]
        args: list[Any] = [now, created_at]
        for draft in drafts:
            keys += [_record_key(draft.id), _index_key(draft.subject)]
            args += [draft.id, json.dumps(asdict(draft))]
        return int(await self._redis.eval(_RECORD_ONCE, len(keys), *keys, *args))

    async def get(self, notification_id: str) -> dict[str, Any] | None:
        raw = cast(dict[str, str], await self._redis.hgetall(_record_key(notification_id)))
        return _public(raw) if raw else None

    async def for_subject(self, subject: str) -> list[dict[str, Any]]:
        ids = sorted(cast(set[str], await self._redis.smembers(_index_key(subject))))
        async with self._redis.pipeline(transaction=False) as pipe:
            for notification_id in ids:
                pipe.hgetall(_record_key(notification_id))
            rows = [_public(raw) for raw in await pipe.execute() if raw]
        return sorted(rows, key=lambda r: (r["created_at"], r["id"]))

    @staticmethod
    def finish(pipe: Pipeline, notification_id: str, status: str, *, at: str, detail: str | None) -> None:
        """Queue on ``pipe``: the last attempt was made (sent, not_sent or failed); nothing is due any more."""
        key = _record_key(notification_id)
        pipe.hset(key, mapping={"status": status, "detail": detail or "", "next_attempt_at": "",
                                **({"sent_at": at} if status == "sent" else {})})
        pipe.hincrby(key, "attempts", 1)
        Schedule.drop(pipe, KIND, notification_id)

    @staticmethod
    def retry(pipe: Pipeline, notification_id: str, *, due: float, due_at: str, failures: int, detail: str) -> None:
        """Queue on ``pipe``: the attempt failed; try again at ``due``."""
        key = _record_key(notification_id)
        pipe.hset(key, mapping={"failures": failures, "detail": detail, "next_attempt_at": due_at})
        pipe.hincrby(key, "attempts", 1)
        Schedule.at(pipe, KIND, notification_id, due)

    async def draft(self, notification_id: str) -> tuple[Draft, str, int] | None:
        """The draft, its status and its failures in a row, for the dispatcher."""
        raw = cast(dict[str, str], await self._redis.hgetall(_record_key(notification_id)))
        if not raw:
            return None
        return Draft(**json.loads(raw["body"])), raw["status"], int(raw.get("failures") or 0)


def _public(raw: dict[str, str]) -> dict[str, Any]:
    body = json.loads(raw["body"])
    return {
        "id": body["id"], "request_id": body["request_id"], "about_event_id": body["about_event_id"],
        "about_event_type": body["about_event_type"], "audience": body["audience"],
        "recipient": body["recipient"], "channel": body["channel"], "subject": body["title"],
        "text": body["text"], "status": raw["status"], "created_at": raw["created_at"],
        "sent_at": raw.get("sent_at") or None, "attempts": int(raw.get("attempts") or 0),
        "next_attempt_at": raw.get("next_attempt_at") or None, "detail": raw.get("detail") or None,
    }

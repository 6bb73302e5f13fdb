"""A notice's record in Redis: its keys, the script that records a run of notices once, and how one hash reads
as the dispatcher, the log and the API see it.

``notifier.store`` runs the script and changes the hashes; this module names them and translates them. A record
holds the draft (``body``), ``status``, ``attempts``, ``failures`` in a row, ``created_at``, ``next_attempt_at``,
``hold_until``, ``detail``, ``sent_at``, ``superseded_by`` (``notifier.threads``) and its revision ``rev``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, cast

from redis.typing import EncodableT, FieldT

from notifier.drafts import Draft, parse_draft
from notifier.journal import NoticeRecorded

__all__ = ["RECORD_ONCE", "Found", "fields_of", "found", "index_key", "public", "record_key", "recorded",
           "withdrawn_key"]

# KEYS: the schedule, the unpublished set, then per draft its record, index, thread and thread's waiting set
# (the record's own key twice when it has no thread). ARGV: created_at, now, then per draft its id, body, due
# score, due time, detail, and its thread's mode ("", "update" or "other") with the thread's last_sent and
# reset_at as they were read when its due time was worked out. Answers how many were new, or -1 when a
# thread changed since it was read (``NotificationLog.record`` reads it again).
RECORD_ONCE = """
for i = 1, (#KEYS - 2) / 4 do
  local thread, a = KEYS[4 * i + 1], 3 + 8 * (i - 1)
  if ARGV[a + 5] == 'update' and redis.call('EXISTS', KEYS[4 * i - 1]) == 0 and
     ((redis.call('HGET', thread, 'last_sent') or '') ~= ARGV[a + 6] or
      (redis.call('HGET', thread, 'reset_at') or '') ~= ARGV[a + 7]) then
    return -1
  end
end
local created = 0
for i = 1, (#KEYS - 2) / 4 do
  local record, index, thread, waiting = KEYS[4 * i - 1], KEYS[4 * i], KEYS[4 * i + 1], KEYS[4 * i + 2]
  local a = 3 + 8 * (i - 1)
  local id, body, mode = ARGV[a], ARGV[a + 1], ARGV[a + 5]
  if redis.call('HSETNX', record, 'body', body) == 1 then
    redis.call('HSET', record, 'status', 'pending', 'attempts', 0, 'failures', 0, 'created_at', ARGV[1],
               'next_attempt_at', ARGV[a + 3], 'hold_until', ARGV[a + 2], 'detail', ARGV[a + 4], 'rev', 1)
    redis.call('ZADD', KEYS[1], ARGV[a + 2], 'notification:' .. id)
    redis.call('SADD', KEYS[2], 'notification:' .. id)
    created = created + 1
    if mode ~= '' then
      -- What still waits in the thread is replaced: due now, the dispatcher finishes it as not sent
      -- (unless an attempt at it is under way: that attempt goes on, and a send that succeeds stays sent).
      for _, old in ipairs(redis.call('SMEMBERS', waiting)) do
        local key, member = 'notification:' .. old, 'notifier:notification:' .. old
        if redis.call('HGET', member, 'status') == 'pending' then
          redis.call('HSET', member, 'superseded_by', id)
          redis.call('HINCRBY', member, 'rev', 1)
          redis.call('SADD', KEYS[2], key)
          if redis.call('EXISTS', 'notifier:lease:' .. key) == 0 then
            redis.call('ZADD', KEYS[1], 'XX', 'LT', ARGV[2], key)
          end
        end
      end
      redis.call('DEL', waiting)
      if mode == 'update' then
        redis.call('SADD', waiting, id)
      elseif tonumber(ARGV[2]) > tonumber(redis.call('HGET', thread, 'reset_at') or '0') then
        redis.call('HSET', thread, 'reset_at', ARGV[2])
      end
    end
  end
  redis.call('SADD', index, id)
end
return created
"""


def record_key(notification_id: str) -> str:
    return f"notifier:notification:{notification_id}"


def index_key(subject: str) -> str:
    return f"notifier:notifications:{subject}"


def withdrawn_key(request_id: str) -> str:
    return f"notifier:withdrawn:{request_id}"


@dataclass(frozen=True)
class Found:
    """A notice as the dispatcher reads it."""

    draft: Draft
    status: str
    failures: int
    superseded_by: str | None


def found(raw: dict[str, str]) -> Found:
    return Found(parse_draft(raw["body"]), raw["status"], int(raw.get("failures") or 0),
                 raw.get("superseded_by") or None)


def recorded(record_id: str, raw: dict[str, str]) -> NoticeRecorded | None:
    """The record as the journal puts it on the log (None: no such record)."""
    if not raw:
        return None
    return NoticeRecorded(
        revision=int(raw.get("rev") or 0), notification_id=record_id, draft=json.loads(raw["body"]),
        status=cast(Any, raw["status"]), attempts=int(raw.get("attempts") or 0),
        failures=int(raw.get("failures") or 0), created_at=raw["created_at"],
        next_attempt_at=raw.get("next_attempt_at") or "", hold_until=raw.get("hold_until") or "0",
        detail=raw.get("detail") or "", sent_at=raw.get("sent_at") or None,
        superseded_by=raw.get("superseded_by") or None)


def fields_of(draft: Draft, recorded: NoticeRecorded) -> dict[FieldT, EncodableT]:
    """The hash a record read from the log is put back as (a rebuild)."""
    return {
        "body": json.dumps(asdict(draft)), "status": recorded.status, "attempts": recorded.attempts,
        "failures": recorded.failures, "created_at": recorded.created_at,
        "next_attempt_at": recorded.next_attempt_at, "hold_until": recorded.hold_until,
        "detail": recorded.detail, "rev": recorded.revision,
        **({"sent_at": recorded.sent_at} if recorded.sent_at else {}),
        **({"superseded_by": recorded.superseded_by} if recorded.superseded_by else {})}


def public(raw: dict[str, str]) -> dict[str, Any]:
    """The record as ``GET /v1/notifications`` shows it."""
    body = json.loads(raw["body"])
    return {
        "id": body["id"], "request_id": body["request_id"], "about_event_id": body["about_event_id"],
        "about_event_type": body["about_event_type"], "audience": body["audience"],
        "recipient": body["recipient"], "channel": body["channel"], "subject": body["title"],
        "text": body["text"], "status": raw["status"], "created_at": raw["created_at"],
        "sent_at": raw.get("sent_at") or None, "attempts": int(raw.get("attempts") or 0),
        "next_attempt_at": raw.get("next_attempt_at") or None, "detail": raw.get("detail") or None,
        # an update replaced while an attempt at it was under way was sent all the same: nothing replaced it
        "superseded_by": None if raw["status"] == "sent" else raw.get("superseded_by") or None,
    }

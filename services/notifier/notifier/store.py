"""What was said to whom: one record per notification, (event or collision, recipient, channel).

Recording is once per notification id, whichever event announces it, and schedules its send in
the same script: a consumed event either leaves every message it causes recorded and due, or
none. The dispatcher then moves each record from ``pending`` to ``sent`` (or ``not_sent`` when
the channel is not configured, the recipient is refused or the request was withdrawn, or
``failed`` after the last retry).

A notice told after others (``after``: an escalation's requester and ops, behind the heat-shield
manager) is due at its hold's end; the first-told notice, once finished, makes the ones it holds
(``releases``) due at once, in the same transaction that finishes it.

A requester's notices about one request on one channel are a thread (``Draft.thread``). Its updates (the
expected start moved: ``notifier.domain.UPDATES``) coalesce: the first goes at once, one within the window
after the last one sent waits for the window's end, and a newer notice of the thread replaces whatever
update still waits (``superseded_by``: the dispatcher finishes it as not sent). Any other notice of the
thread goes at once and opens the window again (``reset_at``). The thread's hash keeps ``last_sent`` and
``reset_at``, its set the update waiting; a rebuild puts both back from the notices (``restore``).

Each change of a record bumps its revision and marks it unpublished: the journal (``notifier.journal``)
mirrors it to the log, and a rebuild puts it back (``restore``), pending ones due again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from opentelemetry.context import Context
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from notifier.domain import update_due
from notifier.drafts import Draft, parse_draft
from notifier.journal import UNPUBLISHED, Journal, NoticeRecorded, member
from notifier.sending.schedule import DUE, TRACES, Claim, Schedule, job
from shared.batches import trace_of

__all__ = ["SUPERSEDED", "UPDATE_DETAIL", "Draft", "Found", "NotificationLog"]

KIND = "notification"
_RECORD_TRIES = 5
WITHDRAWN_TTL_S = 400 * 24 * 3600

# KEYS: the schedule, the unpublished set, then per draft its record, index, thread and thread's waiting set
# (the record's own key twice when it has no thread). ARGV: created_at, now, then per draft its id, body, due
# score, due time, detail, and its thread's mode ("", "update" or "other") with the thread's last_sent and
# reset_at as they were read when its due time was worked out. Answers how many were new, or -1 when a
# thread changed since it was read (``record`` reads it again).
_RECORD_ONCE = """
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
# KEYS: a thread. ARGV: a field, an epoch: the field becomes the epoch if that is later than what it holds.
_LATEST = """
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 0
"""
HOLD_DETAIL = "waits for the heat-shield manager's notice"
UPDATE_DETAIL = ("an update: waits for the end of the window since the last one (NOTIFIER_UPDATE_WINDOW_S); "
                 "a later update replaces it")
SUPERSEDED = "not sent: a later notice about this request replaced it"
Released = Callable[[list[str | None], float], bool]


@dataclass(frozen=True)
class Found:
    """A notice as the dispatcher reads it."""

    draft: Draft
    status: str
    failures: int
    superseded_by: str | None


def _record_key(notification_id: str) -> str:
    return f"notifier:notification:{notification_id}"


def _index_key(subject: str) -> str:
    return f"notifier:notifications:{subject}"


def _thread_key(thread: str) -> str:
    return f"notifier:thread:{thread}"


def _waiting_key(thread: str) -> str:
    return f"notifier:thread:{thread}:waiting"


def _withdrawn_key(request_id: str) -> str:
    return f"notifier:withdrawn:{request_id}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class NotificationLog:
    def __init__(self, redis: Redis, journal: Journal | None = None, *, update_window_s: float = 0.0) -> None:
        self._redis = redis
        self._journal = journal
        self._update_window_s = update_window_s
        if journal is not None:
            journal.track(KIND, self)

    async def record(self, drafts: Sequence[Draft], *, now: float, created_at: str, hold_s: float = 0.0) -> int:
        """Record the drafts not seen before and make them due now (those told after others: at the latest
        ``hold_s`` from now; an update: at the end of its thread's window); answers how many were new."""
        if not drafts:
            return 0
        for _ in range(_RECORD_TRIES):
            created = await self._record(drafts, now=now, created_at=created_at, hold_s=hold_s)
            if created >= 0:
                return created
        raise WatchError(f"the threads of {len(drafts)} notice(s) kept changing while they were recorded")

    async def _record(self, drafts: Sequence[Draft], *, now: float, created_at: str, hold_s: float) -> int:
        threads = sorted({d.thread for d in drafts if d.thread is not None and d.update})
        seen: dict[str, tuple[str, str]] = {}
        if threads:
            async with self._redis.pipeline(transaction=False) as pipe:
                for thread in threads:
                    pipe.hmget(_thread_key(thread), "last_sent", "reset_at")
                read = cast(list[list[str | None]], await pipe.execute())
            seen = {t: (last or "", reset or "") for t, (last, reset) in zip(threads, read, strict=True)}
        keys = [DUE, UNPUBLISHED]
        args: list[Any] = [created_at, now]
        reset_here: set[str] = set()
        for draft in drafts:
            due, due_at, detail = (now + hold_s, _iso(now + hold_s), HOLD_DETAIL) if draft.after else \
                (now, created_at, "")
            mode, (last, reset) = "", ("", "")
            if draft.thread is not None:
                mode = "update" if draft.update else "other"
                last, reset = seen.get(draft.thread, ("", ""))
                # A notice of the thread earlier in this run resets it as it is recorded, just before.
                since = now if draft.thread in reset_here else float(reset or 0)
                if draft.update and (held := update_due(now, last_sent=float(last or 0), reset_at=since,
                                                        window_s=self._update_window_s)) > now:
                    due, due_at, detail = held, _iso(held), UPDATE_DETAIL
                if not draft.update:
                    reset_here.add(draft.thread)
                keys += [_record_key(draft.id), _index_key(draft.subject), _thread_key(draft.thread),
                         _waiting_key(draft.thread)]
            else:
                keys += [_record_key(draft.id), _index_key(draft.subject), _record_key(draft.id),
                         _record_key(draft.id)]
            args += [draft.id, json.dumps(asdict(draft)), due, due_at, detail, mode, last, reset]
        # Each send continues the trace of the event that caused it: its trace is queued with its job, in
        # the same transaction, so the dispatcher never claims the job before the trace is there.
        async with self._redis.pipeline(transaction=True) as pipe:
            for draft in drafts:  # in a run of events, the trace of the draft's own (``shared.batches``)
                TRACES.queue(pipe, job(KIND, draft.id), trace_of(draft.about_event_id))
            pipe.eval(_RECORD_ONCE, len(keys), *keys, *args)
            *_, created = await pipe.execute()
        return int(created)

    async def hold(self, claim: Claim, draft: Draft, released: Released) -> Literal["held", "released", "stale"]:
        """For a claimed notice told after others: "released" when ``released(their statuses, hold_until)``
        says it may go; otherwise it is due again at its hold's end ("held"). A first-told notice finishing
        meanwhile is seen (its record is watched), so its release is never overwritten."""
        watched = [_record_key(first) for first in draft.after]
        for _ in range(5):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(claim.lease, *watched)
                    if cast(str | None, await pipe.get(claim.lease)) != claim.token:
                        return "stale"
                    statuses = [cast(str | None, await pipe.hget(key, "status")) for key in watched]
                    hold_until = float(cast(str | None, await pipe.hget(_record_key(draft.id), "hold_until")) or 0)
                    if released(statuses, hold_until):
                        return "released"
                    pipe.multi()  # type: ignore[no-untyped-call]
                    Schedule.at(pipe, KIND, draft.id, hold_until)
                    await pipe.execute()
                    return "held"
                except WatchError:
                    continue
        return "stale"  # busy: its lease brings it back

    async def withdraw(self, request_id: str, *, now: float) -> None:
        """The request was withdrawn: mark it, and make its pending notices due now, to be cancelled."""
        await self._redis.set(_withdrawn_key(request_id), "1", ex=WITHDRAWN_TTL_S)
        ids = cast(set[str], await self._redis.smembers(_index_key(request_id)))
        if ids:  # only those still scheduled, never later than they are, and not under way
            await Schedule.due_now(self._redis, KIND, ids, now)

    async def withdrawn(self, request_id: str) -> bool:
        return bool(await self._redis.exists(_withdrawn_key(request_id)))

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
    def finish(pipe: Pipeline, draft: Draft, status: str, *, at: str, detail: str | None, now: float,
               attempted: bool = True) -> None:
        """Queue on ``pipe``: the last attempt was made (sent, not_sent or failed), or none will be; nothing
        is due any more, and the notices it held are due now."""
        key = _record_key(draft.id)
        pipe.hset(key, mapping={"status": status, "detail": detail or "", "next_attempt_at": "",
                                **({"sent_at": at} if status == "sent" else {})})
        if attempted:
            pipe.hincrby(key, "attempts", 1)
        _changed(pipe, draft.id)
        Schedule.drop(pipe, KIND, draft.id)
        if draft.releases:
            Schedule.due_now(pipe, KIND, draft.releases, now)
        if draft.thread is not None:
            pipe.srem(_waiting_key(draft.thread), draft.id)
            if draft.update and status == "sent":
                pipe.eval(_LATEST, 1, _thread_key(draft.thread), "last_sent", now)

    @staticmethod
    def retry(pipe: Pipeline, notification_id: str, *, due: float, due_at: str, failures: int, detail: str) -> None:
        """Queue on ``pipe``: the attempt failed; try again at ``due``."""
        key = _record_key(notification_id)
        pipe.hset(key, mapping={"failures": failures, "detail": detail, "next_attempt_at": due_at})
        pipe.hincrby(key, "attempts", 1)
        _changed(pipe, notification_id)
        Schedule.at(pipe, KIND, notification_id, due)

    async def draft(self, notification_id: str) -> Found | None:
        """The draft, its status, its failures in a row and what replaced it, for the dispatcher."""
        raw = cast(dict[str, str], await self._redis.hgetall(_record_key(notification_id)))
        if not raw:
            return None
        return Found(parse_draft(raw["body"]), raw["status"], int(raw.get("failures") or 0),
                     raw.get("superseded_by") or None)


    async def announce(self, *notification_ids: str, origins: Mapping[str, Context] | None = None) -> None:
        """Put the notices' changes on the log (those not there yet), each in the context ``origins`` gives
        its id (by default the caller's); raises what publishing raises."""
        if self._journal is not None:
            await self._journal.announce(KIND, notification_ids, origins)

    def revision_of(self, record_id: str) -> tuple[str, str]:
        return _record_key(record_id), "rev"

    async def snapshots(self, record_ids: Sequence[str]) -> list[NoticeRecorded | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for one in record_ids:
                pipe.hgetall(_record_key(one))
            found = cast(list[dict[str, str]], await pipe.execute())
        return [_recorded(one, raw) for one, raw in zip(record_ids, found, strict=True)]

    async def restore(self, recorded: NoticeRecorded, *, now: float) -> None:
        """Put a notice back as the log has it (a rebuild). A pending one is due at its next attempt; one
        told after others at once, to be held again unless those are out."""
        draft = parse_draft(json.dumps(recorded.draft))
        key = _record_key(draft.id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={
                "body": json.dumps(asdict(draft)), "status": recorded.status, "attempts": recorded.attempts,
                "failures": recorded.failures, "created_at": recorded.created_at,
                "next_attempt_at": recorded.next_attempt_at, "hold_until": recorded.hold_until,
                "detail": recorded.detail, "rev": recorded.revision,
                **({"sent_at": recorded.sent_at} if recorded.sent_at else {}),
                **({"superseded_by": recorded.superseded_by} if recorded.superseded_by else {})})
            pipe.sadd(_index_key(draft.subject), draft.id)
            if draft.thread is not None:  # the thread's state is the latest of its notices': any order will do
                _restore_thread(pipe, draft, recorded)
            if recorded.status == "pending":
                due = now if draft.after or not recorded.next_attempt_at else \
                    datetime.fromisoformat(recorded.next_attempt_at).timestamp()
                pipe.zadd(DUE, {job(KIND, draft.id): due})
            await pipe.execute()


def _restore_thread(pipe: Pipeline, draft: Draft, recorded: NoticeRecorded) -> None:
    assert draft.thread is not None
    if not draft.update:
        created = datetime.fromisoformat(recorded.created_at).timestamp()
        pipe.eval(_LATEST, 1, _thread_key(draft.thread), "reset_at", created)
    elif recorded.status == "sent" and recorded.sent_at:
        sent = datetime.fromisoformat(recorded.sent_at).timestamp()
        pipe.eval(_LATEST, 1, _thread_key(draft.thread), "last_sent", sent)
    elif recorded.status == "pending" and not recorded.superseded_by:
        pipe.sadd(_waiting_key(draft.thread), draft.id)


def _recorded(record_id: str, raw: dict[str, str]) -> NoticeRecorded | None:
    if not raw:
        return None
    return NoticeRecorded(
        revision=int(raw.get("rev") or 0), notification_id=record_id, draft=json.loads(raw["body"]),
        status=cast(Any, raw["status"]), attempts=int(raw.get("attempts") or 0),
        failures=int(raw.get("failures") or 0), created_at=raw["created_at"],
        next_attempt_at=raw.get("next_attempt_at") or "", hold_until=raw.get("hold_until") or "0",
        detail=raw.get("detail") or "", sent_at=raw.get("sent_at") or None,
        superseded_by=raw.get("superseded_by") or None)


def _changed(pipe: Pipeline, notification_id: str) -> None:
    pipe.hincrby(_record_key(notification_id), "rev", 1)
    pipe.sadd(UNPUBLISHED, member(KIND, notification_id))


def _public(raw: dict[str, str]) -> dict[str, Any]:
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

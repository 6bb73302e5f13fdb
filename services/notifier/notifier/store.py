"""What was said to whom: one record per notification, (event or collision, recipient, channel).

Recording is once per notification id, whichever event announces it, and schedules its send in
the same script: a consumed event either leaves every message it causes recorded and due, or
none. The dispatcher then moves each record from ``pending`` to ``sent`` (or ``not_sent`` when
the channel is not configured, the recipient is refused or the request was withdrawn, or
``failed`` after the last retry).

A notice told after others (``after``: an escalation's requester and ops, behind the heat-shield
manager) is due at its hold's end; the first-told notice, once finished, makes the ones it holds
(``releases``) due at once, in the same transaction that finishes it.

A requester's notices about one request on one channel are a thread (``notifier.threads``), where updates
coalesce: recording checks and changes the thread's state in the same script as the notices.

Each change of a record bumps its revision and marks it unpublished: the journal (``notifier.journal``)
mirrors it to the log, and a rebuild puts it back (``restore``), pending ones due again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Literal, cast

from opentelemetry.context import Context
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from notifier import records, threads
from notifier.drafts import Draft, parse_draft
from notifier.journal import UNPUBLISHED, Journal, NoticeRecorded, member
from notifier.records import Found, index_key, record_key, withdrawn_key
from notifier.sending.schedule import DUE, TRACES, Claim, Schedule, job
from notifier.threads import UPDATE_DETAIL, Threads, thread_key, waiting_key
from shared.batches import trace_of

__all__ = ["Draft", "NotificationLog"]

KIND = "notification"
_RECORD_TRIES = 5
WITHDRAWN_TTL_S = 400 * 24 * 3600

HOLD_DETAIL = "waits for the heat-shield manager's notice"
Released = Callable[[list[str | None], float], bool]


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
        run = await Threads.read(self._redis, drafts, now=now, window_s=self._update_window_s)
        keys = [DUE, UNPUBLISHED]
        args: list[Any] = [created_at, now]
        for draft in drafts:
            due, due_at, detail = (now + hold_s, _iso(now + hold_s), HOLD_DETAIL) if draft.after else \
                (now, created_at, "")
            mode, last, reset = "", "", ""
            if draft.thread is not None:
                slot = run.slot(draft)
                mode, last, reset = slot.mode, slot.last, slot.reset
                if slot.held is not None:
                    due, due_at, detail = slot.held, _iso(slot.held), UPDATE_DETAIL
                keys += [record_key(draft.id), index_key(draft.subject), thread_key(draft.thread),
                         waiting_key(draft.thread)]
            else:
                keys += [record_key(draft.id), index_key(draft.subject), record_key(draft.id),
                         record_key(draft.id)]
            args += [draft.id, json.dumps(asdict(draft)), due, due_at, detail, mode, last, reset]
        # Each send continues the trace of the event that caused it: its trace is queued with its job, in
        # the same transaction, so the dispatcher never claims the job before the trace is there.
        async with self._redis.pipeline(transaction=True) as pipe:
            for draft in drafts:  # in a run of events, the trace of the draft's own (``shared.batches``)
                TRACES.queue(pipe, job(KIND, draft.id), trace_of(draft.about_event_id))
            pipe.eval(records.RECORD_ONCE, len(keys), *keys, *args)
            *_, created = await pipe.execute()
        return int(created)

    async def hold(self, claim: Claim, draft: Draft, released: Released) -> Literal["held", "released", "stale"]:
        """For a claimed notice told after others: "released" when ``released(their statuses, hold_until)``
        says it may go; otherwise it is due again at its hold's end ("held"). A first-told notice finishing
        meanwhile is seen (its record is watched), so its release is never overwritten."""
        watched = [record_key(first) for first in draft.after]
        for _ in range(5):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(claim.lease, *watched)
                    if cast(str | None, await pipe.get(claim.lease)) != claim.token:
                        return "stale"
                    statuses = [cast(str | None, await pipe.hget(key, "status")) for key in watched]
                    hold_until = float(cast(str | None, await pipe.hget(record_key(draft.id), "hold_until")) or 0)
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
        await self._redis.set(withdrawn_key(request_id), "1", ex=WITHDRAWN_TTL_S)
        ids = cast(set[str], await self._redis.smembers(index_key(request_id)))
        if ids:  # only those still scheduled, never later than they are, and not under way
            await Schedule.due_now(self._redis, KIND, ids, now)

    async def withdrawn(self, request_id: str) -> bool:
        return bool(await self._redis.exists(withdrawn_key(request_id)))

    async def get(self, notification_id: str) -> dict[str, Any] | None:
        raw = cast(dict[str, str], await self._redis.hgetall(record_key(notification_id)))
        return records.public(raw) if raw else None

    async def for_subject(self, subject: str) -> list[dict[str, Any]]:
        ids = sorted(cast(set[str], await self._redis.smembers(index_key(subject))))
        async with self._redis.pipeline(transaction=False) as pipe:
            for notification_id in ids:
                pipe.hgetall(record_key(notification_id))
            rows = [records.public(raw) for raw in await pipe.execute() if raw]
        return sorted(rows, key=lambda r: (r["created_at"], r["id"]))

    @staticmethod
    def finish(pipe: Pipeline, draft: Draft, status: str, *, at: str, detail: str | None, now: float,
               attempted: bool = True) -> None:
        """Queue on ``pipe``: the last attempt was made (sent, not_sent or failed), or none will be; nothing
        is due any more, and the notices it held are due now."""
        key = record_key(draft.id)
        pipe.hset(key, mapping={"status": status, "detail": detail or "", "next_attempt_at": "",
                                **({"sent_at": at} if status == "sent" else {})})
        if attempted:
            pipe.hincrby(key, "attempts", 1)
        _changed(pipe, draft.id)
        Schedule.drop(pipe, KIND, draft.id)
        if draft.releases:
            Schedule.due_now(pipe, KIND, draft.releases, now)
        threads.finished(pipe, draft, status, now=now)

    @staticmethod
    def retry(pipe: Pipeline, notification_id: str, *, due: float, due_at: str, failures: int, detail: str) -> None:
        """Queue on ``pipe``: the attempt failed; try again at ``due``."""
        key = record_key(notification_id)
        pipe.hset(key, mapping={"failures": failures, "detail": detail, "next_attempt_at": due_at})
        pipe.hincrby(key, "attempts", 1)
        _changed(pipe, notification_id)
        Schedule.at(pipe, KIND, notification_id, due)

    async def draft(self, notification_id: str) -> Found | None:
        """The draft, its status, its failures in a row and what replaced it, for the dispatcher."""
        raw = cast(dict[str, str], await self._redis.hgetall(record_key(notification_id)))
        return records.found(raw) if raw else None

    async def announce(self, *notification_ids: str, origins: Mapping[str, Context] | None = None) -> None:
        """Put the notices' changes on the log (those not there yet), each in the context ``origins`` gives
        its id (by default the caller's); raises what publishing raises."""
        if self._journal is not None:
            await self._journal.announce(KIND, notification_ids, origins)

    def revision_of(self, record_id: str) -> tuple[str, str]:
        return record_key(record_id), "rev"

    async def snapshots(self, record_ids: Sequence[str]) -> list[NoticeRecorded | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for one in record_ids:
                pipe.hgetall(record_key(one))
            found = cast(list[dict[str, str]], await pipe.execute())
        return [records.recorded(one, raw) for one, raw in zip(record_ids, found, strict=True)]

    async def restore(self, recorded: NoticeRecorded, *, now: float) -> None:
        """Put a notice back as the log has it (a rebuild). A pending one is due at its next attempt; one
        told after others at once, to be held again unless those are out."""
        draft = parse_draft(json.dumps(recorded.draft))
        key = record_key(draft.id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=records.fields_of(draft, recorded))
            pipe.sadd(index_key(draft.subject), draft.id)
            threads.restore(pipe, draft, recorded)
            if recorded.status == "pending":
                due = now if draft.after or not recorded.next_attempt_at else \
                    datetime.fromisoformat(recorded.next_attempt_at).timestamp()
                pipe.zadd(DUE, {job(KIND, draft.id): due})
            await pipe.execute()


def _changed(pipe: Pipeline, notification_id: str) -> None:
    pipe.hincrby(record_key(notification_id), "rev", 1)
    pipe.sadd(UNPUBLISHED, member(KIND, notification_id))


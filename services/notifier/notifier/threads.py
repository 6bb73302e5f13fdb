"""A requester's thread: their notices about one request on one channel (``Draft.thread``), where updates coalesce.

Its updates (the expected start moved: ``notifier.domain.UPDATES``) coalesce: the first goes at once, one within
the window after the last one sent waits for the window's end, and a newer notice of the thread replaces whatever
update still waits (``superseded_by``: the dispatcher finishes it as not sent). Any other notice of the thread goes
at once and opens the window again (``reset_at``). The thread's hash keeps ``last_sent`` and ``reset_at``, its set
the update waiting; a rebuild puts both back from the notices (``restore``). Recording itself, which checks and
changes this state in the same script as the notices, is ``notifier.store``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from notifier.domain import update_due
from notifier.drafts import Draft
from notifier.journal import NoticeRecorded

__all__ = ["SUPERSEDED", "UPDATE_DETAIL", "Slot", "Threads", "finished", "restore", "thread_key", "waiting_key"]

UPDATE_DETAIL = ("an update: waits for the end of the window since the last one (NOTIFIER_UPDATE_WINDOW_S); "
                 "a later update replaces it")
SUPERSEDED = "not sent: a later notice about this request replaced it"

# KEYS: a thread. ARGV: a field, an epoch: the field becomes the epoch if that is later than what it holds.
_LATEST = """
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 0
"""


def thread_key(thread: str) -> str:
    return f"notifier:thread:{thread}"


def waiting_key(thread: str) -> str:
    return f"notifier:thread:{thread}:waiting"


@dataclass(frozen=True)
class Slot:
    """A draft's place in its thread as recording sees it: ``mode`` ("update" or "other"), the thread's
    ``last_sent`` and ``reset_at`` as read (the script checks they have not changed), and when an update
    that must wait is due (None: as any notice)."""

    mode: str
    last: str
    reset: str
    held: float | None


class Threads:
    """The threads of one run of drafts being recorded: read once, in one round trip."""

    def __init__(self, seen: dict[str, tuple[str, str]], *, now: float, window_s: float) -> None:
        self._seen, self._now, self._window_s = seen, now, window_s
        self._reset_here: set[str] = set()

    @classmethod
    async def read(cls, redis: Redis, drafts: Sequence[Draft], *, now: float, window_s: float) -> Threads:
        threads = sorted({d.thread for d in drafts if d.thread is not None and d.update})
        seen: dict[str, tuple[str, str]] = {}
        if threads:
            async with redis.pipeline(transaction=False) as pipe:
                for thread in threads:
                    pipe.hmget(thread_key(thread), "last_sent", "reset_at")
                read = cast(list[list[str | None]], await pipe.execute())
            seen = {t: (last or "", reset or "") for t, (last, reset) in zip(threads, read, strict=True)}
        return cls(seen, now=now, window_s=window_s)

    def slot(self, draft: Draft) -> Slot:
        """Drafts in the run's order: a notice of the thread earlier in the run resets it as it is recorded,
        just before."""
        assert draft.thread is not None
        last, reset = self._seen.get(draft.thread, ("", ""))
        if not draft.update:
            self._reset_here.add(draft.thread)
            return Slot("other", last, reset, None)
        since = self._now if draft.thread in self._reset_here else float(reset or 0)
        due = update_due(self._now, last_sent=float(last or 0), reset_at=since, window_s=self._window_s)
        return Slot("update", last, reset, due if due > self._now else None)


def finished(pipe: Pipeline, draft: Draft, status: str, *, now: float) -> None:
    """Queue on ``pipe``: the draft no longer waits in its thread; a sent update starts the window."""
    if draft.thread is None:
        return
    pipe.srem(waiting_key(draft.thread), draft.id)
    if draft.update and status == "sent":
        pipe.eval(_LATEST, 1, thread_key(draft.thread), "last_sent", now)


def restore(pipe: Pipeline, draft: Draft, recorded: NoticeRecorded) -> None:
    """Queue on ``pipe`` what one notice of the log says of its thread. The thread's state is the latest of its
    notices': any order will do."""
    if draft.thread is None:
        return
    if not draft.update:
        created = datetime.fromisoformat(recorded.created_at).timestamp()
        pipe.eval(_LATEST, 1, thread_key(draft.thread), "reset_at", created)
    elif recorded.status == "sent" and recorded.sent_at:
        sent = datetime.fromisoformat(recorded.sent_at).timestamp()
        pipe.eval(_LATEST, 1, thread_key(draft.thread), "last_sent", sent)
    elif recorded.status == "pending" and not recorded.superseded_by:
        pipe.sadd(waiting_key(draft.thread), draft.id)

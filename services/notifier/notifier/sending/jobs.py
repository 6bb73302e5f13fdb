"""One attempt at one claimed job, and what its outcome means for the record and the schedule.

    notification  email or Slack; sent (then ``notification.sent`` through the outbox), not sent
                  (channel not configured, recipient refused or throttled, request withdrawn, a later
                  notice of its thread replaced it),
                  held while the notices told first are not out, retried on the schedule, or
                  failed after the last retry
    delivery      a signed webhook (``notifier.sending.webhook_job``)

An attempt that cannot succeed (a malformed address) fails at once; one that breaks down for
another reason counts as a failed attempt (``failed``). Every outcome is written only while the
attempt still holds its lease (``Schedule.under_lease``), so a stale attempt changes nothing. Each
outcome is then put on the log (the journal); while Kafka is away, its relay does that later.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from redis.asyncio.client import Pipeline

from notifier.domain import escalation_released, retry_delay, silenced_by_withdrawal
from notifier.drafts import Draft
from notifier.sending.channels import Attempt, EmailChannel, SlackChannel
from notifier.sending.recipients import Recipients
from notifier.sending.schedule import Claim, Schedule
from notifier.store import NotificationLog
from notifier.threads import SUPERSEDED
from shared.envelope import CloudEvent, envelope
from shared.events import NotificationSent
from shared.faults import TRANSIENT
from shared.messaging import EventPublisher
from shared.outbox import Outcomes

__all__ = ["KEPT_BACK", "NotificationJob", "RetryPolicy", "iso_time", "on_the_log", "reason", "recorded"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    schedule_s: Sequence[float]
    jitter: float

    def next_due(self, failures: int, now: float) -> float | None:
        """When to try again after ``failures`` failed attempts in a row, or None: give up."""
        delay = retry_delay(failures, self.schedule_s, self.jitter, random.random())
        return None if delay is None else now + delay


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


async def on_the_log(announced: Awaitable[None], what: str) -> None:
    try:
        await announced
    except TRANSIENT as exc:  # still marked unpublished: the journal's relay puts it on the log
        log.warning("%s reaches the log with the journal's relay: %r", what, exc)


WITHDRAWN = "not sent: the request was withdrawn"
# Why the policy keeps a notice back, in a word (``Recipients`` starts its answers with "refused:" or "throttled:").
KEPT_BACK = ("withdrawn", "superseded", "refused", "throttled")


def reason(why_not: str) -> str:
    """The policy's reason in a word, one of ``KEPT_BACK``, or "other" for a reason worded otherwise."""
    word = {WITHDRAWN: "withdrawn", SUPERSEDED: "superseded"}.get(why_not) or why_not.split(":", 1)[0]
    return word if word in KEPT_BACK else "other"


class NotificationJob:
    def __init__(self, log_: NotificationLog, schedule: Schedule, *, email: EmailChannel,
                 slack: SlackChannel | None, recipients: Recipients, retry: RetryPolicy, outcomes: Outcomes,
                 publisher: EventPublisher, source: str,
                 kept_back: Callable[[str, str], None] = lambda channel, reason: None) -> None:
        self._log = log_
        self._kept_back = kept_back  # counts a notice the policy kept back, by channel and reason
        self._recipients = recipients
        self._schedule = schedule
        self._email = email
        self._slack = slack
        self._retry = retry
        self._outcomes = outcomes
        self._publisher = publisher
        self._source = source

    async def __call__(self, claim: Claim) -> None:
        found = await self._log.draft(claim.id)
        if found is None or found.status != "pending":
            await self._schedule.forget(claim.kind, claim.id)
            return
        draft, failures = found.draft, found.failures
        why_not = SUPERSEDED if found.superseded_by else await self._silenced(draft)
        if why_not is None:
            if draft.after and not await self._released(claim, draft):
                return  # due again when the notices told first are out, or at its hold's end
            why_not = await self._refused(draft)
        if why_not is not None:  # the policy at work, not a fault: the notice's record keeps why
            log.info("notification %s to %s not sent: %s", draft.id, draft.recipient, why_not)
            if await self._finish(claim, draft, "not_sent", _not_sent(why_not), attempted=False):
                self._kept_back(draft.channel, reason(why_not))  # once: a stale attempt's outcome is dropped
            return
        attempt = await self._send(draft)
        if attempt.ok or attempt.skipped:
            await self._finish(claim, draft, "sent" if attempt.ok else "not_sent", attempt)
            return
        await self._failed(claim, draft, failures, attempt, final=attempt.final)

    async def _silenced(self, draft: Draft) -> str | None:
        if draft.request_id and silenced_by_withdrawal(draft.about_event_type) \
                and await self._log.withdrawn(draft.request_id):
            return WITHDRAWN
        return None

    async def _released(self, claim: Claim, draft: Draft) -> bool:
        now = time.time()
        verdict = await self._log.hold(claim, draft, lambda first, until: escalation_released(
            first, now=now, hold_until=until))
        return verdict == "released"

    async def _refused(self, draft: Draft) -> str | None:
        refused = self._recipients.refused(draft)
        if refused is None and self._email.configured:
            refused = await self._recipients.throttled(draft, time.time())
        return refused

    async def failed(self, claim: Claim, error: str) -> None:
        """The attempt broke down (not for want of a channel): it counts as a failed attempt."""
        found = await self._log.draft(claim.id)
        if found is None or found.status != "pending":
            await self._schedule.forget(claim.kind, claim.id)
            return
        draft, failures = found.draft, found.failures
        await self._failed(claim, draft, failures, Attempt(datetime.now(UTC), False, 0, error=error), final=False)

    async def _failed(self, claim: Claim, draft: Draft, failures: int, attempt: Attempt, *, final: bool) -> None:
        # From now, not from the attempt's start: a send that timed out is not due again at once.
        due = None if final else self._retry.next_due(failures + 1, time.time())
        if due is None:
            log.warning("notification %s to %s by %s failed for good: %s", draft.id, draft.recipient,
                        draft.channel, attempt.error)
            await self._finish(claim, draft, "failed", attempt)
            return
        detail = attempt.error or "failed"
        if not await self._schedule.under_lease(claim, lambda pipe: NotificationLog.retry(
                pipe, draft.id, due=due, due_at=iso_time(due), failures=failures + 1, detail=detail)):
            claim.stale(f"failed: {detail}")
            return
        await on_the_log(self._log.announce(draft.id), f"notification {draft.id}")

    async def _send(self, draft: Draft) -> Attempt:
        if draft.channel == "slack" and self._slack is not None:
            return await self._slack.send(draft.sent_text())
        if draft.channel == "slack":
            return Attempt(datetime.now(UTC), False, 0, error="no Slack webhook configured", final=True,
                           skipped=True)
        return await self._email.send(to=draft.recipient, subject=draft.title, text=draft.sent_text(),
                                      message_id=draft.id)

    async def _finish(self, claim: Claim, draft: Draft, status: str, attempt: Attempt, *,
                      attempted: bool = True) -> bool:
        """Record the outcome while the lease holds, and announce it; answers whether it was recorded."""
        at = attempt.at.isoformat()
        announced: list[CloudEvent] = []
        if status != "failed":
            announced.append(envelope(NotificationSent(
                notification_id=draft.id, request_id=draft.request_id, about_event_id=draft.about_event_id,
                about_event_type=draft.about_event_type, recipient=draft.recipient, channel=draft.channel,
                text=draft.text, sent_at=attempt.at, status="sent" if status == "sent" else "not_sent",
                detail=attempt.error, audience=draft.audience, email_subject=draft.title),
                source=self._source, event_id=draft.id))
        outcome = f"sent:{draft.id}"

        def queue(pipe: Pipeline) -> None:
            NotificationLog.finish(pipe, draft, status, at=at, detail=attempt.error, now=time.time(),
                                   attempted=attempted)
            self._outcomes.record(pipe, outcome, announced)

        if not await recorded(lambda: self._schedule.under_lease(claim, queue), f"notification {draft.id}"):
            claim.stale(status)
            return False
        # Side by side: the record on the notifier's topic and the public event share the broker's round trips.
        await asyncio.gather(self._announce(draft.id), self._deliver(outcome, announced, draft.id))
        return True

    async def _announce(self, notification_id: str) -> None:
        # Its own coroutine, so that a gather cancelled before it starts (the notifier stopping) leaves no
        # announcement made and never awaited.
        await on_the_log(self._log.announce(notification_id), f"notification {notification_id}")

    async def _deliver(self, outcome: str, announced: Sequence[CloudEvent], notification_id: str) -> None:
        try:
            await self._outcomes.deliver(outcome, announced, self._publisher)
        except TRANSIENT as exc:  # the outbox relay announces it once Kafka is back
            log.warning("notification.sent for %s stays in the outbox for now: %r", notification_id, exc)


def _not_sent(why: str) -> Attempt:
    return Attempt(datetime.now(UTC), False, 0, error=why, final=True, skipped=True)


_T = TypeVar("_T")
# Well inside the shortest lease a send can hold (LEASE_S at least 2 * SEND_TIMEOUT_S + 10 s, the send taking at
# most SEND_TIMEOUT_S, leaves at least 10 s): past it, the lease may be another attempt's.
RECORD_WITHIN_S = 8.0


async def recorded(write: Callable[[], Awaitable[_T]], what: str, *, within_s: float = RECORD_WITHIN_S) -> _T:
    """The outcome of an attempt that was made, written through a Redis blip: left to its lease, a notice
    that went out would be claimed and sent again. Transient faults are retried with backoff for
    ``within_s``, then raised (the lease brings the job back). A dozen lines, as ``dead_letter`` has: no
    retry library is among the dependencies for this one loop."""
    delay, deadline = 0.05, time.monotonic() + within_s
    while True:
        try:
            return await write()
        except TRANSIENT as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s: cannot record its outcome yet, retrying in %.2fs: %r", what, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

"""One attempt at one claimed job, and what its outcome means for the record and the schedule.

    notification  email or Slack; sent (then ``notification.sent`` through the outbox), not sent
                  (channel not configured), retried on the schedule, or failed after the last retry
    delivery      a signed webhook; any 2xx succeeds, 410 disables the subscription and cancels its
                  pending deliveries, anything else is retried on the schedule, then failed
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from notifier.channels import Attempt, EmailChannel, SlackChannel, WebhookChannel
from notifier.deliveries import DeliveryLog
from notifier.domain import retry_delay, webhook_verdict
from notifier.schedule import Schedule
from notifier.store import Draft, NotificationLog
from notifier.subscriptions import SubscriptionStore
from shared.envelope import CloudEvent, envelope
from shared.events import NotificationSent
from shared.messaging import TRANSIENT, EventPublisher, Outcomes

__all__ = ["DeliveryJob", "NotificationJob", "RetryPolicy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    schedule_s: Sequence[float]
    jitter: float

    def next_due(self, failures: int, now: float) -> float | None:
        """When to try again after ``failures`` failed attempts in a row, or None: give up."""
        delay = retry_delay(failures, self.schedule_s, self.jitter, random.random())
        return None if delay is None else now + delay


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class NotificationJob:
    def __init__(self, redis: Redis, log_: NotificationLog, schedule: Schedule, *, email: EmailChannel,
                 slack: SlackChannel | None, retry: RetryPolicy, outcomes: Outcomes, publisher: EventPublisher,
                 source: str) -> None:
        self._redis = redis
        self._log = log_
        self._schedule = schedule
        self._email = email
        self._slack = slack
        self._retry = retry
        self._outcomes = outcomes
        self._publisher = publisher
        self._source = source

    async def __call__(self, notification_id: str) -> None:
        found = await self._log.draft(notification_id)
        if found is None or found[1] != "pending":
            await self._schedule.forget("notification", notification_id)
            return
        draft, _, failures = found
        attempt = await self._send(draft)
        if attempt.ok or attempt.skipped:
            await self._finish(draft, "sent" if attempt.ok else "not_sent", attempt)
            return
        due = None if attempt.final else self._retry.next_due(failures + 1, attempt.at.timestamp())
        if due is None:
            log.warning("notification %s to %s by %s failed for good: %s", draft.id, draft.recipient,
                        draft.channel, attempt.error)
            await self._finish(draft, "failed", attempt)
            return
        await self._log.retry(draft.id, due=due, due_at=_iso(due), failures=failures + 1,
                              detail=attempt.error or "failed")

    async def _send(self, draft: Draft) -> Attempt:
        if draft.channel == "slack" and self._slack is not None:
            return await self._slack.send(draft.text)
        if draft.channel == "slack":
            return Attempt(datetime.now(UTC), False, 0, error="no Slack webhook configured", final=True,
                           skipped=True)
        return await self._email.send(to=draft.recipient, subject=draft.title, text=draft.text,
                                      message_id=draft.id)

    async def _finish(self, draft: Draft, status: str, attempt: Attempt) -> None:
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
        async with self._redis.pipeline(transaction=True) as pipe:
            NotificationLog.finish(pipe, draft.id, status, at=at, detail=attempt.error)
            self._outcomes.record(pipe, outcome, announced)
            await pipe.execute()
        try:
            await self._outcomes.deliver(outcome, announced, self._publisher)
        except TRANSIENT as exc:  # the outbox relay announces it once Kafka is back
            log.warning("notification.sent for %s stays in the outbox for now: %r", draft.id, exc)


class DeliveryJob:
    def __init__(self, deliveries: DeliveryLog, subscriptions: SubscriptionStore, schedule: Schedule,
                 channel: WebhookChannel, retry: RetryPolicy) -> None:
        self._deliveries = deliveries
        self._subscriptions = subscriptions
        self._schedule = schedule
        self._channel = channel
        self._retry = retry

    async def __call__(self, delivery_id: str) -> None:
        delivery = await self._deliveries.for_attempt(delivery_id)
        if delivery is None or delivery.status != "pending":
            await self._schedule.forget("delivery", delivery_id)
            return
        subscription = await self._subscriptions.get(delivery.subscription_id)
        if subscription is None or subscription.status != "active":
            await self._deliveries.move(delivery_id, delivery.subscription_id, "cancelled",
                                        allowed_from=["pending"], next_attempt_at="")
            return
        attempt = await self._channel.send(url=subscription.url, secret=subscription.secret,
                                           webhook_id=delivery_id, body=delivery.payload)
        record, sub = attempt.as_record(), delivery.subscription_id
        match webhook_verdict(attempt.status_code):
            case "succeeded":
                await self._deliveries.move(delivery_id, sub, "succeeded", allowed_from=["pending"],
                                            attempt=record, failures=0, next_attempt_at="")
            case "gone":
                await self._deliveries.move(delivery_id, sub, "failed", allowed_from=["pending"],
                                            attempt=record, next_attempt_at="")
                await self._disable(sub, at=attempt.at.isoformat())
            case "retry":
                failures = delivery.failures + 1
                due = self._retry.next_due(failures, attempt.at.timestamp())
                if due is None:
                    await self._deliveries.move(delivery_id, sub, "failed", allowed_from=["pending"],
                                                attempt=record, failures=failures, next_attempt_at="")
                else:
                    await self._deliveries.move(delivery_id, sub, "pending", allowed_from=["pending"], due=due,
                                                attempt=record, failures=failures, next_attempt_at=_iso(due))

    async def _disable(self, subscription_id: str, *, at: str) -> None:
        await self._subscriptions.disable(subscription_id, at=at, reason="the endpoint answered 410 Gone")
        log.warning("subscription %s disabled: its endpoint answered 410 Gone", subscription_id)
        for pending in await self._deliveries.pending_of(subscription_id):
            await self._deliveries.move(pending, subscription_id, "cancelled", allowed_from=["pending"],
                                        next_attempt_at="")

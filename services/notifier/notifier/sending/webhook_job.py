"""One attempt at one webhook delivery: any 2xx succeeds, 410 disables the subscription and cancels its
pending deliveries, anything else is retried on the schedule, then failed. As for notices, every
outcome is written only while the attempt holds its lease, then put on the log."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from notifier.domain import webhook_verdict
from notifier.sending.channels import Attempt, WebhookChannel
from notifier.sending.jobs import RetryPolicy, iso_time, on_the_log, recorded
from notifier.sending.schedule import Claim, Schedule
from notifier.webhooks.deliveries import Delivery, DeliveryLog, Status
from notifier.webhooks.subscriptions import SubscriptionStore

__all__ = ["DeliveryJob"]

log = logging.getLogger(__name__)


class DeliveryJob:
    def __init__(self, deliveries: DeliveryLog, subscriptions: SubscriptionStore, schedule: Schedule,
                 channel: WebhookChannel, retry: RetryPolicy) -> None:
        self._deliveries = deliveries
        self._subscriptions = subscriptions
        self._schedule = schedule
        self._channel = channel
        self._retry = retry

    async def __call__(self, claim: Claim) -> None:
        delivery = await self._deliveries.for_attempt(claim.id)
        if delivery is None or delivery.status != "pending":
            await self._schedule.forget(claim.kind, claim.id)
            return
        subscription = await self._subscriptions.get(delivery.subscription_id)
        if subscription is None or subscription.status != "active":
            await self._deliveries.move(claim.id, delivery.subscription_id, "cancelled",
                                        allowed_from=["pending"], next_attempt_at="")
            await on_the_log(self._deliveries.announce(claim.id), f"delivery {claim.id}")
            return
        attempt = await self._channel.send(url=subscription.url, secret=subscription.secret,
                                           webhook_id=claim.id, body=delivery.payload)
        match webhook_verdict(attempt.status_code):
            case "succeeded":
                await self._move(claim, delivery, "succeeded", attempt, failures=0)
            case "gone":
                if await self._move(claim, delivery, "failed", attempt):
                    await self._disable(delivery.subscription_id, at=attempt.at.isoformat())
            case "retry":
                await self._retry_or_fail(claim, delivery, attempt)

    async def failed(self, claim: Claim, error: str) -> None:
        """The attempt broke down: it counts as a failed attempt."""
        delivery = await self._deliveries.for_attempt(claim.id)
        if delivery is None or delivery.status != "pending":
            await self._schedule.forget(claim.kind, claim.id)
            return
        await self._retry_or_fail(claim, delivery, Attempt(datetime.now(UTC), False, 0, error=error))

    async def _retry_or_fail(self, claim: Claim, delivery: Delivery, attempt: Attempt) -> None:
        failures = delivery.failures + 1
        # From now, not from the attempt's start: a send that timed out is not due again at once.
        due = None if attempt.final else self._retry.next_due(failures, time.time())
        if due is None:
            log.warning("delivery %s to subscription %s failed for good: %s", delivery.id,
                        delivery.subscription_id, attempt.error)
            await self._move(claim, delivery, "failed", attempt, failures=failures)
        else:
            await self._move(claim, delivery, "pending", attempt, due=due, failures=failures,
                             next_attempt_at=iso_time(due))

    async def _move(self, claim: Claim, delivery: Delivery, status: Status, attempt: Attempt, *,
                    due: float | None = None, **fields: str | int) -> bool:
        # Through a Redis blip: a delivery that was made is not made again.
        moved = await recorded(lambda: self._deliveries.move(
            delivery.id, delivery.subscription_id, status, allowed_from=["pending"], due=due,
            attempt=attempt.as_record(), lease=claim.token, **{"next_attempt_at": "", **fields}),
            f"delivery {delivery.id}")
        if moved == "stale":
            claim.stale(status)
        if moved == "ok":
            await on_the_log(self._deliveries.announce(delivery.id), f"delivery {delivery.id}")
        return moved == "ok"

    async def _disable(self, subscription_id: str, *, at: str) -> None:
        await self._subscriptions.disable(subscription_id, at=at, reason="the endpoint answered 410 Gone")
        log.warning("subscription %s disabled: its endpoint answered 410 Gone", subscription_id)
        cancelled = await self._deliveries.pending_of(subscription_id)
        for pending in cancelled:
            await self._deliveries.move(pending, subscription_id, "cancelled", allowed_from=["pending"],
                                        next_attempt_at="")
        await on_the_log(self._subscriptions.announce(subscription_id), f"subscription {subscription_id}")
        await on_the_log(self._deliveries.announce(*cancelled), f"deliveries of {subscription_id}")

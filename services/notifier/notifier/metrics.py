"""The notifier's metrics: sends by channel and outcome (counted as each attempt ends), notices the policy
kept back by channel and reason (withdrawn, refused, throttled: no send was tried), and gauges
read from the durable schedule and the delivery log at each scrape: jobs due now and waiting (for
a retry or a hold), how long the most overdue job has waited, webhook deliveries by status."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from prometheus_client import Counter
from prometheus_client.core import Metric
from redis.asyncio import Redis

from notifier.sending.channels import Attempt
from notifier.sending.jobs import KEPT_BACK
from notifier.sending.schedule import DUE
from notifier.webhooks.deliveries import ANY_SUBSCRIPTION, STATUSES
from shared.observability.metrics import Reader, ServiceMetrics, gauge

__all__ = ["SendCounter", "schedule_gauges"]

C = TypeVar("C")


def _outcome(attempt: Attempt) -> str:
    if attempt.ok:
        return "sent"
    if attempt.skipped:
        return "skipped"
    return "refused" if attempt.final else "failed"


class SendCounter:
    """``notifier_sends_total{channel,outcome}``: sent, failed (retried later), refused (final), skipped."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._sends = Counter("notifier_sends", "Send attempts by channel and outcome (sent; failed: retried "
                              "later; refused: no later attempt can do better; skipped: channel not configured)",
                              ["channel", "outcome"], registry=metrics.registry)
        self._kept_back = Counter("notifier_kept_back", "Notices the policy kept back, no send tried, by channel "
                                  "and reason (withdrawn: the request was; superseded: a later update about the "
                                  "request replaced it; refused: recipient outside the "
                                  "allowed domains; throttled: the recipient's hour was full)",
                                  ["channel", "reason"], registry=metrics.registry)
        for channel in ("email", "slack"):
            for reason in KEPT_BACK:
                self._kept_back.labels(channel, reason)

    def kept_back(self, channel: str, reason: str) -> None:
        """A notice not sent by the policy; ``reason`` one of ``KEPT_BACK``."""
        self._kept_back.labels(channel, reason).inc()

    def counted(self, channel: C, name: str) -> C:
        """``channel`` with its ``send`` counted under ``name``."""
        send: Callable[..., Awaitable[Attempt]] = getattr(channel, "send")  # noqa: B009 - any channel type

        async def counted_send(*args: Any, **kwargs: Any) -> Attempt:
            try:
                attempt = await send(*args, **kwargs)
            except Exception:
                self._sends.labels(name, "error").inc()
                raise
            self._sends.labels(name, _outcome(attempt)).inc()
            return attempt

        setattr(channel, "send", counted_send)  # noqa: B010 - an instance attribute shadows the method
        return channel


def schedule_gauges(redis: Redis) -> Reader:
    async def read() -> list[Metric]:
        now = time.time()
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zcount(DUE, "-inf", now)
            pipe.zcount(DUE, f"({now}", "+inf")
            pipe.zrange(DUE, 0, 0, withscores=True)
            for status in STATUSES:
                pipe.zcard(f"notifier:deliveries:{ANY_SUBSCRIPTION}:{status}")
            due, waiting, oldest, *deliveries = await pipe.execute()
        overdue = max(0.0, now - float(oldest[0][1])) if oldest else 0.0
        return [
            gauge("notifier_schedule_jobs", "Sends in the durable schedule: due now, or waiting (a retry or a "
                  "hold)", ["state"], [(("due",), due), (("waiting",), waiting)]),
            gauge("notifier_oldest_due_seconds", "How long the most overdue send has been due (0: none overdue)",
                  samples=[((), overdue)]),
            gauge("notifier_webhook_deliveries", "Webhook deliveries by status", ["status"],
                  [((status,), count) for status, count in zip(STATUSES, deliveries, strict=True)]),
        ]

    return read

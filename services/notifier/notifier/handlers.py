"""Notifier's subscribers: record what to tell whom, and what to deliver to which subscription.

Handling an event never sends anything. It records, once per id and atomically, the messages
the event causes and one delivery per matching webhook subscription, each due now in the
durable schedule, then wakes the dispatcher. A redelivered event records nothing new. What it
recorded is on the log (the journal) before the event is acknowledged, so a rebuild finds it.

``request.withdrawn`` also marks the request withdrawn and makes its pending notices due at once:
the dispatcher finishes them as not sent, and every later notice about it the same way, whichever
of its events arrives first. ``request.merged`` silences the merged request the same way, and its
requester joins the surviving request's audience (``notifier.asks``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from notifier.asks import Asks
from notifier.messages import Composer
from notifier.store import NotificationLog
from notifier.webhooks.deliveries import DeliveryLog, delivery_id
from notifier.webhooks.subscriptions import SubscriptionStore
from shared.batches import BatchHandler
from shared.envelope import CloudEvent
from shared.events import EVENT_TYPES
from shared.messaging import Handler

log = logging.getLogger(__name__)


def routes(*, composer: Composer, notifications: NotificationLog,
           subscriptions: SubscriptionStore, deliveries: DeliveryLog, wake: Callable[[], None],
           escalation_grace_s: float = 0.0, asks: Asks | None = None) -> dict[str, Handler]:
    async def on_event(event: CloudEvent) -> None:
        if asks is not None:
            await asks.learn(event)
        now, created_at = time.time(), datetime.now(UTC).isoformat()
        # Subscribers first: a message that cannot be composed must not keep the event from them.
        matching = await subscriptions.matching(event.type)
        delivered = await deliveries.fan_out(event, matching, now=now, created_at=created_at)
        if delivered:
            log.info("%s %s: %d webhook delivery(ies) due", event.type, event.id, delivered)
            wake()
        drafts = composer.drafts(await asks.enriched(event) if asks is not None else event)
        told = await notifications.record(drafts, now=now, created_at=created_at, hold_s=escalation_grace_s)
        if told:
            log.info("%s %s: %d message(s) due", event.type, event.id, told)
            wake()
        await deliveries.announce(*(delivery_id(event.id, s.id) for s in matching))
        await notifications.announce(*(d.id for d in drafts))

    async def on_withdrawn(event: CloudEvent) -> None:
        log.info("%s %s: nothing more is said about %s", event.type, event.id, event.subject)
        # Merged: its requester hears the survivor's news from now on (asks.learn, in on_event).
        await notifications.withdraw(event.subject, now=time.time())
        wake()
        await on_event(event)

    return {**dict.fromkeys(EVENT_TYPES, on_event), "request.withdrawn": on_withdrawn,
            "request.merged": on_withdrawn}


def barriers(table: dict[str, Handler]) -> dict[str, BatchHandler]:
    """A merge changes who hears another request's news (the survivor's), so within a consumed batch it is
    a barrier (``shared.batches``): what came before it is handled first, what comes after waits for it."""
    async def merges(events: Sequence[CloudEvent]) -> None:
        for event in events:
            await table[event.type](event)

    return {"request.merged": merges}

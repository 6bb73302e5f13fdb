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

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from notifier.asks import Asks
from notifier.messages import Composer
from notifier.reuse import NOTHING_KNOWN
from notifier.store import NotificationLog
from notifier.webhooks.deliveries import DeliveryLog
from notifier.webhooks.subscriptions import SubscriptionStore
from shared.batches import BatchHandler, origin_of
from shared.envelope import CloudEvent, parse_event
from shared.events import EVENT_TYPES
from shared.messaging import Handler

log = logging.getLogger(__name__)


class Consuming:
    """The notifier's handlers: per event (``routes``) and per run of consecutive events (``runs``)."""

    def __init__(self, *, composer: Composer, notifications: NotificationLog, subscriptions: SubscriptionStore,
                 deliveries: DeliveryLog, wake: Callable[[], None], escalation_grace_s: float = 0.0,
                 asks: Asks | None = None) -> None:
        self._composer = composer
        self._notifications = notifications
        self._subscriptions = subscriptions
        self._deliveries = deliveries
        self._wake = wake
        self._hold_s = escalation_grace_s
        self._asks = asks

    def routes(self) -> dict[str, Handler]:
        return {**dict.fromkeys(EVENT_TYPES, self.on_event), **dict.fromkeys(_BARRIERS, self.on_withdrawn)}

    def runs(self) -> dict[str, BatchHandler]:
        """A run of events is recorded in a few round trips whatever its length (``many``). A merge changes
        who hears another request's news (the survivor's), and a withdrawal silences what comes after it: each
        is a barrier (``shared.batches``), what came before it handled first, what comes after waiting for it."""
        return {**dict.fromkeys(EVENT_TYPES, self.many), **dict.fromkeys(_BARRIERS, self.in_order)}

    async def on_event(self, event: CloudEvent) -> None:
        if self._asks is not None:
            await self._asks.learn(event)
        await self._record([event])

    async def on_withdrawn(self, event: CloudEvent) -> None:
        log.info("%s %s: nothing more is said about %s", event.type, event.id, event.subject)
        # Merged: its requester hears the survivor's news from now on (asks.learn, in on_event).
        await self._notifications.withdraw(event.subject, now=time.time())
        self._wake()
        await self.on_event(event)

    async def in_order(self, events: Sequence[CloudEvent]) -> None:
        for event in events:
            await self.on_withdrawn(event)

    async def many(self, events: Sequence[CloudEvent]) -> None:
        """A run without merges or withdrawals: what each event causes, recorded as ``on_event`` would."""
        if self._asks is not None:
            await self._asks.learn_all(events)
        await self._record(events)

    async def _record(self, events: Sequence[CloudEvent]) -> None:
        now, created_at = time.time(), datetime.now(UTC).isoformat()
        # Subscribers first: a message that cannot be composed must not keep the event from them.
        wanted = await self._subscriptions.matching({e.type for e in events})
        delivered = await self._deliveries.fan_out([(e, wanted[e.type]) for e in events if wanted[e.type]],
                                                   now=now, created_at=created_at)
        if delivered:
            self._wake()
        told = [(event, parse_event(event)) for event in events]
        known = ([NOTHING_KNOWN] * len(told) if self._asks is None
                 else await self._asks.known([data for _, data in told]))
        drafts = [draft for (event, data), what in zip(told, known, strict=True)
                  for draft in self._composer.drafts(event, data, what)]
        if await self._notifications.record(drafts, now=now, created_at=created_at, hold_s=self._hold_s):
            self._wake()
        log.debug("%d event(s): %d webhook delivery(ies) and %d message(s) due", len(events), len(delivered),
                  len(drafts))
        # Each record's event continues the trace of the event that caused it, not the run's.
        await asyncio.gather(
            self._deliveries.announce(*delivered, origins={i: origin_of(cause) for i, cause in delivered.items()}),
            self._notifications.announce(*(d.id for d in drafts),
                                         origins={d.id: origin_of(d.about_event_id) for d in drafts}))


_BARRIERS = ("request.withdrawn", "request.merged")

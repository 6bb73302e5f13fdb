"""Rebuild the notifier's Redis state from the Kafka log, sending nothing.

    python -m notifier.rebuild        (make rebuild SERVICE=notifier; the notifier stopped)

First what the notifier changed but had not yet put on the log is published (its journal, and the
outbox of ``notification.sent``). Then, from the log: subscriptions, their secrets unsealed with
``NOTIFIER_SECRETS_KEY``, from ``notifier.subscriptions``; every notice and delivery at its latest
revision from ``notifier.sends``, finished ones finished, pending ones due again (so a notice that was
never sent is sent once, after the restart, and nothing else); who may be mailed again this hour;
the withdrawn and merged requests, each request's requester and the audience
merges joined to it. Nothing is composed, fanned out or sent here.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from redis.asyncio import Redis

from notifier import store as notices
from notifier.app import NAME
from notifier.asks import Asks, Person
from notifier.config import NotifierSettings
from notifier.journal import DeliveryRecorded, Journal, NoticeRecorded, Recorded, SubscriptionRecorded
from notifier.sending.recipients import WINDOW_S, Recipients
from notifier.store import NotificationLog
from notifier.webhooks import deliveries, subscriptions
from notifier.webhooks.deliveries import DeliveryLog
from notifier.webhooks.sealed import Sealer
from notifier.webhooks.subscriptions import SubscriptionStore
from shared.envelope import CloudEvent
from shared.infra import build_broker, connect_redis
from shared.messaging import EventPublisher
from shared.rebuild import Rebuilt, command, rebuild_service
from shared.topics import Topics

log = logging.getLogger(__name__)

_RECORDED: dict[str, type[Recorded]] = {model.event_type: model
                                        for model in (SubscriptionRecorded, DeliveryRecorded, NoticeRecorded)}


async def publish_unpublished(settings: NotifierSettings, sealer: Sealer) -> int:
    """Put on the log every record the notifier changed but had not published yet, so the log is complete."""
    redis = connect_redis(settings.redis_url)
    broker = build_broker(settings, f"{NAME}-rebuild")
    await broker.start()
    try:
        journal = Journal(redis, EventPublisher(broker, Topics(settings.topic_prefix),
                                                settings.publish_timeout_ms / 1000), source=f"/{NAME}")
        journal.track(notices.KIND, NotificationLog(redis))
        journal.track(deliveries.KIND, DeliveryLog(redis))
        journal.track(subscriptions.KIND, SubscriptionStore(redis, sealer=sealer))
        return await journal.flush()
    finally:
        await broker.stop()
        await redis.aclose()


async def rebuild(settings: NotifierSettings) -> Rebuilt:
    sealer = Sealer(settings.secrets_key)
    flushed = await publish_unpublished(settings, sealer)
    if flushed:
        log.info("notifier: published %d changed record(s) first", flushed)
    redis = connect_redis(settings.redis_url)
    subscription_store, delivery_log = SubscriptionStore(redis), DeliveryLog(redis)
    notifications = NotificationLog(redis)
    latest: dict[str, Recorded] = {}
    withdrawn: set[str] = set()
    requesters: dict[str, Person] = {}
    audiences: dict[str, dict[str, Person]] = {}
    merged_into: dict[str, str] = {}

    async def fold(event: CloudEvent) -> None:
        match event.type:
            case "request.withdrawn":
                withdrawn.add(event.subject)
            case "request.merged":
                withdrawn.add(event.subject)  # silenced like a withdrawal
                Asks.fold(event, requesters, audiences, merged_into)
            case "request.submitted":
                Asks.fold(event, requesters, audiences, merged_into)
            case recorded_type if recorded_type in _RECORDED:
                recorded = _RECORDED[recorded_type].model_validate(event.data)
                known = latest.get(recorded.subject())
                if known is None or known.revision < recorded.revision:
                    latest[recorded.subject()] = recorded

    async def restore() -> None:
        now = time.time()
        counted = 0
        # Unsealed before anything is written: a wrong key stops the rebuild here, with the reason.
        secrets = {r.subscription_id: sealer.open(r.sealed_secret) for r in latest.values()
                   if isinstance(r, SubscriptionRecorded) and r.sealed_secret is not None}
        for recorded in latest.values():
            if isinstance(recorded, SubscriptionRecorded):
                await subscription_store.restore(recorded, secrets.get(recorded.subscription_id))
            elif isinstance(recorded, DeliveryRecorded):
                await delivery_log.restore(recorded, now=now)
            elif isinstance(recorded, NoticeRecorded):
                await notifications.restore(recorded, now=now)
                counted += await _count_against_the_hour(redis, recorded, now)
        for request_id in withdrawn:
            await notifications.withdraw(request_id, now=now)
        await Asks(redis).restore(requesters, audiences, merged_into)
        kinds = [type(r).kind for r in latest.values()]
        log.info("notifier: restored %d subscription(s), %d delivery(ies), %d notice(s); %d email(s) count "
                 "against their recipient's hour", kinds.count("subscription"), kinds.count("delivery"),
                 kinds.count("notification"), counted)

    topics = Topics(settings.topic_prefix)
    try:
        return await rebuild_service(NAME, settings, redis, [topics.requests, topics.subscriptions, topics.sends], fold,
                                     finish=restore)
    finally:
        await redis.aclose()


async def _count_against_the_hour(redis: Redis, recorded: NoticeRecorded, now: float) -> int:
    """An email sent within the hour still counts toward its recipient's throttle."""
    if recorded.status != "sent" or recorded.draft.get("channel") != "email" or not recorded.sent_at:
        return 0
    at = datetime.fromisoformat(recorded.sent_at).timestamp()
    if at <= now - WINDOW_S:
        return 0
    await Recipients.remember(redis, str(recorded.draft["recipient"]), recorded.notification_id, at=at, now=now)
    return 1


def main() -> None:
    command(NAME, NotifierSettings(), rebuild)


if __name__ == "__main__":
    main()

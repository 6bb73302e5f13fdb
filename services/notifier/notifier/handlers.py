"""Notifier's subscribers: tell people what happened to their requests, exactly once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from notifier.domain import Audience, messages_for
from notifier.store import NotificationLog
from shared.envelope import CloudEvent, derived_id, envelope
from shared.events import NotificationSent
from shared.messaging import EventPublisher, Handler

log = logging.getLogger(__name__)

TOLD_ABOUT = ("request.backlogged", "request.scheduled", "request.started", "request.paused",
              "request.done", "request.tradeoff_required", "request.tradeoff_decided",
              "request.conflict_detected", "capacity.alert")


def routes(notifications: NotificationLog, publisher: EventPublisher, team: Audience,
           source: str) -> dict[str, Handler]:
    async def on_event(event: CloudEvent) -> None:
        for message in messages_for(event.type, event.data, team):
            notification_id = derived_id(message.about or event.id, message.recipient, message.channel)
            sent = NotificationSent(
                notification_id=notification_id, request_id=event.data.get("request_id"),
                about_event_id=event.id, about_event_type=event.type,
                recipient=message.recipient, channel=message.channel, text=message.text,
                sent_at=datetime.now(UTC))
            if not await notifications.record(event.subject, sent):
                log.info("notification %s was already sent", notification_id)
            # Announced again on a repeat: same id, so consumers downstream dedupe.
            await publisher.publish(envelope(sent, source=source, event_id=notification_id))

    return dict.fromkeys(TOLD_ABOUT, on_event)

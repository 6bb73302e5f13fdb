"""The notifier's own state on the log, so its Redis can be rebuilt without sending anything twice.

Three kinds of record live in Redis and are mirrored to the notifier's compacted topics, each as the
whole record at a revision:

    subscription   ``notifier.subscription_recorded`` on ``<prefix>.notifier.subscriptions``, keyed by
                   subscription id; the signing secret sealed under the deployment's key; deleted ones
                   as their deleted state
    delivery       ``notifier.delivery_recorded`` on ``<prefix>.notifier.sends``, keyed ``delivery:<id>``
    notification   ``notifier.notice_recorded`` on the same topic, keyed ``notification:<id>``

Every change to a record bumps its revision and marks it unpublished (``notifier:unpublished``) in the
same Redis script or transaction: an outbox of record ids, not of events. Publishing reads the record
as it is now, sends it, and clears the mark only if the revision is still the one sent; otherwise it
sends again. So the last record on the log for a key is always the latest state (compaction keeps
that one), however many instances publish at once, and a crash between a change and its publish
leaves the mark for the relay (``flush``, periodic, and first thing in a rebuild).

Consuming publishes the notices and deliveries an event caused before the event is acknowledged, so
whatever was consumed is on the log as pending, or later as finished.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.envelope import CloudEvent, derived_id
from shared.messaging import EventPublisher

__all__ = [
    "UNPUBLISHED",
    "DeliveryRecorded",
    "Journal",
    "NoticeRecorded",
    "Recorded",
    "Records",
    "SubscriptionRecorded",
    "member",
]

log = logging.getLogger(__name__)

UNPUBLISHED = "notifier:unpublished"
# KEYS: the hash holding the record's revision, the unpublished set. ARGV: its field, the revision sent, member.
_SETTLE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('SREM', KEYS[2], ARGV[3])
  return 1
end
return 0
"""
_MAX_ROUNDS = 20


def member(kind: str, record_id: str) -> str:
    return f"{kind}:{record_id}"


class Recorded(BaseModel):
    """A record of the notifier's at one revision: the data of its event on the log."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[str]
    kind: ClassVar[str]
    revision: int

    def record_id(self) -> str:
        raise NotImplementedError

    def subject(self) -> str:
        """The Kafka key: what compaction keeps the latest of."""
        return member(self.kind, self.record_id())


class SubscriptionRecorded(Recorded):
    event_type: ClassVar[str] = "notifier.subscription_recorded"
    kind: ClassVar[str] = "subscription"
    subscription_id: str
    status: Literal["active", "disabled", "deleted"]
    position: int | None = None  # its place in the listing (the cursor's unit); None once deleted
    url: str | None = None
    event_types: list[str] = Field(default_factory=list)
    sealed_secret: str | None = None  # Fernet token under NOTIFIER_SECRETS_KEY; None once deleted
    created_at: str | None = None
    created_by: str | None = None
    disabled_at: str | None = None
    disabled_reason: str | None = None
    deleted_at: str | None = None

    def record_id(self) -> str:
        return self.subscription_id

    def subject(self) -> str:
        return self.subscription_id


class DeliveryRecorded(Recorded):
    event_type: ClassVar[str] = "notifier.delivery_recorded"
    kind: ClassVar[str] = "delivery"
    delivery_id: str
    subscription_id: str
    event_id: str
    event_type_delivered: str
    payload: str  # the event's CloudEvents JSON, exactly as it is signed and sent
    position: int
    status: Literal["pending", "succeeded", "failed", "cancelled"]
    attempts: list[dict[str, Any]]
    attempt_count: int
    failures: int
    created_at: str
    next_attempt_at: str

    def record_id(self) -> str:
        return self.delivery_id


class NoticeRecorded(Recorded):
    event_type: ClassVar[str] = "notifier.notice_recorded"
    kind: ClassVar[str] = "notification"
    notification_id: str
    draft: dict[str, Any]  # its words, fixed when the event was consumed
    status: Literal["pending", "sent", "not_sent", "failed"]
    attempts: int
    failures: int
    created_at: str
    next_attempt_at: str
    hold_until: str
    detail: str
    sent_at: str | None = None

    def record_id(self) -> str:
        return self.notification_id


class Records(Protocol):
    """A store whose records the journal mirrors."""

    def revision_of(self, record_id: str) -> tuple[str, str]:
        """The hash and field that hold the record's revision."""

    async def snapshot(self, record_id: str) -> Recorded | None:
        """The record as it is now (None: there is no such record)."""


class Journal:
    def __init__(self, redis: Redis, publisher: EventPublisher, *, source: str) -> None:
        self._redis = redis
        self._publisher = publisher
        self._source = source
        self._kinds: dict[str, Records] = {}

    def track(self, kind: str, records: Records) -> None:
        self._kinds[kind] = records

    async def publish(self, *members: str) -> int:
        """Put those of ``members`` still unpublished on the log; raises what publishing raises."""
        if not members:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for one in members:
                pipe.sismember(UNPUBLISHED, one)
            marked = await pipe.execute()
        published = 0
        for one, unpublished in zip(members, marked, strict=True):
            if unpublished:
                await self._publish(one)
                published += 1
        return published

    async def flush(self) -> int:
        """The relay: publish every record changed but not yet on the log."""
        members = sorted(cast(set[str], await self._redis.smembers(UNPUBLISHED)))
        for one in members:
            await self._publish(one)
        if members:
            log.info("put %d changed record(s) on the log", len(members))
        return len(members)

    async def _publish(self, one: str) -> None:
        kind, record_id = one.split(":", 1)
        records = self._kinds[kind]
        key, field = records.revision_of(record_id)
        for _ in range(_MAX_ROUNDS):
            recorded = await records.snapshot(record_id)
            if recorded is None:  # nothing to mirror (a record this instance never had)
                await self._redis.srem(UNPUBLISHED, one)
                return
            await self._publisher.publish(self.envelope(recorded))
            if await self._redis.eval(_SETTLE, 2, key, UNPUBLISHED, field, recorded.revision, one):
                return
        log.warning("%s changed %d times while it was being published; the relay tries again", one, _MAX_ROUNDS)

    def envelope(self, recorded: Recorded) -> CloudEvent:
        subject = recorded.subject()
        return CloudEvent(id=derived_id(recorded.event_type, subject, str(recorded.revision)), source=self._source,
                          type=recorded.event_type, subject=subject, time=datetime.now(UTC),
                          data=recorded.model_dump(mode="json"))

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
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Protocol, cast

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from shared.envelope import CloudEvent, derived_id
from shared.grouped import Grouped
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
_CHUNK = 256  # records the relay publishes together


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
    superseded_by: str | None = None  # a later notice of its thread replaced it (``notifier.store``)

    def record_id(self) -> str:
        return self.notification_id


class Records(Protocol):
    """A store whose records the journal mirrors."""

    def revision_of(self, record_id: str) -> tuple[str, str]:
        """The hash and field that hold the record's revision."""

    async def snapshots(self, record_ids: Sequence[str]) -> Sequence[Recorded | None]:
        """Each record as it is now (None: there is no such record), in the order asked."""


class Journal:
    def __init__(self, redis: Redis, publisher: EventPublisher, *, source: str) -> None:
        self._redis = redis
        self._publisher = publisher
        self._source = source
        self._kinds: dict[str, Records] = {}
        self._grouped = Grouped(self._publish_grouped)

    def track(self, kind: str, records: Records) -> None:
        self._kinds[kind] = records

    async def publish(self, *members: str, origins: Mapping[str, Context] | None = None) -> int:
        """Put those of ``members`` still unpublished on the log, answering how many were; raises what
        publishing raises. Calls made while a publish is in flight go out together in the next one. Each
        record's event continues the trace of ``origins[member]``, by default the caller's."""
        if not members:
            return 0
        here = otel_context.get_current()
        return await self._grouped((members, {one: (origins or {}).get(one, here) for one in members}))

    async def announce(self, kind: str, record_ids: Sequence[str],
                       origins: Mapping[str, Context] | None = None) -> int:
        """``publish`` of records of one kind by id, each in the context ``origins`` gives its id."""
        return await self.publish(*(member(kind, i) for i in record_ids),
                                  origins={member(kind, i): o for i, o in (origins or {}).items()})

    async def _publish_grouped(self, groups: Sequence[tuple[Sequence[str], Mapping[str, Context]]]) -> list[int]:
        origins = {one: origin for _, group in groups for one, origin in group.items()}
        members = list(origins)
        async with self._redis.pipeline(transaction=False) as pipe:
            for one in members:
                pipe.sismember(UNPUBLISHED, one)
            marked = await pipe.execute()
        unpublished = {one for one, mark in zip(members, marked, strict=True) if mark}
        await self._publish([one for one in members if one in unpublished], origins)
        return [sum(one in unpublished for one in group) for group, _ in groups]

    async def flush(self) -> int:
        """The relay: publish every record changed but not yet on the log."""
        members = sorted(cast(set[str], await self._redis.smembers(UNPUBLISHED)))
        for start in range(0, len(members), _CHUNK):
            await self._publish(members[start:start + _CHUNK])
        if members:
            log.info("put %d changed record(s) on the log", len(members))
        return len(members)

    async def _publish(self, members: Sequence[str], origins: Mapping[str, Context] | None = None) -> None:
        """Each record as it is now, all sent together, each mark cleared if its record did not change
        meanwhile; those that changed go round again. Three trips for any number of records: reading them
        (one pipeline per kind), the broker's acknowledgement of them all, clearing the marks (one pipeline).
        """
        pending = list(dict.fromkeys(members))
        for _ in range(_MAX_ROUNDS):
            if not pending:
                return
            found = await self._snapshots(pending)
            present = [(one, recorded) for one, recorded in zip(pending, found, strict=True) if recorded is not None]
            envelopes = [(one, self.envelope(recorded)) for one, recorded in present]
            await self._publisher.publish_all([envelope for _, envelope in envelopes],
                                              {e.id: origins[one] for one, e in envelopes if one in origins}
                                              if origins else None)
            async with self._redis.pipeline(transaction=False) as pipe:
                for one, recorded in zip(pending, found, strict=True):
                    if recorded is None:  # nothing to mirror (a record this instance never had)
                        pipe.srem(UNPUBLISHED, one)
                    else:
                        kind, record_id = one.split(":", 1)
                        key, field = self._kinds[kind].revision_of(record_id)
                        pipe.eval(_SETTLE, 2, key, UNPUBLISHED, field, recorded.revision, one)
                settled = await pipe.execute()
            pending = [one for one, recorded, done in zip(pending, found, settled, strict=True)
                       if recorded is not None and not done]
        if pending:
            log.warning("%d record(s) changed %d times while being published; the relay tries again",
                        len(pending), _MAX_ROUNDS)

    async def _snapshots(self, members: Sequence[str]) -> list[Recorded | None]:
        by_kind: dict[str, list[int]] = {}
        for index, one in enumerate(members):
            by_kind.setdefault(one.split(":", 1)[0], []).append(index)
        found: list[Recorded | None] = [None] * len(members)
        for kind, indexes in by_kind.items():
            records = await self._kinds[kind].snapshots([members[i].split(":", 1)[1] for i in indexes])
            for index, recorded in zip(indexes, records, strict=True):
                found[index] = recorded
        return found

    def envelope(self, recorded: Recorded) -> CloudEvent:
        subject = recorded.subject()
        return CloudEvent(id=derived_id(recorded.event_type, subject, str(recorded.revision)), source=self._source,
                          type=recorded.event_type, subject=subject, time=datetime.now(UTC),
                          data=recorded.model_dump(mode="json"))

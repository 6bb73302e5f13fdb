"""The outbox: what handling each consumed event (or HTTP change) produced, and its publication in order.

``Outcomes`` remembers, per consumed event id (or per HTTP change), the events its handling produced,
written in the same Redis transaction as the handler's state. A redelivered event finds that outcome
instead of being handled twice or dropped, and it is published if it is still pending (same ids, so
consumers downstream dedupe), never again once Kafka has it. Outcomes stay marked pending until
published: an outbox, kept in commit order, that ``republish_pending`` empties once Kafka is back, so a
change made while it was away is still announced. Every publish goes through it oldest first, so a live
publish never overtakes an older pending outcome of the same process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import cast

from opentelemetry.context import Context
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from shared.batches import origin_of
from shared.envelope import CloudEvent
from shared.grouped import Grouped
from shared.messaging import Publisher

__all__ = ["OUTCOME_TTL_S", "Outcomes"]

log = logging.getLogger(__name__)

OUTCOME_TTL_S = 14 * 24 * 3600

# One ``deliver`` call: the cause's id, what it produced, where to, and the context each is sent in.
_Delivery = tuple[str, Sequence[CloudEvent], Publisher, Mapping[str, Context]]


def _origins(outcomes: Sequence[tuple[str, Sequence[CloudEvent]]]) -> dict[str, Context]:
    """The context each produced event is sent in, seen from the caller (``shared.batches.origin_of``)."""
    return {event.id: origin_of(cause, event.subject) for cause, produced in outcomes for event in produced}


class Outcomes:
    """What handling each consumed event produced, kept so redelivery repeats it exactly."""

    def __init__(self, redis: Redis, service: str) -> None:
        self._redis = redis
        self._prefix = f"{service}:outcome:"
        # A list, not a set: transactions append in commit order, and the relay keeps that order.
        self._pending = f"{service}:outbox-ordered"
        self._unordered = f"{service}:outbox"  # the set earlier versions kept: adopted by the relay's first run
        self._publishing = asyncio.Lock()
        self._grouped = Grouped(self._deliver_grouped)
        # Per cause recorded by this process and not yet published: the context each produced event is
        # sent in. Taken when recorded, so a group led by a later cause that publishes this one as older
        # and pending still sends it in its own cause's trace, not the leader's.
        self._origins: dict[str, dict[str, Context]] = {}
        self._origins_seen: set[str] = set()  # those the relay's last run found (``_forget_unpublishable``)

    async def get(self, event_id: str) -> list[CloudEvent] | None:
        raw = await self._redis.get(self._prefix + event_id)
        if raw is None:
            return None
        return [CloudEvent.model_validate(e) for e in json.loads(raw)]

    async def outcomes(self, event_ids: Sequence[str]) -> list[tuple[str, list[CloudEvent]]]:
        """What each of ``event_ids`` produced, for those handled before, in one round trip."""
        if not event_ids:
            return []
        found = await self._redis.mget([self._prefix + e for e in event_ids])
        return [(e, [CloudEvent.model_validate(x) for x in json.loads(raw)])
                for e, raw in zip(event_ids, found, strict=True) if raw is not None]

    async def once(self, event_id: str, work: Callable[[Pipeline], Awaitable[Sequence[CloudEvent]]], *,
                   along: Sequence[str] = ()) -> Sequence[CloudEvent]:
        """Run ``work`` for an event not seen before, or return what it produced the first time.

        ``work`` reads Redis as it likes and queues its writes on the pipeline it is
        given; those writes and the outcome commit together. Events handled in the same work (a batch)
        are named in ``along``: each is recorded as seen, producing nothing of its own, in the same
        transaction, and ``event_id`` holds what the work produced.
        """
        prior = await self.get(event_id)
        if prior is not None:
            return prior
        async with self._redis.pipeline(transaction=True) as pipe:
            produced = await work(pipe)
            for other in along:
                self.record(pipe, other, [])
            self.record(pipe, event_id, produced)
            try:
                await pipe.execute()
            except BaseException:
                self._origins.pop(event_id, None)  # not committed: nothing of it will be published
                raise
        return produced

    async def seen(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` have an outcome already (were handled before), in one round trip."""
        if not event_ids:
            return set()
        found = await self._redis.mget([self._prefix + e for e in event_ids])
        return {e for e, raw in zip(event_ids, found, strict=True) if raw is not None}

    def record(self, pipe: Pipeline, event_id: str, produced: Sequence[CloudEvent]) -> None:
        """Queue the outcome on ``pipe``, the same transaction as the handler's state."""
        payload = json.dumps([e.model_dump(mode="json") for e in produced])
        pipe.set(self._prefix + event_id, payload, ex=OUTCOME_TTL_S)
        if produced:
            pipe.rpush(self._pending, event_id)
            self._origins[event_id] = _origins([(event_id, produced)])

    async def run(self, event_id: str, work: Callable[[Pipeline], Awaitable[Sequence[CloudEvent]]],
                  publisher: Publisher) -> Sequence[CloudEvent]:
        """``once``, then publish what it produced."""
        produced = await self.once(event_id, work)
        await self.deliver(event_id, produced, publisher)
        return produced

    async def deliver(self, event_id: str, produced: Sequence[CloudEvent], publisher: Publisher) -> None:
        """Publish ``produced``, after every outcome committed before it that is still pending.

        An outcome leaves the outbox only once Kafka acknowledged it, so one no longer pending (the relay
        sent it, or a redelivered event's outcome went out the first time) is not sent again.
        """
        if produced:  # calls made while one is in flight go out together in the next (group commit)
            try:
                await self._grouped((event_id, produced, publisher, _origins([(event_id, produced)])))
            finally:
                self._origins.pop(event_id, None)

    async def _deliver_grouped(self, group: Sequence[_Delivery]) -> list[None]:
        by_publisher: dict[int, tuple[Publisher, list[tuple[str, Sequence[CloudEvent]]], dict[str, Context]]] = {}
        for event_id, produced, publisher, origins in group:
            _, outcomes, all_origins = by_publisher.setdefault(id(publisher), (publisher, [], {}))
            outcomes.append((event_id, produced))
            all_origins.update(origins)
        for publisher, outcomes, all_origins in by_publisher.values():
            await self.deliver_all(outcomes, publisher, all_origins)
        return [None] * len(group)

    async def deliver_all(self, outcomes: Sequence[tuple[str, Sequence[CloudEvent]]],
                          publisher: Publisher, origins: Mapping[str, Context] | None = None) -> None:
        """``deliver`` for several outcomes at once (a batch's), in their order: one wait for the broker's
        acknowledgements, one round trip to take them off the outbox. Each produced event continues the
        trace of its cause (``origins``, by produced event id; by default ``shared.batches.origin_of``)."""
        if origins is None:
            origins = _origins(outcomes)
        async with self._publishing:
            pending = cast(list[str], await self._redis.lrange(self._pending, 0, -1))
            mine = [(event_id, produced) for event_id, produced in outcomes if event_id in pending]
            if not mine:
                return
            first = min(pending.index(event_id) for event_id, _ in mine)
            ours = {event_id for event_id, _ in mine}
            for earlier in pending[:first]:
                if earlier not in ours:
                    await self._publish_pending(earlier, publisher)
            await publisher.publish_all([event for _, produced in mine for event in produced], origins)
            async with self._redis.pipeline(transaction=False) as pipe:
                for event_id in ours:
                    pipe.lrem(self._pending, 0, event_id)
                    self._origins.pop(event_id, None)
                await pipe.execute()

    async def republish_pending(self, publisher: Publisher) -> int:
        """Publish every outcome not yet known to be on Kafka, in commit order; the outbox's relay."""
        async with self._publishing:
            await self._adopt_unordered()
            pending = cast(list[str], await self._redis.lrange(self._pending, 0, -1))
            self._forget_unpublishable(set(pending))
            for event_id in dict.fromkeys(pending):
                await self._publish_pending(event_id, publisher)
        if pending:
            log.info("re-sent the events of %d pending outcome(s)", len(pending))
        return len(pending)

    def _forget_unpublishable(self, pending: set[str]) -> None:
        """Contexts of causes recorded on a transaction that never committed (a lost lease, a failed
        pipeline) are forgotten once two runs of the relay found them and not their outcome pending: a
        transaction commits within milliseconds, a relay runs every few seconds."""
        for cause in (self._origins.keys() & self._origins_seen) - pending:
            del self._origins[cause]
        self._origins_seen = set(self._origins)

    async def _publish_pending(self, event_id: str, publisher: Publisher) -> None:
        """Publish one pending outcome, in its cause's context if this process recorded it."""
        await publisher.publish_all(await self.get(event_id) or [], self._origins.get(event_id))
        await self._redis.lrem(self._pending, 0, event_id)
        self._origins.pop(event_id, None)

    async def depth(self) -> int:
        """Outcomes committed but not yet known to be on Kafka (the outbox)."""
        return int(await self._redis.llen(self._pending))

    async def _adopt_unordered(self) -> None:
        """Outcomes an earlier version left pending in a set go first, in the only order it kept (none)."""
        left = cast(set[str], await self._redis.smembers(self._unordered))
        if left:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.lpush(self._pending, *sorted(left, reverse=True))
                pipe.delete(self._unordered)
                await pipe.execute()

"""Rebuild intake's Redis state (requests, timelines, statuses) from the Kafka log.

    python -m intake.rebuild        (make rebuild SERVICE=intake)

Intake's state is what its subscribers make of the events it consumes: each request's first submission,
and one timeline entry per lifecycle event (the same ``TimelineEntry`` its handlers append). The rebuild
gathers those in memory and writes them in batches, not one event's round trips at a time. Idempotency
answers and rate-limit windows are not rebuilt: they expire anyway, and a reused Idempotency-Key still
finds its request (its id is derived from the key).
"""

from __future__ import annotations

from collections import defaultdict

from intake.app import NAME
from intake.config import IntakeSettings
from intake.domain import TimelineEntry
from intake.handlers import TIMELINE_TYPES
from intake.merges import MERGED, survivor_entry
from intake.store import RequestStore, Restored
from shared.envelope import CloudEvent, parse_event
from shared.events import RequestMerged, RequestSubmitted
from shared.infra import connect_redis
from shared.rebuild import Rebuilt, command, rebuild_service
from shared.topics import Topics

ON_THE_TIMELINE = frozenset({"request.submitted", MERGED, *TIMELINE_TYPES})


async def rebuild(settings: IntakeSettings) -> Rebuilt:
    redis = connect_redis(settings.redis_url)
    store = RequestStore(redis)
    requests: defaultdict[str, Restored] = defaultdict(Restored)

    async def fold(event: CloudEvent) -> None:
        if event.type not in ON_THE_TIMELINE:
            return
        found = requests[event.subject]
        told = parse_event(event)
        if isinstance(told, RequestSubmitted) and found.submitted is None:
            found.submitted = told
        found.timeline.setdefault(event.id, TimelineEntry.of(event.id, event.time, told, event.data))
        if isinstance(told, RequestMerged):  # the surviving request tells it too
            requests[told.into].timeline.setdefault(event.id, survivor_entry(event))

    async def write() -> None:
        await store.restore(requests)

    try:
        return await rebuild_service(NAME, settings, redis, Topics(settings.topic_prefix).consumed_by(NAME), fold,
                                     finish=write)
    finally:
        await redis.aclose()


def main() -> None:
    command(NAME, IntakeSettings(), rebuild)


if __name__ == "__main__":
    main()

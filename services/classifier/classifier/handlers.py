"""Classifier's subscribers: classify each submitted request; keep published OKR sets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from redis.asyncio.client import Pipeline

from classifier.domain import Classifier, OkrSet
from classifier.store import OkrStore
from shared.events import (
    CloudEvent,
    OkrsPublished,
    RequestClassified,
    RequestSubmitted,
    derived_id,
    envelope,
    parse_data,
)
from shared.messaging import EventPublisher, Handler, Outcomes


def routes(store: OkrStore, outcomes: Outcomes, publisher: EventPublisher,
           current: Callable[[], Awaitable[OkrSet | None]], classifier: Classifier,
           source: str) -> dict[str, Handler]:
    async def on_submitted(event: CloudEvent) -> None:
        submitted = parse_data(event, RequestSubmitted)

        async def work(_: Pipeline) -> Sequence[CloudEvent]:
            result = classifier.classify(submitted.request, await current())
            classified = RequestClassified(
                request_id=submitted.request_id, request=submitted.request,
                submitted_at=submitted.submitted_at, **asdict(result))
            return [envelope(classified, source=source,
                             event_id=derived_id(event.id, classified.event_type))]

        await publisher.publish_all(await outcomes.once(event.id, work))

    async def on_okrs_published(event: CloudEvent) -> None:
        published = parse_data(event, OkrsPublished)
        await store.save(OkrSet(
            quarter=published.quarter, version=published.version, objectives=published.objectives,
            approved_by=published.approved_by, approved_at=published.approved_at,
            published_at=event.time or datetime.now(UTC), published_by=event.source))

    return {"request.submitted": on_submitted, "okrs.published": on_okrs_published}

"""Classifier's subscribers: classify each submitted request; keep OKR sets; roll over quarters."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime

from redis.asyncio.client import Pipeline

from classifier.domain import Classification, Classifier, OkrSet, OpenRequest
from classifier.similarity.detector import Vector
from classifier.similarity.lookup import Similarity
from classifier.store import OkrStore, OpenRequests
from shared.batches import BatchHandler
from shared.envelope import CloudEvent, derived_id, envelope, parse_data
from shared.events import OkrsPublished, RequestClassified, RequestSubmitted
from shared.messaging import EventPublisher, Handler
from shared.outbox import Outcomes

log = logging.getLogger(__name__)

Current = Callable[[], Awaitable[OkrSet | None]]


def rollover(open_requests: OpenRequests, publisher: EventPublisher, current: Current,
             classifier: Classifier, source: str) -> Callable[[], Awaitable[int]]:
    """Classify every open request again once another OKR set is current; emit the changed ones."""

    async def roll_over() -> int:
        """Every open request classified under another set than the current one is classified again
        (periodically too, so one submitted during a rollover is caught the next time)."""
        okrs = await current()
        marker = Classifier.marker(okrs)
        if okrs is None or marker is None:
            return 0
        async with open_requests.lock():
            stale = [r for r in await open_requests.all() if r.classified_under != marker]
            if not stale:
                return 0
            changed = classifier.changed_by(okrs, stale)
            events = [_reclassified(request, result, source, marker) for request, result in changed]
            # Published before the requests are marked: a crash in between repeats the same event ids.
            await publisher.publish_all(events)
            results = {request.request_id: result for request, result in changed}
            await open_requests.keep([
                replace(r, classified_under=marker, objective_id=results[r.request_id].objective_id,
                        objective_rank=results[r.request_id].objective_rank) if r.request_id in results
                else replace(r, classified_under=marker)
                for r in stale])
        log.info("classified %d open request(s) again under %s; %d changed", len(stale), marker, len(events))
        return len(events)

    return roll_over


def _reclassified(request: OpenRequest, result: Classification, source: str, marker: str) -> CloudEvent:
    lost = request.objective_id is not None and result.objective_id is None
    rationale = result.rationale
    if lost:
        rationale = (f"It laddered up to {request.objective_id}, which the new objectives no longer "
                     f"support. {rationale}")
    data = RequestClassified(
        request_id=request.request_id, request=request.details, submitted_at=request.submitted_at,
        **{**asdict(result), "rationale": rationale}, reclassified=True,
        previous_objective_id=request.objective_id, no_longer_aligned=lost)
    return envelope(data, source=source, event_id=derived_id(request.request_id, data.event_type, marker))


def published_set(event: CloudEvent) -> OkrSet:
    """The OKR set an ``okrs.published`` event announces, as the store keeps it."""
    published = parse_data(event, OkrsPublished)
    return OkrSet(quarter=published.quarter, version=published.version, objectives=published.objectives,
                  approved_by=published.approved_by, approved_at=published.approved_at,
                  published_at=event.time or datetime.now(UTC),
                  published_by=published.published_by or event.source)


def open_request(classified: RequestClassified) -> OpenRequest:
    """An open request as a classification (first or again) leaves it."""
    return OpenRequest(classified.request_id, classified.request, classified.submitted_at, classified.objective_id,
                       classified.objective_rank, Classifier.marker_of(classified.okr_quarter, classified.okr_version),
                       classified.submitted_by)


def routes(store: OkrStore, open_requests: OpenRequests, outcomes: Outcomes, publisher: EventPublisher,
           current: Current, classifier: Classifier, roll_over: Callable[[], Awaitable[int]],
           source: str, similarity: Similarity) -> tuple[dict[str, Handler], dict[str, BatchHandler]]:
    """The handler of each consumed type, and the batch route of submissions (``shared.batches``)."""
    def classify(event: CloudEvent, vector: Vector | None) -> Callable[[Pipeline], Awaitable[list[CloudEvent]]]:
        submitted = parse_data(event, RequestSubmitted)

        async def work(pipe: Pipeline) -> list[CloudEvent]:
            okrs = await current()
            result = classifier.classify(submitted.request, okrs)
            found = await similarity.find(submitted.request_id, submitted.request, result.objective_id, vector)
            classified = RequestClassified(
                request_id=submitted.request_id, request=submitted.request,
                submitted_at=submitted.submitted_at, submitted_by=submitted.submitted_by, **asdict(result),
                similar=found.similar)
            if not await open_requests.is_closed(submitted.request_id):
                open_requests.put(pipe, OpenRequest(submitted.request_id, submitted.request,
                                                   submitted.submitted_at, result.objective_id,
                                                   result.objective_rank, Classifier.marker(okrs),
                                                   submitted.submitted_by), found.vector)
            return [envelope(classified, source=source,
                             event_id=derived_id(event.id, classified.event_type))]

        return work

    async def on_submitted(event: CloudEvent) -> None:
        await outcomes.run(event.id, classify(event, None), publisher)

    async def on_submissions(events: Sequence[CloudEvent]) -> None:
        """A run of submissions: embedded in one trip to the model's thread, then classified one after
        another (each sees the ones before it among the open requests it is compared with), and their
        classifications published together.

        Measured against publishing eight at a time as they were classified (``make bench-load``, two pairs
        alternating): the smaller runs downstream cost capacity and the notifier more CPU a request, decisions
        a second fell by about a tenth, and no latency improved, so a run goes out whole."""
        seen = await outcomes.seen([event.id for event in events])
        fresh = list({event.id: event for event in events if event.id not in seen}.values())
        vectors = await similarity.embed([parse_data(event, RequestSubmitted).request for event in fresh])
        done = [(event.id, await outcomes.once(event.id, classify(event, vector)))
                for event, vector in zip(fresh, vectors, strict=True)]
        again = await outcomes.outcomes(list(dict.fromkeys(event.id for event in events if event.id in seen)))
        await outcomes.deliver_all([*again, *done], publisher)

    async def on_closed(event: CloudEvent) -> None:
        await open_requests.close(event.subject)

    async def on_okrs_published(event: CloudEvent) -> None:
        await store.save(published_set(event))
        await roll_over()

    return ({"request.submitted": on_submitted, "request.withdrawn": on_closed, "request.done": on_closed,
             "request.merged": on_closed, "okrs.published": on_okrs_published},
            {"request.submitted": on_submissions})

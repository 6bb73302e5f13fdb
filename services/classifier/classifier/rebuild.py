"""Rebuild the classifier's Redis state (every OKR set version, the open requests) from the Kafka log.

    python -m classifier.rebuild        (make rebuild SERVICE=classifier)

OKR sets come back from ``okrs.published``; each open request, with its objective and the set it was
classified under, from the classifier's own ``request.classified`` (first or again); withdrawn, done and
merged requests are closed. Requests are gathered in memory and written in batches at the end, each open
one with its sentence vector (similarity), computed again. Nothing is classified or published: the log
already says what was.
"""

from __future__ import annotations

from classifier.app import NAME
from classifier.config import ClassifierSettings
from classifier.domain import OpenRequest
from classifier.handlers import open_request, published_set
from classifier.similarity.detector import BULK_WORKERS, Detector, encode, text_of
from classifier.store import OkrStore, OpenRequests
from shared.envelope import CloudEvent, parse_data
from shared.events import RequestClassified
from shared.infra import connect_redis
from shared.rebuild import Rebuilt, command, rebuild_service
from shared.topics import Topics


async def rebuild(settings: ClassifierSettings) -> Rebuilt:
    redis = connect_redis(settings.redis_url)
    detector = Detector()
    okrs, open_requests = OkrStore(redis), OpenRequests(redis, detector.space)
    still_open: dict[str, OpenRequest] = {}
    closed: set[str] = set()

    async def fold(event: CloudEvent) -> None:
        match event.type:
            case "okrs.published":
                await okrs.save(published_set(event))
            case "request.classified" if event.subject not in closed:
                still_open[event.subject] = open_request(parse_data(event, RequestClassified))
            case "request.withdrawn" | "request.done" | "request.merged":
                still_open.pop(event.subject, None)
                closed.add(event.subject)

    async def write() -> None:
        """The open and closed requests, as ``keep`` and ``close`` leave them, many a round trip."""
        requests = list(still_open.values())
        embedded = detector.embed_each([text_of(r.details) for r in requests], BULK_WORKERS)  # as the service does
        vectors = {r.request_id: encode(v) for r, v in zip(requests, embedded, strict=True)}
        await open_requests.restore(requests, closed, vectors=vectors)

    topics = Topics(settings.topic_prefix)
    try:
        return await rebuild_service(NAME, settings, redis, [topics.okrs, topics.classifications, topics.requests,
                                                             topics.decisions], fold, finish=write)
    finally:
        await redis.aclose()


def main() -> None:
    command(NAME, ClassifierSettings(), rebuild)


if __name__ == "__main__":
    main()

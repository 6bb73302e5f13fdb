"""Rebuild intake's Redis state (requests, timelines, statuses) from the Kafka log.

    python -m intake.rebuild        (make rebuild SERVICE=intake)

Intake's state is exactly what its subscribers make of the events it consumes, so the rebuild folds
those events through the same handlers. Idempotency answers and rate-limit windows are not rebuilt:
they expire anyway, and a reused Idempotency-Key still finds its request (its id is derived from the key).
"""

from __future__ import annotations

import asyncio
import logging

from intake import handlers
from intake.app import NAME, consumed_topics
from intake.config import IntakeSettings
from intake.store import RequestStore
from shared.envelope import CloudEvent
from shared.infra import connect_redis
from shared.rebuild import Rebuilt, rebuild_service
from shared.runtime import configure_logging
from shared.topics import Topics


async def rebuild(settings: IntakeSettings) -> Rebuilt:
    redis = connect_redis(settings.redis_url)
    routes = handlers.routes(RequestStore(redis))

    async def fold(event: CloudEvent) -> None:
        handler = routes.get(event.type)
        if handler is not None:
            await handler(event)

    try:
        return await rebuild_service(NAME, settings, redis, consumed_topics(Topics(settings.topic_prefix)), fold)
    finally:
        await redis.aclose()


def main() -> None:
    settings = IntakeSettings()
    configure_logging(f"{NAME}.rebuild", settings)
    rebuilt = asyncio.run(rebuild(settings))
    logging.getLogger(__name__).info("intake rebuilt: %d events in %.1f s", rebuilt.events, rebuilt.seconds)


if __name__ == "__main__":
    main()

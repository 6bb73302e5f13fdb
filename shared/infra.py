"""Factories for the clients every service needs; nothing connects at import time."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from redis.asyncio import BlockingConnectionPool, Redis

from shared.settings import ServiceSettings
from shared.topics import Topics

__all__ = ["build_broker", "connect_redis", "ensure_topics"]

log = logging.getLogger(__name__)


def connect_redis(url: str, max_connections: int = 50) -> Redis:
    """A client whose pool waits for a free connection under bursts instead of failing."""
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10,
                                           decode_responses=True)
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


def build_broker(settings: ServiceSettings, service: str) -> KafkaBroker:
    """An idempotent producer (acks=all) whose sends fail within ``publish_timeout_ms``."""
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=service,
        enable_idempotence=True,
        request_timeout_ms=settings.publish_timeout_ms,
        allow_auto_create_topics=False,
        logger=logging.getLogger(f"{service}.kafka"),
        log_level=logging.DEBUG,
    )


async def ensure_topics(settings: ServiceSettings, topics: Topics) -> None:
    """Declare every topic with enough partitions for a consumer group of several instances."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                                request_timeout_ms=settings.publish_timeout_ms)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, 1, settings.topic_replication, topic_configs={"cleanup.policy": "compact"})
            if name == topics.access_keys else
            NewTopic(name, settings.topic_partitions, settings.topic_replication)
            for name in topics.all() if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create topic {name}: error code {code}")
    finally:
        await admin.close()

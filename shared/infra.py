"""Factories for the clients every service needs; nothing connects at import time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from redis.asyncio import BlockingConnectionPool, Redis

from shared.settings import ServiceSettings
from shared.topics import Topics

__all__ = ["FiniteRetention", "build_broker", "connect_redis", "ensure_topics", "topic_configs"]

log = logging.getLogger(__name__)


def connect_redis(url: str, max_connections: int = 50) -> Redis:
    """A client whose pool waits for a free connection under bursts instead of failing."""
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10,
                                           decode_responses=True)
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


def build_broker(settings: ServiceSettings, service: str, middlewares: Sequence[Any] = ()) -> KafkaBroker:
    """An idempotent producer (acks=all) whose sends fail within ``publish_timeout_ms``; ``middlewares``
    wrap every publish and every consumed record (tracing, metrics)."""
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=service,
        enable_idempotence=True,
        request_timeout_ms=settings.publish_timeout_ms,
        allow_auto_create_topics=False,
        logger=logging.getLogger(f"{service}.kafka"),
        log_level=logging.DEBUG,
        middlewares=tuple(middlewares),
        security=settings.kafka_auth().broker_security(),
    )


# Events are kept forever; keyed state is compacted (its latest record per key is kept forever).
KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
COMPACTED = {"cleanup.policy": "compact"}


class FiniteRetention(RuntimeError):
    """A topic this service owns would delete events, so Kafka could not rebuild the system from it."""


async def ensure_topics(settings: ServiceSettings, topics: Topics, owner: str | None = None) -> None:
    """Declare every topic (enough partitions for a consumer group of several instances, kept forever),
    then check that the topics ``owner`` writes keep their events; refuse to start otherwise."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                                request_timeout_ms=settings.publish_timeout_ms,
                                **settings.kafka_auth().client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        durability = {"min.insync.replicas": str(settings.topic_min_insync_replicas)}
        missing = [
            NewTopic(name, 1, settings.topic_replication, topic_configs={**COMPACTED, **durability})
            if name in topics.compacted() else
            NewTopic(name, settings.topic_partitions, settings.topic_replication,
                     topic_configs={**KEEP_FOREVER, **durability})
            for name in topics.all() if name not in existing
        ]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create topic {name}: error code {code}")
        if owner is not None:
            await _check_retention(admin, topics.owned_by(owner), topics.compacted(), settings)
    finally:
        await admin.close()


async def topic_configs(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The effective configuration of each topic, defaults included."""
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for _, _, _, name, entries, *_ in response.resources:
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def _check_retention(admin: AIOKafkaAdminClient, owned: list[str], compacted: frozenset[str],
                           settings: ServiceSettings) -> None:
    configs = await topic_configs(admin, owned)
    for _ in range(50):  # a topic created a moment ago may not have reached the broker's metadata yet
        if all(configs.get(name) for name in owned):
            break
        await asyncio.sleep(0.1)
        configs = await topic_configs(admin, owned)
    finite = []
    for name, config in configs.items():
        keeps = ("compact" in config.get("cleanup.policy", "") if name in compacted
                 else config.get("retention.ms") == "-1" and config.get("retention.bytes", "-1") == "-1")
        if not keeps:
            settings_seen = ", ".join(f"{k}={config.get(k)}" for k in ("cleanup.policy", "retention.ms",
                                                                       "retention.bytes"))
            finite.append(f"{name} ({settings_seen})")
    if not finite:
        return
    message = ("these topics would delete events, so Kafka could not rebuild the system from them: "
               + "; ".join(finite) + ". Set retention.ms=-1 and retention.bytes=-1 on them (kafka-configs.sh "
               "--alter --entity-type topics --entity-name <topic> --add-config retention.ms=-1,retention.bytes=-1), "
               "or start with <SERVICE>_ALLOW_FINITE_RETENTION=true to run anyway.")
    if settings.allow_finite_retention:
        log.warning("running with finite retention, as allowed: %s", message)
        return
    log.critical("refusing to start: %s", message)
    raise FiniteRetention(message)

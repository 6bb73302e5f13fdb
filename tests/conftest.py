"""Session fixtures: one real Kafka broker and one real Redis server for the whole run."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.infra import Endpoints, docker_answers, from_containers, grant_topics, native, use_kafka_users

# The notifier's deployment key (it seals webhook secrets on the log) for every notifier a test makes, in
# this process or started from it; a deployment sets its own (NOTIFIER_SECRETS_KEY has no default).
NOTIFIER_SECRETS_KEY = "dGVzdHMtb25seS1ub3RpZmllci1zZWNyZXRzLWtleSE="
os.environ.setdefault("NOTIFIER_SECRETS_KEY", NOTIFIER_SECRETS_KEY)


@pytest.fixture(scope="session")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    kafka, redis = os.environ.get("TEST_KAFKA_BOOTSTRAP"), os.environ.get("TEST_REDIS_URL")
    with ExitStack() as stack:
        if kafka and redis:
            found = Endpoints(kafka, redis.rstrip("/"), "environment")
        elif docker_answers():
            found = from_containers(stack)
        else:
            found = native(stack, Path(tmp_path_factory.mktemp("infra")))
        if found.kafka_users:
            use_kafka_users(found.kafka_users)
        print(f"\nKafka {found.kafka_bootstrap}, Redis {found.redis_base} ({found.how})")
        yield found


_databases = itertools.cycle(range(1, 12))  # 12-15 are the end-to-end stack's


@pytest.fixture
async def redis_url(endpoints: Endpoints) -> str:
    """A Redis database of its own for one test, emptied first."""
    url = f"{endpoints.redis_base}/{next(_databases)}"
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()
    return url


@pytest.fixture
async def topic_prefix(endpoints: Endpoints) -> str:
    """Fresh topics for one test, so no test sees another's events; each service may write its own."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    await grant_topics(endpoints.kafka_bootstrap, prefix)
    return prefix

"""Session fixtures: one real Kafka broker and one real Redis server for the whole run."""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from pytest_asyncio import is_async_test
from redis.asyncio import Redis

from tests.infra import Endpoints, docker_answers, from_containers, grant_topics, native, use_kafka_users

# The notifier's deployment key (it seals webhook secrets on the log) for every notifier a test makes, in
# this process or started from it; a deployment sets its own (NOTIFIER_SECRETS_KEY has no default).
NOTIFIER_SECRETS_KEY = "dGVzdHMtb25seS1ub3RpZmllci1zZWNyZXRzLWtleSE="
os.environ.setdefault("NOTIFIER_SECRETS_KEY", NOTIFIER_SECRETS_KEY)


# How long before its limit (pytest-timeout) a hung test prints what each asyncio task is waiting on: the
# stacks pytest-timeout prints show only threads, and an async test's main thread sits in the event loop.
WATCHDOG_MARGIN_S = 30


def limit_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or 0)


def dump_tasks(config: pytest.Config, nodeid: str) -> None:
    out = io.StringIO()
    print(f"\n=== {nodeid} is near its time limit; its asyncio tasks:", file=out)
    for task in asyncio.all_tasks():
        print(f"--- {task.get_name()}: {task.get_coro()!r}", file=out)
        task.print_stack(limit=12, file=out)
    # To the terminal, past output capture, at once: CI's log keeps it even if the run is then killed.
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        sys.stderr.write(out.getvalue())
        sys.stderr.flush()


@pytest.fixture(autouse=True)
async def asyncio_watchdog(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Prints every asyncio task's stack when an async test is still running shortly before its limit."""
    limit = limit_of(request.node)
    if not is_async_test(request.node) or limit <= WATCHDOG_MARGIN_S:
        yield
        return
    handle = asyncio.get_running_loop().call_later(limit - WATCHDOG_MARGIN_S, dump_tasks, request.config,
                                                      request.node.nodeid)
    yield
    handle.cancel()


@pytest.fixture(scope="session")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    kafka, redis = os.environ.get("TEST_KAFKA_BOOTSTRAP"), os.environ.get("TEST_REDIS_URL")
    with ExitStack() as stack:
        if kafka and redis:
            # Each test worker (pytest-xdist) otherwise starts a broker and a Redis of its own; one given Redis
            # would have its numbered databases handed out by every worker at once.
            if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
                pytest.fail("TEST_KAFKA_BOOTSTRAP and TEST_REDIS_URL name one Redis, which parallel test workers "
                            "would share: run with TEST_WORKERS=0 (make test) or pytest -n 0")
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

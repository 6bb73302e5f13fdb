"""The four services as processes, one stack per test module, on fresh topics and emptied databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from tests.e2e.stack import ServiceProcess, stack
from tests.infra import Endpoints


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    """The topic prefix of a module's stack; a module that must not see another's events overrides it."""
    return "e2e"


@pytest.fixture(scope="module")
def stack_settings() -> dict[str, str]:
    """Settings every service of a module's stack gets (names without the service prefix).

    Tests poll with one key far faster than a tool would: the per-key rate limit is not what they test.
    """
    return {"RATE_LIMIT_PER_MINUTE": "100000"}


@pytest.fixture(scope="module")
def services(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory,
             stack_prefix: str, stack_settings: dict[str, str]) -> Iterator[dict[str, ServiceProcess]]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    processes = stack(endpoints.kafka_bootstrap, endpoints.redis_base, stack_prefix, logs, extra=stack_settings)
    try:
        for process in processes.values():
            process.start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()
        print(f"\nservice logs: {logs}")


@pytest.fixture(scope="module", autouse=True)
async def clean_databases(endpoints: Endpoints) -> None:
    for db in range(12, 16):
        client = Redis.from_url(f"{endpoints.redis_base}/{db}")
        await client.flushdb()
        await client.aclose()

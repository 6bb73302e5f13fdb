"""The four services as processes, one stack per test module, on fresh topics and emptied databases."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from redis.asyncio import Redis

from tests.e2e.page_errors import PageErrors
from tests.e2e.stack import ServiceProcess, stack
from tests.infra import Endpoints
from tests.receivers import MailSink

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
async def sink() -> AsyncIterator[MailSink]:
    """An SMTP server that keeps every email it is sent (a module points its stack at it)."""
    async with MailSink() as found:
        yield found


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's browser, never one downloaded by Playwright; without it the test fails, it does not skip."""
    assert CHROMIUM.exists(), (f"Debian's chromium is needed at {CHROMIUM} (apt-get install chromium; "
                               "scripts/bootstrap.sh installs it when run as root)")
    return CHROMIUM


@pytest.fixture(scope="module")
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture(scope="module")
async def browser(chromium: Path, page_errors: PageErrors) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium))
        # Every page the tests open, in any context, is watched.
        new_page, new_context = launched.new_page, launched.new_context

        async def watched_page(**options: Any) -> Page:
            return page_errors.watch(await new_page(**options))

        async def watched_context(**options: Any) -> BrowserContext:
            return page_errors.watch_context(await new_context(**options))

        launched.new_page, launched.new_context = watched_page, watched_context  # type: ignore[method-assign]
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(autouse=True)
def no_page_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that used the browser fails when a page logged an error it did not expect."""
    yield
    if "browser" in request.fixturenames:
        errors: PageErrors = request.getfixturevalue("page_errors")
        unexpected = errors.unexpected()
        assert not unexpected, "the pages logged errors:\n" + "\n".join(unexpected)


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

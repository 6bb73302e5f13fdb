"""Thousands of requests at a steady open-loop rate through the four processes: each is classified once,
decided, and its requester told once, within a drain deadline.

The rate, count and deadline are settings (tests/e2e/volume.py: PIPELINE_TEST_RATE, PIPELINE_TEST_COUNT,
PIPELINE_TEST_DRAIN_S). What the pipeline did is read from its topics, with the load bench's watcher.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from bench.load.figures import door, pipeline
from bench.load.stack import publish_okrs, sample_okrs
from bench.load.targets import body, stories
from bench.load.watch import Watcher
from shared.topics import Topics
from tests.e2e.stack import ServiceProcess
from tests.e2e.volume import VolumeSettings, drain, judge, progress, send_open_loop, summary
from tests.infra import ROOT, Endpoints
from tests.receivers import MailSink
from tests.support import API_KEY, AUTH

pytestmark = pytest.mark.e2e

logger = logging.getLogger(__name__)
DATA = ROOT / "data"


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return "e2e-volume"


@pytest.fixture(scope="module")
def stack_settings(stack_settings: dict[str, str], sink: MailSink) -> dict[str, str]:
    """Mail goes to the sink, so notices are sent, not recorded as not sent. The stories' eight requesters hear
    of hundreds of requests each: the per-person hourly throttle is not what this test is about."""
    return {**stack_settings, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
            "RECIPIENT_DOMAINS": '["northwind-analytics.com"]', "RECIPIENT_LIMIT_PER_HOUR": "1000000"}


@pytest.fixture(scope="module")
def volume() -> VolumeSettings:
    return VolumeSettings()


@pytest.mark.timeout(1500)  # 2,000 requests at 15/s with a drain: about 2.5 minutes here, more on a slow machine
async def test_every_request_of_a_steady_stream_is_classified_decided_and_told_exactly_once(
        services: dict[str, ServiceProcess], sink: MailSink, endpoints: Endpoints, stack_prefix: str,
        volume: VolumeSettings) -> None:
    templates = stories(DATA / "stories.json")
    bodies = [body(templates[n % len(templates)], f"volume-{n}") for n in range(volume.count)]
    watcher = Watcher(endpoints.kafka_bootstrap, volume.kafka_auth(), Topics(stack_prefix))
    # No pool limit: a slow answer must not hold back the next POST on a free connection. Idle connections are
    # dropped well before uvicorn closes them (5 s): one reused as the server closed it fails with ReadError.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=200, keepalive_expiry=2)
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30, headers=AUTH, limits=limits) as http:
        await publish_okrs(http, services["classifier"].url, API_KEY, sample_okrs(DATA / "okrs-2026-Q4.json"))
        await watcher.start()
        watching = asyncio.create_task(progress(watcher))
        try:
            sent = await send_open_loop(http, f"{services['intake'].url}/v1/requests", bodies, rate=volume.rate,
                                        label="volume")
            drained = await drain(watcher, sent.ids, deadline=time.monotonic() + volume.drain_s,
                                  quiet_s=volume.quiet_s)
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
            await watcher.stop()
    figures = pipeline(sent.results, watcher.sightings)
    told = summary(door(sent.results, volume.rate), figures, sent, drained=drained, wall_s=time.monotonic() - started)
    logger.info("pipeline volume: %s", told)

    assert sent.refusals == [], f"{len(sent.refusals)} POSTs not accepted: {sent.refusals[:10]}; {told}"
    assert len(sent.ids) == volume.count, told
    assert judge(sent.ids, watcher.sightings).problems(figures) == [], told
    assert drained, told
    assert len(sink.mail) >= volume.count, f"{len(sink.mail)} emails reached the mail server; {told}"

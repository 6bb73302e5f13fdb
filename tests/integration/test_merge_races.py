"""Merges racing on the real broker and Redis: two requests merged into each other at once leave one open,
and a merge cut short between its claim and its event blocks no later merge for long."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from intake.app import create_app
from intake.config import IntakeSettings
from intake.store import RequestStore
from shared.infra import connect_redis
from shared.topics import Topics
from tests.support import EventTap, eventually, request_body, running

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_for: Callable[..., IntakeSettings]) -> IntakeSettings:
    return settings_for(IntakeSettings)


async def test_two_requests_merged_into_each_other_at_once_leave_one_open(settings: IntakeSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.requests) as tap:
        first, second = [(await client.post("/v1/requests", json=request_body(title=t))).json()["id"]
                         for t in ("Customer logos on the website", "Brand marks on our public pages")]
        answers = await asyncio.gather(client.post(f"/v1/requests/{first}/merge", json={"into": second}),
                                       client.post(f"/v1/requests/{second}/merge", json={"into": first}))
        assert sorted(a.status_code for a in answers) == [202, 409]
        refused = next(a for a in answers if a.status_code == 409)
        assert refused.headers["content-type"] == "application/problem+json"
        await tap.wait_for(lambda es: any(e.type == "request.merged" for e in es))
        await asyncio.sleep(1)
        assert len(tap.of_type("request.merged")) == 1


async def test_a_merge_cut_short_before_its_event_blocks_another_merge_only_for_a_while(
        settings: IntakeSettings) -> None:
    redis = connect_redis(settings.redis_url)
    try:
        async with running(create_app(settings)) as client:
            asked, survivor, other = [(await client.post("/v1/requests", json=request_body(title=t))).json()["id"]
                                      for t in ("Customer logos", "Brand marks", "Webinar deck")]
            # A merge of ``asked`` into ``survivor`` claimed it, and intake stopped before publishing.
            assert await RequestStore(redis).merges.claim(asked, survivor, hold_ms=300) is None
            blocked = await client.post(f"/v1/requests/{asked}/merge", json={"into": other})
            assert blocked.status_code == 409

            async def merged() -> bool:
                answer = await client.post(f"/v1/requests/{asked}/merge", json={"into": other})
                return answer.status_code == 202

            await eventually(merged, timeout=5)
    finally:
        await redis.aclose()

"""Capacity against the real broker and Redis: the backlog in priority order, with starts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from capacity.app import create_app
from capacity.config import CapacitySettings
from shared.events import CloudEvent, RequestWithdrawn, derived_id
from shared.topics import Topics
from tests.builders import classified
from tests.support import EventTap, event, eventually, publish, running

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_for: Callable[..., CapacitySettings]) -> CapacitySettings:
    return settings_for(CapacitySettings, capacity_points=6)


async def test_aligned_work_is_placed_ahead_of_earlier_unaligned_work(settings: CapacitySettings) -> None:
    topics = Topics(settings.topic_prefix)
    early = datetime.now(UTC) - timedelta(hours=1)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.decisions) as tap:
        await publish(settings.kafka_bootstrap, topics,
                      classified("sales-page", lane="sales", submitted_at=early, size="M"),
                      classified("webinar", objective="O2", rank=2, lane="customer", size="M"))
        await tap.wait_for(lambda es: {"sales-page", "webinar"} <= {e.subject for e in es})
        backlog = (await client.get("/v1/backlog")).json()["items"]
        assert [(b["request_id"], b["position"]) for b in backlog] == [("webinar", 1), ("sales-page", 2)]
        # 6 points a cycle, 3 each: both fit the current cycle.
        assert backlog[0]["expected_start_cycle"] == backlog[1]["expected_start_cycle"]


async def test_redelivered_event_changes_nothing_twice(settings: CapacitySettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.decisions) as tap:
        first = classified("page-1", size="L")
        await publish(settings.kafka_bootstrap, topics, first, first, classified("page-2", size="L"))
        await tap.wait_for(lambda es: "page-2" in {e.subject for e in es})
        assert len({e.id for e in tap.events if e.subject == "page-1"}) == 1
        backlog = (await client.get("/v1/backlog")).json()
        assert backlog["depth"] == 2
        # 5 points each against 6 a cycle: the second waits for the next cycle.
        starts = [b["expected_start"] for b in backlog["items"]]
        assert starts[0] < starts[1]


async def test_withdrawn_request_leaves_the_backlog_and_moves_the_rest_up(settings: CapacitySettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.decisions) as tap:
        await publish(settings.kafka_bootstrap, topics,
                      classified("big-1", size="L"), classified("big-2", size="L"))
        await tap.wait_for(lambda es: "big-2" in {e.subject for e in es})
        withdrawn = RequestWithdrawn(request_id="big-1", withdrawn_by="test-tool")
        await publish(settings.kafka_bootstrap, topics, event(withdrawn, derived_id("w", "big-1")))

        async def only_big_2_left() -> bool:
            items = (await client.get("/v1/backlog")).json()["items"]
            return [b["request_id"] for b in items] == ["big-2"]

        await eventually(only_big_2_left)
        # It moved up into the current cycle, and was told so.
        latest = (await tap.wait_for(lambda es: _latest(es, "big-2").data["position"] == 1))
        backlog = (await client.get("/v1/backlog")).json()["items"]
        assert _latest(latest, "big-2").data["expected_start"] == backlog[0]["expected_start"]


def _latest(events: list[CloudEvent], subject: str) -> CloudEvent:
    return [e for e in events if e.subject == subject][-1]

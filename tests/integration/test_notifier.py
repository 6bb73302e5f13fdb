"""Notifier against the real broker and Redis: the requester is told once, with the numbers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from notifier.app import create_app
from notifier.config import NotifierSettings
from shared.topics import Topics
from tests.builders import backlogged
from tests.support import EventTap, eventually, publish, running

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_for: Callable[..., NotifierSettings]) -> NotifierSettings:
    return settings_for(NotifierSettings)


async def test_requester_is_told_position_and_expected_start_once(settings: NotifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    event = backlogged("r-7", position=4)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.notifications) as tap:
        await publish(settings.kafka_bootstrap, topics, event, event, backlogged("r-8"))

        async def told() -> list[dict[str, str]]:
            items: list[dict[str, str]] = (await client.get(
                "/v1/notifications", params={"request_id": "r-7"})).json()["items"]
            return items

        items = await eventually(told)
        await eventually(lambda: _has(client, "r-8"))
        items = await told()
        assert len(items) == 1
        assert items[0]["recipient"] == "dave@example.com" and items[0]["channel"] == "email"
        assert "number 4 in the backlog" in items[0]["text"] and "2026-W49" in items[0]["text"]
        await tap.wait_for(lambda es: {"r-7", "r-8"} <= {e.subject for e in es})
        assert len({e.id for e in tap.events if e.subject == "r-7"}) == 1


async def test_without_an_smtp_server_a_message_is_recorded_as_not_sent_and_says_why(
        settings: NotifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.notifications) as tap:
        await publish(settings.kafka_bootstrap, topics, backlogged("r-9"))
        [item] = await eventually(lambda: _finished(client, "r-9"))
        assert item["status"] == "not_sent" and "no SMTP server configured" in item["detail"]
        assert item["sent_at"] is None
        await tap.wait_for(lambda es: any(e.subject == "r-9" for e in es))
        [announced] = [e for e in tap.events if e.subject == "r-9"]
        assert announced.data["status"] == "not_sent" and "number 1 in the backlog" in announced.data["text"]


async def _finished(client: object, request_id: str) -> list[dict[str, str]]:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    items: list[dict[str, str]] = (await client.get("/v1/notifications", params={"request_id": request_id})).json()[
        "items"]
    return [i for i in items if i["status"] != "pending"]


async def _has(client: object, request_id: str) -> bool:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    return bool((await client.get("/v1/notifications", params={"request_id": request_id})).json()["items"])


async def test_a_collision_is_told_once_to_each_person_whichever_request_announces_it(
        settings: NotifierSettings) -> None:
    from shared.events import CommittedItem, ConflictDetected, Requester
    from tests.support import event, request_body

    people = [Requester(**request_body()["requester"]),
              Requester(**{**request_body()["requester"], "email": "aisha@example.com", "team": "Atlas"})]
    listed = [CommittedItem(request_id=r, title=r, lane="sales", points=8) for r in ("summit", "launch")]
    events = [event(ConflictDetected(request_id=r, conflict_id="c-1", cycle="2026-W49", requests=listed,
                                     stakeholders=people, observation="Both need large work."), f"e-{r}")
              for r in ("summit", "launch")]
    async with running(create_app(settings)) as client:
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), *events)

        async def told() -> list[dict[str, str]]:
            items: list[dict[str, str]] = []
            for request_id in ("summit", "launch"):
                items += (await client.get("/v1/notifications", params={"request_id": request_id})).json()["items"]
            return items if len(items) >= 3 else []

        items = await eventually(told)
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), backlogged("marker"))
        await eventually(lambda: _has(client, "marker"))
        assert sorted(i["recipient"] for i in await told()) == [
            "aisha@example.com", "dave@example.com", "marketing-ops@example.com"]
        assert len(items) == 3

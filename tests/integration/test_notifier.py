"""Notifier against the real broker and Redis: the requester is told once, with the numbers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.asyncio.client import Pipeline

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
        # A later event about the same request rides the same partition: once it is handled, so is the repeat.
        later = backlogged("r-7", position=3)
        await publish(settings.kafka_bootstrap, topics, event, event, later)

        async def told() -> list[dict[str, str]]:
            items: list[dict[str, str]] = (await client.get(
                "/v1/notifications", params={"request_id": "r-7"})).json()["items"]
            return items

        async def both() -> list[dict[str, str]]:
            items = await told()
            return items if len(items) >= 2 else []

        items = await eventually(both)
        assert len(items) == 2  # one for the event consumed twice, one for the later event
        [first] = [i for i in items if i["about_event_id"] == event.id]
        assert first["recipient"] == "dave@example.com" and first["channel"] == "email"
        assert "number 4 in the backlog" in first["text"] and "2026-W49" in first["text"]
        await tap.wait_for(lambda es: len({e.id for e in es if e.subject == "r-7"}) >= 2)
        assert len({e.id for e in tap.events if e.subject == "r-7"}) == 2


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

        async def told() -> dict[str, list[dict[str, str]]]:
            listed = {request_id: (await client.get("/v1/notifications", params={"request_id": request_id})).json()[
                "items"] for request_id in ("summit", "launch")}
            return listed if all(len(items) >= 3 for items in listed.values()) else {}

        # Each request lists the notice once both events were handled, whichever came first.
        listed = await eventually(told)
        assert [i["id"] for i in listed["summit"]] == [i["id"] for i in listed["launch"]]
        assert sorted(i["recipient"] for i in listed["summit"]) == [
            "aisha@example.com", "dave@example.com", "marketing-ops@example.com"]


async def test_an_attempt_whose_lease_was_taken_over_changes_nothing(redis_url: str) -> None:
    from redis.asyncio import Redis

    from notifier.sending.schedule import DUE, Schedule
    from notifier.webhooks.deliveries import DeliveryLog

    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        schedule, deliveries = Schedule(redis), DeliveryLog(redis)
        await redis.zadd(DUE, {"notification:n-1": 0, "delivery:d-1": 0})
        await redis.hset("notifier:delivery:d-1", mapping={"status": "pending", "seq": 1})
        stale = await schedule.claim(100.0, 10.0, 10)
        fresh = await schedule.claim(111.0, 10.0, 10)  # the first lease ran out: claimed again
        assert sorted(c.job for c in stale) == sorted(c.job for c in fresh) == ["delivery:d-1", "notification:n-1"]
        old, new = ({c.kind: c for c in claims} for claims in (stale, fresh))

        assert not await schedule.under_lease(old["notification"], _marks("stale"))
        assert await deliveries.move("d-1", "s-1", "failed", allowed_from=["pending"],
                                     lease=old["delivery"].token) == "stale"
        assert await redis.get("done") is None and await redis.hget("notifier:delivery:d-1", "status") == "pending"

        assert await schedule.under_lease(new["notification"], _marks("fresh"))
        assert await deliveries.move("d-1", "s-1", "succeeded", allowed_from=["pending"],
                                     lease=new["delivery"].token) == "ok"
        assert await redis.get("done") == "fresh"
        assert await redis.hget("notifier:delivery:d-1", "status") == "succeeded"
    finally:
        await redis.aclose()


def _marks(value: str) -> Callable[[Pipeline], None]:
    def queue(pipe: Pipeline) -> None:
        pipe.set("done", value)

    return queue

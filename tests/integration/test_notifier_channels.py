"""People's channels against the real broker and Redis: a real SMTP server (aiosmtpd) and a real
Slack-style HTTP receiver on loopback; sending never holds up consuming, and a restart repeats
nothing beyond the documented bound and loses nothing."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest

from notifier.app import create_app
from notifier.config import NotifierSettings
from shared.envelope import derived_id
from shared.infra import ensure_topics
from shared.topics import Topics
from tests.notifier_samples import DAVE, backlogged, samples
from tests.receivers import HttpReceiver, MailSink
from tests.support import AUTH, EventTap, event, eventually, publish, running

pytestmark = pytest.mark.integration


@pytest.fixture
def settings_with(notifier_settings: Callable[..., NotifierSettings]) -> Callable[..., NotifierSettings]:
    return partial(notifier_settings, allow_private_targets=True)


async def told(client: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/v1/notifications", params={"request_id": request_id})).json()[
        "items"]
    return items


async def test_the_requester_is_acknowledged_by_email_with_position_expected_start_and_objective(
        settings_with: Callable[..., NotifierSettings]) -> None:
    async with MailSink() as sink:
        settings = settings_with(sink)
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client, \
                EventTap(settings.kafka_bootstrap, topics.notifications) as tap:
            # The decision names the objective's title, as the request's classification did: the notifier
            # keeps no OKR sets of its own.
            sample = event(backlogged("r-1", position=4, objective_id="O2",
                                      objective_title="Reduce customer churn through onboarding"))
            await publish(settings.kafka_bootstrap, topics, sample)

            [mail] = await sink.wait_for(1)
            assert mail.to == ["dave@example.com"]
            assert "not right now" in mail.text and "number 4 in the backlog" in mail.text
            assert "cycle 2026-W49 (the week of Monday 30 November 2026)" in mail.text
            assert 'O2, "Reduce customer churn through onboarding"' in mail.text
            assert "The sales share of this cycle (4 of 20 points) is already committed." in mail.text
            notification_id = derived_id(sample.id, "dave@example.com", "email")
            assert mail.message["Message-ID"] == f"<{notification_id}@example.com>"
            assert mail.message["From"] == "The marketing team <marketing-requests@example.com>"

            [item] = await eventually(lambda: _sent(client, "r-1"))
            assert item["channel"] == "email" and item["recipient"] == "dave@example.com"
            assert item["subject"] == mail.subject and item["text"] == mail.text and item["sent_at"]
            await tap.wait_for(lambda es: any(e.type == "notification.sent" for e in es))
            [announced] = tap.of_type("notification.sent")
            assert announced.id == notification_id and announced.data["status"] == "sent"


async def _sent(client: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    return [i for i in await told(client, request_id) if i["status"] == "sent"]


async def test_a_share_alert_reaches_ops_and_the_heat_shield_by_email_and_the_team_channel_once(
        settings_with: Callable[..., NotifierSettings]) -> None:
    async with MailSink() as sink, HttpReceiver() as slack:
        settings = settings_with(sink, slack_webhook_url=slack.url)
        async with running(create_app(settings)):
            await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), event(samples()["capacity.alert"]))
            mail = await sink.wait_for(2)
            [post] = await slack.wait_for(1)
            await asyncio.sleep(0.3)
        assert sorted(r for m in mail for r in m.to) == ["heat-shield@example.com", "marketing-ops@example.com"]
        assert all("About 35% of this cycle goes to executive requests" in m.text for m in mail)
        assert len(slack.requests) == 1 and post.headers["content-type"] == "application/json"
        assert post.body.startswith(b'{"text":"*Cycle 2026-W48:* About 35% of this cycle')


async def test_a_slow_or_dead_receiver_delays_nobody_else(settings_with: Callable[..., NotifierSettings]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    async with MailSink() as sink, HttpReceiver(delay_s=30) as slow, HttpReceiver() as healthy:
        settings = settings_with(sink, send_timeout_s=20.0, lease_s=60.0, retry_schedule_s=[30.0])
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client:
            for url in (slow.url, dead, healthy.url):
                answer = await client.post("/v1/subscriptions", headers=AUTH,
                                           json={"url": url, "event_types": ["request.backlogged"]})
                assert answer.status_code == 201
            await publish(settings.kafka_bootstrap, topics, event(backlogged("r-1")))
            [held] = await slow.wait_for(1)
            await healthy.wait_for(1)
            await sink.wait_for(1)

            # The slow receiver is still holding its first delivery (for 30 s); the next event goes through.
            await publish(settings.kafka_bootstrap, topics, event(backlogged("r-2")))
            second = (await healthy.wait_for(2))[1]
            mail = (await sink.wait_for(2))[1]
            # Both arrived before the first delivery to the slow receiver could even have timed out (the send
            # timeout, 20 s): nothing waited on it.
            assert second.at < held.at + 20 and mail.at < held.at + 20
            await slow.wait_for(2)  # both its deliveries are in flight at once, neither answered
            failed_fast = await eventually(lambda: _attempted(client, dead))
            assert "ConnectError" in failed_fast[0]["error"]


async def _attempted(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    subscriptions = (await client.get("/v1/subscriptions", headers=AUTH)).json()["items"]
    [subscription] = [s for s in subscriptions if s["url"] == url]
    items = (await client.get("/v1/deliveries", params={"subscription_id": subscription["id"]}, headers=AUTH)).json()
    attempts: list[dict[str, Any]] = [a for d in items["items"] for a in d["attempts"]]
    return attempts


async def test_killing_the_notifier_mid_burst_repeats_at_most_the_sends_in_flight_and_loses_none(
        settings_with: Callable[..., NotifierSettings]) -> None:
    count, concurrency = 24, 4
    events = [event(backlogged(f"r-{i}", title=f"Landing page {i}")) for i in range(count)]
    async with MailSink(delay_s=0.3) as sink:
        settings = settings_with(sink, send_concurrency=concurrency, lease_s=14.0, send_timeout_s=2.0)
        topics = Topics(settings.topic_prefix)

        async def burst() -> None:
            for start in range(0, count, 8):
                await publish(settings.kafka_bootstrap, topics, *events[start:start + 8])
                await asyncio.sleep(0.5)

        await ensure_topics(settings, topics)
        async with EventTap(settings.kafka_bootstrap, topics.notifications) as tap:
            publishing = asyncio.create_task(burst())
            async with running(create_app(settings)):
                await sink.wait_for(5)
            stopped_with = len(sink.mail)
            async with running(create_app(settings)) as client:
                await publishing
                await eventually(lambda: _all_delivered(sink, count), timeout=60)
                for i in range(count):
                    [item] = await eventually(lambda i=i: _sent(client, f"r-{i}"))  # type: ignore[misc]
                    assert item["text"] in {m.text for m in sink.mail}
                await tap.wait_for(lambda es: len({e.id for e in es}) >= count)
        per_message = Counter(str(m.message["Message-ID"]) for m in sink.mail)
        repeats = sum(n - 1 for n in per_message.values())
        print(f"\nstopped after {stopped_with} of {count} messages; {len(sink.mail)} sent in all, {repeats} repeat(s) "
              f"(bound: the {concurrency} in flight)")
        assert len(per_message) == count and max(per_message.values()) <= 2 and repeats <= concurrency
        assert len({e.id for e in tap.of_type("notification.sent")}) == count


async def _all_delivered(sink: MailSink, count: int) -> bool:
    return len({str(m.message["Message-ID"]) for m in sink.mail}) >= count


async def test_the_same_event_consumed_twice_sends_once(settings_with: Callable[..., NotifierSettings]) -> None:
    # Milestones, each told at once (a second backlog notice would be an update: held, or replacing the first).
    sample = event(samples()["request.scheduled"])
    async with MailSink() as sink:
        settings = settings_with(sink)
        async with running(create_app(settings)) as client:
            # A later event about the same request rides the same partition: once it is sent, the repeat
            # before it was consumed too.
            later = event(samples()["request.started"])
            await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), sample, sample, later)
            await eventually(lambda: _sent_about(client, "r-1", later.id))
            await asyncio.sleep(0.3)
        assert [m.to for m in sink.mail] == [[DAVE.email], [DAVE.email]]
        assert len({m.message["Message-ID"] for m in sink.mail}) == 2


async def _sent_about(client: httpx.AsyncClient, request_id: str, event_id: str) -> bool:
    return any(i["about_event_id"] == event_id for i in await _sent(client, request_id))

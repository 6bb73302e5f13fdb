"""What the notifier must not say, against the real broker and Redis and a real SMTP server (aiosmtpd):
nobody hears of an escalation before the heat-shield manager, mail goes only to allowed domains and
within a per-person throttle, and nothing more is said about a withdrawn request, whichever of its
events arrives first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from typing import Any, cast

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from notifier.app import create_app
from notifier.config import NotifierSettings
from shared.envelope import CloudEvent
from shared.events import CapacityAlert, Requester, RequestScheduled, RequestWithdrawn, TradeoffRequired
from shared.topics import Topics
from tests.notifier_samples import DAVE, HEAT_SHIELD, VP, backlogged, committed
from tests.receivers import HttpReceiver, MailSink
from tests.support import EventTap, event, eventually, publish, running

pytestmark = pytest.mark.integration
OPS = "marketing-ops@example.com"


class PickySink(MailSink):
    """Mail to ``slow`` addresses is accepted after ``delay_s``; to ``refusing`` ones, answered 451 (try later)."""

    def __init__(self, *, slow: tuple[str, ...] = (), delay_s: float = 0.0) -> None:
        super().__init__()
        self.slow, self.slow_delay_s = set(slow), delay_s
        self.refusing: set[str] = set()

    async def __aenter__(self) -> PickySink:
        await super().__aenter__()
        return self

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refusing & set(envelope.rcpt_tos):
            return "451 Try again later"
        if self.slow & set(envelope.rcpt_tos):
            await asyncio.sleep(self.slow_delay_s)
        return await super().handle_DATA(server, session, envelope)


async def told(client: httpx.AsyncClient, request_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/v1/notifications", params={"request_id": request_id})).json()[
        "items"]
    return items


def finished(client: httpx.AsyncClient, request_id: str, count: int = 1) -> Callable[[], Any]:
    async def check() -> list[dict[str, Any]] | None:
        items = [i for i in await told(client, request_id) if i["status"] != "pending"]
        return items if len(items) >= count else None

    return check


async def kept_back(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    """``notifier_kept_back_total`` as the notifier's ``/metrics`` shows it, by (channel, reason)."""
    text = (await client.get("/metrics")).text
    return {(s.labels["channel"], s.labels["reason"]): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == "notifier_kept_back_total"}


async def kept_back_once_counted(client: httpx.AsyncClient, reason: str) -> dict[tuple[str, str], float]:
    """``kept_back`` once an email kept back for ``reason`` is counted. The job counts a notice after its
    record is written and its event published, so a reader who has seen either may be a moment early."""
    async def counted() -> dict[tuple[str, str], float] | None:
        found = await kept_back(client)
        return found if found[("email", reason)] > 0 else None

    return cast(dict[tuple[str, str], float], await eventually(counted))


def tradeoff(request_id: str, title: str) -> CloudEvent:
    return event(TradeoffRequired(
        request_id=request_id, title=title, requester=VP, lane="executive", tradeoff_id=f"t-{request_id}",
        cycle="2026-W48", committed=committed(), addressed_to=[HEAT_SHIELD, VP.email],
        question=f'"{title}" does not fit cycle 2026-W48. What would you like us to pause?'))


def scheduled(request_id: str, requester: Requester = DAVE) -> CloudEvent:
    return event(RequestScheduled(request_id=request_id, title=f"Landing page {request_id}", requester=requester,
                                  lane="sales", cycle="2026-W48", cycle_start=date(2026, 11, 23), points=3))


def withdrawn(request_id: str) -> CloudEvent:
    return event(RequestWithdrawn(request_id=request_id, withdrawn_by="crm", reason="no longer needed"))


async def test_the_heat_shield_hears_of_every_escalation_before_the_requester_and_ops(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    titles = {f"r-3{i}": f"Board slides {i}" for i in range(4)}
    # The heat shield's mail server is the slow one: sent at once, the others would arrive first.
    async with PickySink(slow=(HEAT_SHIELD,), delay_s=0.4) as sink:
        settings = notifier_settings(sink)  # the grace (90 s) is far off: the heat shield's sending releases them
        async with running(create_app(settings)) as client:
            await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix),
                          *(tradeoff(r, title) for r, title in titles.items()))
            await sink.wait_for(3 * len(titles), timeout=30)
            for request_id, title in titles.items():
                mail = {to: m.at for m in sink.mail if f'"{title}"' in m.subject for to in m.to}
                assert set(mail) == {HEAT_SHIELD, VP.email, OPS}
                assert mail[HEAT_SHIELD] < mail[VP.email] and mail[HEAT_SHIELD] < mail[OPS], (title, mail)
                items = await eventually(finished(client, request_id, 3))
                sent_at = {i["audience"]: i["sent_at"] for i in items if i["status"] == "sent"}
                assert sent_at["heat_shield"] < sent_at["requester"] and sent_at["heat_shield"] < sent_at["ops"]


async def test_a_failing_heat_shield_mail_holds_the_requester_only_for_the_grace_even_across_a_restart(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    async with PickySink() as sink:
        sink.refusing.add(HEAT_SHIELD)
        settings = notifier_settings(sink, escalation_grace_s=4.0, retry_schedule_s=[60.0])
        async with running(create_app(settings)) as client:
            await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), tradeoff("r-40", "Board slides"))
            recorded = time.monotonic()

            async def heat_shield_failed_once() -> bool:
                return any(i["audience"] == "heat_shield" and i["attempts"] >= 1 for i in await told(client, "r-40"))

            await eventually(heat_shield_failed_once)
        assert sink.mail == []  # stopped, with the requester and ops still held
        async with running(create_app(settings)) as client:
            await sink.wait_for(2, timeout=20)
            assert {to for m in sink.mail for to in m.to} == {VP.email, OPS}
            assert min(m.at for m in sink.mail) >= recorded + 3.0  # not before the grace (4 s) ran out
            [heat_shield] = [i for i in await told(client, "r-40") if i["audience"] == "heat_shield"]
            assert heat_shield["status"] == "pending" and "451" in heat_shield["detail"]


async def test_mail_to_a_domain_off_the_allow_list_is_recorded_as_not_sent_and_never_sent(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    outsider = DAVE.model_copy(update={"email": "victim@elsewhere.test"})
    partner = DAVE.model_copy(update={"email": "ana@partner.test"})
    async with MailSink() as sink:
        settings = notifier_settings(sink, recipient_domains=["partner.test"])
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client, \
                EventTap(settings.kafka_bootstrap, topics.notifications) as tap:
            await publish(settings.kafka_bootstrap, topics, event(backlogged("r-1", requester=outsider)),
                          event(backlogged("r-2", requester=partner)))
            [refused] = await eventually(finished(client, "r-1"))
            [allowed] = await eventually(finished(client, "r-2"))
            assert refused["status"] == "not_sent" and refused["sent_at"] is None
            assert "elsewhere.test is not on the allow-list" in refused["detail"]
            assert allowed["status"] == "sent"
            await tap.wait_for(lambda es: {e.subject for e in es} >= {"r-1", "r-2"})
            [announced] = [e for e in tap.events if e.subject == "r-1"]
            assert announced.data["status"] == "not_sent" and "allow-list" in announced.data["detail"]
            counted = await kept_back_once_counted(client, "refused")
            assert counted[("email", "refused")] == 1 and counted[("email", "throttled")] == 0
        assert [m.to for m in sink.mail] == [["ana@partner.test"]]


async def test_a_person_gets_at_most_the_hourly_limit_and_the_rest_is_recorded_as_throttled(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    alerts = [event(CapacityAlert(alert_id=f"a-{i}", cycle="2026-W48", kind="internal_over_allowance",
                                  observation="Internal work crowds out customer work.", shares={"sales": 0.5}))
              for i in range(3)]
    async with MailSink() as sink:
        settings = notifier_settings(sink, recipient_limit_per_hour=2)
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client, \
                EventTap(settings.kafka_bootstrap, topics.notifications) as tap:
            await publish(settings.kafka_bootstrap, topics, *(event(backlogged(f"r-{i}")) for i in range(3)), *alerts)
            items = [i for r in ("r-0", "r-1", "r-2") for i in await eventually(finished(client, r))]
            assert sorted(i["status"] for i in items) == ["not_sent", "sent", "sent"]
            [throttled] = [i for i in items if i["status"] == "not_sent"]
            assert throttled["detail"].startswith("throttled: dave@example.com was already sent 2 email(s)")
            await tap.wait_for(lambda es: any(e.data.get("status") == "not_sent" for e in es))
            await sink.wait_for(2 + 2 * len(alerts))  # the team's own addresses are not throttled
            counted = await kept_back_once_counted(client, "throttled")
            assert counted[("email", "throttled")] == 1 and counted[("email", "refused")] == 0
        assert len(sink.to(DAVE.email)) == 2
        assert len(sink.to(OPS)) == len(sink.to(HEAT_SHIELD)) == len(alerts)


async def test_a_commitment_announced_after_the_withdrawal_is_not_sent(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    async with MailSink() as sink, HttpReceiver() as hook:
        settings = notifier_settings(sink, allow_private_targets=True)
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client, \
                EventTap(settings.kafka_bootstrap, topics.notifications) as tap:
            subscribed = await client.post("/v1/subscriptions", json={"url": hook.url,
                                                                       "event_types": ["request.withdrawn"]})
            assert subscribed.status_code == 201
            await publish(settings.kafka_bootstrap, topics, withdrawn("r-1"))
            await hook.wait_for(1)  # the notifier has consumed the withdrawal (from the requests topic)
            await publish(settings.kafka_bootstrap, topics, scheduled("r-1"), scheduled("r-2"))
            [cancelled] = await eventually(finished(client, "r-1"))
            assert cancelled["status"] == "not_sent" and "withdrawn" in cancelled["detail"]
            assert cancelled["about_event_type"] == "request.scheduled"
            await eventually(finished(client, "r-2"))  # the request that was not withdrawn is told
            await tap.wait_for(lambda es: any(e.subject == "r-1" for e in es))
            [announced] = [e for e in tap.events if e.subject == "r-1"]
            assert announced.data["status"] == "not_sent"
            assert (await kept_back_once_counted(client, "withdrawn"))[("email", "withdrawn")] == 1
        assert [m.subject for m in sink.mail] == ['"Landing page r-2" is committed to cycle 2026-W48']


async def test_a_commitment_still_pending_when_the_withdrawal_arrives_is_cancelled(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    async with PickySink() as sink:
        sink.refusing.add(DAVE.email)  # the first attempt fails: the notice waits for its retry
        settings = notifier_settings(sink, retry_schedule_s=[1.0] * 20, retry_jitter=0.0)
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client:
            await publish(settings.kafka_bootstrap, topics, scheduled("r-1"))

            async def failed_once() -> bool:
                return any(i["attempts"] >= 1 and i["status"] == "pending" for i in await told(client, "r-1"))

            await eventually(failed_once)
            await publish(settings.kafka_bootstrap, topics, withdrawn("r-1"))
            [cancelled] = await eventually(finished(client, "r-1"))
            sink.refusing.clear()
            assert cancelled["status"] == "not_sent" and "withdrawn" in cancelled["detail"]
            await asyncio.sleep(2.5)  # past the next retries it would have had
            assert [i["status"] for i in await told(client, "r-1")] == ["not_sent"]
        assert sink.mail == []


async def test_a_held_notice_claimed_early_waits_again_until_the_first_one_finishes(redis_url: str) -> None:
    from dataclasses import replace

    from notifier.domain import escalation_released
    from notifier.drafts import Draft
    from notifier.sending.schedule import DUE, Schedule
    from notifier.store import NotificationLog

    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        log, schedule = NotificationLog(redis), Schedule(redis)
        base = Draft(id="n-heat", subject="r-1", request_id="r-1", about_event_id="e-1",
                     about_event_type="request.tradeoff_required", audience="heat_shield", recipient=HEAT_SHIELD,
                     channel="email", title="Trade-off", text="What should we pause?")
        first, held = replace(base, releases=("n-vp",)), replace(base, id="n-vp", audience="requester",
                                                                  recipient=VP.email, after=("n-heat",))
        assert await log.record([first, held], now=100.0, created_at="then", hold_s=50.0) == 2
        assert await redis.zscore(DUE, "notification:n-vp") == 150.0

        def rule(at: float) -> Callable[[list[str | None], float], bool]:
            return lambda statuses, until: escalation_released(statuses, now=at, hold_until=until)

        [claim] = [c for c in await schedule.claim(160.0, 10.0, 10) if c.id == "n-vp"]  # say, claimed early
        assert await log.hold(claim, held, rule(120.0)) == "held"
        assert await redis.zscore(DUE, "notification:n-vp") == 150.0  # back to its hold's end

        async with redis.pipeline(transaction=True) as pipe:
            NotificationLog.finish(pipe, first, "sent", at="now", detail=None, now=121.0)
            await pipe.execute()
        assert await redis.zscore(DUE, "notification:n-vp") == 121.0  # released at once
        [claim] = await schedule.claim(121.0, 10.0, 10)
        assert await log.hold(claim, held, rule(121.0)) == "released"
    finally:
        await redis.aclose()

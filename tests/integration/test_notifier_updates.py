"""A requester's updates coalesce, against the real broker and Redis and a real SMTP server (aiosmtpd): that
their request's expected start moved (a backlog notice again, a slipped forecast) they hear at most once per
window, the latest news replacing what still waits, while a commitment, start or completion goes at once and
opens the window again. The state survives the notifier's Redis being rebuilt from the log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from notifier.app import create_app
from notifier.config import NotifierSettings
from notifier.rebuild import rebuild
from notifier.threads import SUPERSEDED, UPDATE_DETAIL
from shared.envelope import CloudEvent
from shared.events import ForecastSlipped, RequestScheduled, StartForecast
from shared.topics import Topics
from tests.integration.test_notifier_guards import kept_back_once_counted
from tests.notifier_samples import DAVE, HEAT_SHIELD, backlogged, samples
from tests.receivers import MailSink
from tests.support import emptied, event, eventually, publish, running

pytestmark = pytest.mark.integration


async def told(client: httpx.AsyncClient, request_id: str) -> dict[str, dict[str, Any]]:
    """What the requester was told about the request, by the event it was about."""
    items = (await client.get("/v1/notifications", params={"request_id": request_id})).json()["items"]
    return {i["about_event_id"]: i for i in items if i["audience"] == "requester"}


def settled(client: httpx.AsyncClient, request_id: str, want: dict[str, str]) -> Callable[[], Any]:
    """Once every event in ``want`` has a notice in the status it names."""
    async def check() -> dict[str, dict[str, Any]] | None:
        found = await told(client, request_id)
        return found if all(e in found and found[e]["status"] == s for e, s in want.items()) else None

    return check


def slipped(request_id: str) -> CloudEvent:
    return event(ForecastSlipped(
        request_id=request_id, title="Landing page for Halvorsen Logistics", requester=DAVE, lane="sales",
        previous_p85=date(2026, 12, 7), start_forecast=StartForecast(
            likely=date(2026, 12, 9), p85=date(2026, 12, 21), p95=date(2026, 12, 30), method="monte_carlo",
            history_items=42)))


def scheduled(request_id: str) -> CloudEvent:
    return event(RequestScheduled(request_id=request_id, title="Landing page for Halvorsen Logistics",
                                  requester=DAVE, lane="sales", cycle="2026-W48", cycle_start=date(2026, 11, 23),
                                  points=3))


async def test_updates_within_the_window_wait_and_replace_each_other_and_a_commitment_goes_at_once(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    async with MailSink() as sink:
        settings = notifier_settings(sink)  # the default window, an hour
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client:
            first = event(backlogged("r-1", position=4))
            await publish(settings.kafka_bootstrap, topics, first)
            await eventually(settled(client, "r-1", {first.id: "sent"}))

            # The start moves three times within the hour: none is sent, the last one waits, the others
            # are replaced by it.
            moved = [event(backlogged("r-1", position=6)), event(backlogged("r-1", position=9)), slipped("r-1")]
            await publish(settings.kafka_bootstrap, topics, *moved)
            found = await eventually(settled(client, "r-1", {moved[0].id: "not_sent", moved[1].id: "not_sent",
                                                             moved[2].id: "pending"}))
            assert {found[e.id]["detail"] for e in moved[:2]} == {SUPERSEDED}
            # each names the notice that replaced it: the next update, and the last one waits
            assert [found[e.id]["superseded_by"] for e in moved] == [found[moved[1].id]["id"],
                                                                      found[moved[2].id]["id"], None]
            waiting = found[moved[2].id]
            assert waiting["detail"] == UPDATE_DETAIL
            sent_at = found[first.id]["sent_at"]
            assert waiting["next_attempt_at"] > sent_at  # the window's end, an hour after the first was sent

            # A commitment goes at once and replaces the update still waiting.
            commitment = scheduled("r-1")
            await publish(settings.kafka_bootstrap, topics, commitment)
            found = await eventually(settled(client, "r-1", {commitment.id: "sent", moved[2].id: "not_sent"}))
            assert found[moved[2].id]["detail"] == SUPERSEDED
            assert found[moved[2].id]["superseded_by"] == found[commitment.id]["id"]
            assert found[first.id]["superseded_by"] is None

            # After it, the next update is news again: at once.
            bumped = event(backlogged("r-1", position=2))
            await publish(settings.kafka_bootstrap, topics, bumped)
            await eventually(settled(client, "r-1", {bumped.id: "sent"}))
            counted = await kept_back_once_counted(client, "superseded")
        assert [m.to for m in sink.mail] == [[DAVE.email]] * 3
        assert counted[("email", "superseded")] == 3


async def test_the_update_that_waited_goes_when_the_window_ends_and_another_request_is_not_held(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    async with MailSink() as sink:
        settings = notifier_settings(sink, update_window_s=2.0)
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client:
            first, other = event(backlogged("r-1", position=4)), event(backlogged("r-2", position=5))
            await publish(settings.kafka_bootstrap, topics, first, other)
            found = await eventually(settled(client, "r-1", {first.id: "sent"}))
            await eventually(settled(client, "r-2", {other.id: "sent"}))  # its own thread
            later, latest = event(backlogged("r-1", position=6)), event(backlogged("r-1", position=9))
            await publish(settings.kafka_bootstrap, topics, later, latest)
            found = await eventually(settled(client, "r-1", {later.id: "not_sent", latest.id: "sent"}), timeout=20)
        assert found[latest.id]["sent_at"] >= found[first.id]["sent_at"]
        gap = _seconds(found[latest.id]["sent_at"]) - _seconds(found[first.id]["sent_at"])
        assert gap >= 1.9, gap  # not before the window's end
        assert len(sink.mail) == 3


async def test_a_rebuilt_notifier_still_holds_the_next_update_of_a_thread(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    async with MailSink() as sink:
        settings = notifier_settings(sink)
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client:
            first = event(backlogged("r-1", position=4))
            await publish(settings.kafka_bootstrap, topics, first)
            await eventually(settled(client, "r-1", {first.id: "sent"}))
        await emptied(settings.redis_url)
        await rebuild(settings)  # the notifier stopped; its Redis rebuilt from the log alone
        async with running(create_app(settings)) as client:
            await eventually(settled(client, "r-1", {first.id: "sent"}))
            later = event(backlogged("r-1", position=7))
            await publish(settings.kafka_bootstrap, topics, later)
            found = await eventually(settled(client, "r-1", {later.id: "pending"}))
            assert found[later.id]["detail"] == UPDATE_DETAIL
        assert len(sink.mail) == 1


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def test_an_urgent_requests_place_in_the_backlog_is_told_beside_its_tradeoff_question(
        notifier_settings: Callable[..., NotifierSettings]) -> None:
    # Capacity says both in one run: it waits (position, expected start, why), and it needs a trade-off.
    async with MailSink() as sink:
        settings = notifier_settings(sink)
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client:
            waits = event(backlogged("r-9", position=3))
            question = event(samples()["request.tradeoff_required"].model_copy(update={
                "request_id": "r-9", "requester": DAVE, "addressed_to": [HEAT_SHIELD, DAVE.email]}))
            await publish(settings.kafka_bootstrap, topics, waits, question)
            found = await eventually(settled(client, "r-9", {waits.id: "sent", question.id: "sent"}))
            assert found[waits.id]["superseded_by"] is None
        to_dave = [m for m in sink.mail if m.to == [DAVE.email]]
        assert len(to_dave) == 2 and any("Position in the backlog: 3" in m.text for m in to_dave)

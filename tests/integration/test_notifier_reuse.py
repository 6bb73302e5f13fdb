"""The notifier's reuse notices against the real broker, Redis and an SMTP server: look-alike asks of two
stakeholders are told once per pair; a merge is told to both requesters, the merged requester hears the
survivor's news from then on, nothing more about the merged request, and a rebuild keeps all that."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from notifier.app import create_app
from notifier.config import NotifierSettings
from notifier.rebuild import rebuild
from shared.events import RequestClassified, RequestDone, RequestStarted, RequestSubmitted, SimilarRequest
from shared.topics import Topics
from tests.builders import backlogged
from tests.notifier_samples import AISHA, DAVE, reuse
from tests.receivers import MailSink
from tests.support import details, emptied, event, eventually, publish, running, settled

pytestmark = pytest.mark.integration

OPS = "marketing-ops@example.com"


@pytest.fixture
def settings_with(notifier_settings: Callable[..., NotifierSettings]) -> Callable[..., NotifierSettings]:
    return partial(notifier_settings, ops_email=OPS)


def _submitted(request_id: str, title: str, requester: Any) -> RequestSubmitted:
    return RequestSubmitted(request_id=request_id, request=details(title=title, requester=requester.model_dump()),
                            submitted_at=datetime.now(UTC), submitted_by="test-tool")


def _classified(request_id: str, title: str, requester: Any, like: str, like_title: str, like_team: str
                ) -> RequestClassified:
    similar = SimilarRequest(request_id=like, score=0.88, kind="duplicate", shared_terms=["logos"], title=like_title,
                             team=like_team, lane="business_unit", submitted_at=datetime.now(UTC))
    return RequestClassified(request_id=request_id, request=details(title=title, requester=requester.model_dump()),
                             submitted_at=datetime.now(UTC), lane="sales", colour="orange", objective_id=None,
                             rationale="test", similar=[similar])


async def _known(settings: NotifierSettings, *request_ids: str) -> None:
    """Wait until the notifier read these submissions (the requests topic; a classification comes on another)."""
    redis = Redis.from_url(settings.redis_url)
    try:
        async def every_one() -> bool:
            return await redis.exists(*(f"notifier:ask:{r}" for r in request_ids)) == len(request_ids)

        await eventually(every_one)
    finally:
        await redis.aclose()


def _mail(sink: MailSink) -> Callable[[], Any]:
    async def check() -> list[tuple[str, str]]:
        return sorted((m.to[0], m.subject) for m in sink.mail)

    return check


async def test_two_stakeholders_asking_alike_and_ops_are_told_once_per_pair(
        settings_with: Callable[[MailSink], NotifierSettings]) -> None:
    async with MailSink() as sink:
        settings = settings_with(sink)
        topics = Topics(settings.topic_prefix)
        logos, marks = "Customer logos on the website", "Brand marks on our public pages"
        async with running(create_app(settings)):
            named = event(_classified("r-b", logos, DAVE, "r-a", marks, AISHA.team))
            named_back = event(_classified("r-a", marks, AISHA, "r-b", logos, DAVE.team))
            await publish(settings.kafka_bootstrap, topics, event(_submitted("r-a", marks, AISHA)),
                          event(_submitted("r-b", logos, DAVE)))
            await _known(settings, "r-a", "r-b")
            await publish(settings.kafka_bootstrap, topics, named, named, named_back)
            told = await settled(_mail(sink))
        assert [to for to, _ in told] == sorted([DAVE.email, AISHA.email, OPS])
        to_dave, to_aisha = sink.to(DAVE.email)[0].text, sink.to(AISHA.email)[0].text
        assert marks in to_dave and AISHA.team in to_dave
        assert logos in to_aisha and DAVE.team in to_aisha
        assert logos in sink.to(OPS)[0].text and marks in sink.to(OPS)[0].text


async def test_a_merged_requester_follows_the_survivor_and_hears_nothing_more_of_the_merged_request(
        settings_with: Callable[[MailSink], NotifierSettings]) -> None:
    classified, merged = reuse()  # r-41 (Dave) is merged into r-40 (Aisha)
    card = {"title": merged.into_title, "requester": AISHA, "lane": "business_unit"}
    async with MailSink() as sink:
        settings = settings_with(sink)
        topics = Topics(settings.topic_prefix)
        async with running(create_app(settings)) as client:
            await publish(settings.kafka_bootstrap, topics, event(_submitted("r-40", merged.into_title, AISHA)))
            await _known(settings, "r-40")
            await publish(settings.kafka_bootstrap, topics, event(classified))
            assert await settled(lambda: _count(sink)) == 3  # the overlap: Dave, Aisha and ops
            once = event(merged)
            await publish(settings.kafka_bootstrap, topics, once, once)  # delivered twice
            assert await settled(lambda: _count(sink)) == 5
            about_merge = [m for m in sink.mail[3:]]
            assert sorted(m.to[0] for m in about_merge) == sorted([DAVE.email, AISHA.email])
            assert "goes ahead as" in next(m.subject for m in about_merge if m.to == [DAVE.email])
            await publish(settings.kafka_bootstrap, topics, event(RequestStarted(request_id="r-40", by="team", **card)),
                          backlogged("r-41", position=2))
            told = await settled(lambda: _count(sink))
            # A stop with no grace cuts sends short like a crash (one repeat allowed): stop once every notice
            # is recorded as finished, not only once its mail arrived.
            await eventually(lambda: _all_finished(client))
        started = [m.to[0] for m in sink.mail if "has started" in m.subject]
        assert sorted(started) == sorted([AISHA.email, DAVE.email])
        assert told == 7  # nothing about the merged request after the merge

        await emptied(settings.redis_url)
        await rebuild(settings)  # the notifier stopped; its Redis rebuilt from the log alone
        async with running(create_app(settings)):
            await publish(settings.kafka_bootstrap, topics, event(RequestDone(request_id="r-40", by="team", **card)))
            await settled(lambda: _count(sink))
        done = [m.to[0] for m in sink.mail if "done" in m.subject.lower()]
        assert sorted(done) == sorted([AISHA.email, DAVE.email])
        assert len(sink.mail) == 9, [(m.to, m.subject) for m in sink.mail]


async def _all_finished(client: httpx.AsyncClient) -> bool:
    for request_id in ("r-40", "r-41"):
        answer = await client.get("/v1/notifications", params={"request_id": request_id, "limit": 100})
        assert answer.status_code == 200, answer.text
        if any(n["status"] == "pending" for n in answer.json()["items"]):
            return False
    return True


async def _count(sink: MailSink) -> int:
    return len(sink.mail)

"""Similar requests found at classification, on the real broker and Redis: named on request.classified
and in the dry run; look-alikes for another account and closed requests are not named."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from classifier.app import create_app
from classifier.config import ClassifierSettings
from classifier.rebuild import rebuild
from classifier.similarity.detector import Detector
from classifier.store import CLOSED, VECTORS, vectors_key
from shared.events import Requester, RequestMerged, RequestWithdrawn
from shared.infra import connect_redis
from shared.topics import Topics
from tests.builders import okr_set, submitted
from tests.support import AUTH, CRM_KEY, EventTap, auth, emptied, event, eventually, publish, request_body, running

pytestmark = pytest.mark.integration

QUARTER = "2026-Q4"
LOGOS = {"title": "Customer logos on the website",
         "description": "Add the logos of our biggest customers to the home page and the product pages, "
                        "so visitors see who trusts us.", "work_type": "creative"}
BRAND_MARKS = {"title": "Brand marks on our public pages",
               "description": "Show our clients' brand marks on the public site, on the homepage and product "
                              "pages, as social proof.", "work_type": "creative"}
GLOBEX = {"title": "Landing page for the Globex account",
          "description": "A custom landing page for Globex with their logo, the renewal offer and a demo form."}
INITECH = {"title": "Landing page for the Initech account",
           "description": "A custom landing page for Initech with their logo, the renewal offer and a demo form."}


def requester(n: int, team: str = "Enterprise Sales") -> dict[str, Any]:
    return {"id": f"u-{n}", "name": f"Person {n}", "email": f"p{n}@example.com", "team": team, "type": "sales"}


@pytest.fixture
def settings(settings_for: Callable[..., ClassifierSettings]) -> ClassifierSettings:
    return settings_for(ClassifierSettings, pinned_quarter=QUARTER)


async def test_a_second_request_for_the_same_work_names_the_first_and_a_look_alike_is_not_named(
        settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running_classifier(settings) as client, \
            EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
        await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)
        await publish(settings.kafka_bootstrap, topics, submitted("logos", requester=requester(1, "Web"), **LOGOS),
                      submitted("globex", requester=requester(2), **GLOBEX))
        await tap.wait_for(lambda es: len(es) == 2)
        await publish(settings.kafka_bootstrap, topics,
                      submitted("marks", requester=requester(3, "Brand"), **BRAND_MARKS),
                      submitted("initech", requester=requester(4), **INITECH))
        await tap.wait_for(lambda es: len(es) == 4)
        await publish(settings.kafka_bootstrap, topics,
                      submitted("mine", requester=requester(1, "Web"), **BRAND_MARKS))
        events = {e.subject: e.data for e in await tap.wait_for(lambda es: len(es) == 5)}
        assert events["logos"]["similar"] == [] and events["globex"]["similar"] == []
        [named] = events["marks"]["similar"]
        assert named["request_id"] == "logos" and named["kind"] in ("duplicate", "overlap")
        assert named["team"] == "Web" and named["title"] == LOGOS["title"] and 0 < named["score"] <= 1
        assert named["shared_terms"]
        # Another account's page shares most words but is other work.
        assert all(s["request_id"] != "globex" for s in events["initech"]["similar"])
        # Only requests from other requesters are compared: "mine" names "marks", not its own "logos".
        assert [s["request_id"] for s in events["mine"]["similar"]] == ["marks"]


async def test_two_asks_for_the_same_work_posted_at_once_are_linked_though_consumed_in_one_batch(
        settings: ClassifierSettings) -> None:
    """Submissions consumed together are classified one after another: the second sees the first."""
    topics = Topics(settings.topic_prefix)
    async with running_classifier(settings) as client, \
            EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
        await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)
        await publish(settings.kafka_bootstrap, topics,
                      *(submitted(f"filler-{n}", requester=requester(10 + n), **GLOBEX) for n in range(6)),
                      submitted("logos", requester=requester(1, "Web"), **LOGOS),
                      submitted("marks", requester=requester(3, "Brand"), **BRAND_MARKS))
        events = {e.subject: e.data for e in await tap.wait_for(lambda es: len(es) == 8)}
        named = {s["request_id"] for s in events["logos"]["similar"]} | {
            s["request_id"] for s in events["marks"]["similar"]}
        assert {"logos", "marks"} & named


async def test_closed_requests_are_not_compared(settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    merged = RequestMerged(request_id="merged", into="kept", merged_by="ops", title=LOGOS["title"],
                           requester=Requester(**requester(2)), into_title="Other",
                           into_requester=Requester(**requester(9)))
    async with running_classifier(settings) as client, \
            EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
        await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)
        await publish(settings.kafka_bootstrap, topics, submitted("withdrawn", requester=requester(1), **LOGOS),
                      submitted("merged", requester=requester(2), **LOGOS))
        await tap.wait_for(lambda es: len(es) == 2)
        await publish(settings.kafka_bootstrap, topics,
                      event(RequestWithdrawn(request_id="withdrawn", withdrawn_by="t"), "w-1"), event(merged, "m-1"))
        await eventually_closed(settings, {"withdrawn", "merged"})
        await publish(settings.kafka_bootstrap, topics, submitted("late", requester=requester(3), **BRAND_MARKS))
        late = await tap.wait_for(lambda es: len(es) == 3)
        assert late[-1].subject == "late" and late[-1].data["similar"] == []


async def test_dry_run_names_similar_requests_in_a_sentence_and_hides_other_tools_requests(
        settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running_classifier(settings) as client, \
            EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
        await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)
        await publish(settings.kafka_bootstrap, topics, submitted("logos", requester=requester(1, "Web"), **LOGOS),
                      submitted("globex", requester=requester(2), **GLOBEX))
        await tap.wait_for(lambda es: len(es) == 2)
        draft = request_body(requester=requester(5), **BRAND_MARKS)
        [seen] = (await client.post("/v1/classify", json=draft)).json()["similar"]
        assert seen["request_id"] == "logos" and seen["title"] == LOGOS["title"]
        assert seen["sentence"] in (f"{lead} a request from Web submitted today."
                                    for lead in ("Similar to", "Likely the same as"))
        # A requester tool learns that similar work exists and from which team, not what it is.
        [hidden] = (await client.post("/v1/classify", json=draft, headers=auth(CRM_KEY))).json()["similar"]
        assert set(hidden) == {"kind", "score", "team", "lane", "submitted_at", "sentence"}
        assert "p1@example.com" not in str(hidden) and "Person 1" not in str(hidden)
        lookalike = (await client.post("/v1/classify", json=request_body(requester=requester(5), **INITECH))).json()
        assert lookalike["similar"] == []
        before = (await client.post("/v1/classify", json=draft)).json()["similar"]
    # A rebuild from the log restores the open requests and their vectors: the dry run answers the same.
    await emptied(settings.redis_url)
    await rebuild(settings)
    redis = connect_redis(settings.redis_url)
    try:
        assert set(await redis.hkeys(vectors_key(Detector().space))) == {"logos", "globex"}
    finally:
        await redis.aclose()
    async with running_classifier(settings) as client:
        assert (await client.post("/v1/classify", json=draft)).json()["similar"] == before


def running_classifier(settings: ClassifierSettings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return running(create_app(settings))


async def eventually_closed(settings: ClassifierSettings, request_ids: set[str]) -> None:
    redis = connect_redis(settings.redis_url)
    try:
        async def closed() -> bool:
            return request_ids <= set(await redis.smembers(CLOSED))

        await eventually(closed)
    finally:
        await redis.aclose()


async def test_vectors_of_another_space_are_dropped_at_start_and_each_open_request_is_embedded_again(
        settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    space = vectors_key(Detector().space)
    redis = connect_redis(settings.redis_url)
    try:
        async with running_classifier(settings) as client, \
                EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
            await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)
            await publish(settings.kafka_bootstrap, topics,
                          submitted("logos", requester=requester(1, "Web"), **LOGOS),
                          submitted("globex", requester=requester(2), **GLOBEX))
            await tap.wait_for(lambda es: len(es) == 2)
        # As an older version left them: the vectors under the old key, of text the model read otherwise.
        stale = f"{VECTORS}:all-minilm-l6-v2"
        await redis.rename(space, stale)
        await redis.hset(VECTORS, "logos", (await redis.hget(stale, "globex")) or "")
        async with running_classifier(settings) as client:
            assert await redis.exists(VECTORS, stale) == 0
            draft = request_body(requester=requester(5), **BRAND_MARKS)
            [seen] = (await client.post("/v1/classify", json=draft)).json()["similar"]
            assert seen["request_id"] == "logos"
            assert set(await redis.hkeys(space)) == {"logos", "globex"}
    finally:
        await redis.aclose()

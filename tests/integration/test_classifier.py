"""Classifier against the real broker and Redis: OKR sets and classified requests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from classifier.app import create_app
from classifier.config import ClassifierSettings
from shared.topics import Topics
from tests.builders import okr_set, submitted
from tests.support import AUTH, EventTap, eventually, handled, publish, request_body, running

pytestmark = pytest.mark.integration

QUARTER = "2026-Q4"


@pytest.fixture
def settings(settings_for: Callable[..., ClassifierSettings]) -> ClassifierSettings:
    return settings_for(ClassifierSettings, pinned_quarter=QUARTER)


async def test_published_okr_set_is_current_and_announced(settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.okrs) as tap:
        answer = await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)
        assert answer.status_code == 200
        assert answer.json()["version"] == 1
        current = (await client.get("/v1/okrs/current")).json()
        assert [o["id"] for o in current["objectives"]] == ["O1", "O2", "O3"]
        await tap.wait_for(lambda es: len(es) == 1)
        assert tap.events[0].type == "okrs.published" and tap.events[0].subject == QUARTER
        republished = await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(4), headers=AUTH)
        assert republished.json()["version"] == 2
        kept = (await client.get(f"/v1/okrs/{QUARTER}", params={"version": 1})).json()
        assert len(kept["objectives"]) == 3 and kept["versions"] == [1, 2]


INVALID: dict[str, dict[str, Any]] = {
    "two objectives": okr_set(2),
    "six objectives": okr_set(6),
    "missing sign-off": {k: v for k, v in okr_set(3).items() if k != "approved_by"},
    "duplicate ids": okr_set(3, objectives=[{**o, "id": "O1"} for o in okr_set(3)["objectives"]]),
    "unknown field": okr_set(3, status="draft"),
    # Nothing a request could be matched on (the classifier used to accept it, then fail on every request).
    "objectives without words": okr_set(3, objectives=[
        {**o, "title": "-", "description": "The.", "key_results": ["100%"], "keywords": []}
        for o in okr_set(3)["objectives"]]),
}


@pytest.mark.parametrize("case", list(INVALID))
async def test_invalid_okr_set_is_refused_and_changes_nothing(settings: ClassifierSettings, case: str) -> None:
    async with running(create_app(settings)) as client:
        answer = await client.put(f"/v1/okrs/{QUARTER}", json=INVALID[case], headers=AUTH)
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert (await client.get("/v1/okrs/current")).status_code == 404


async def test_submitted_request_is_classified_with_lane_colour_and_claimed_objective(
        settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
        await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)
        event = submitted("r-1", okr_claim="O2", title="Customer onboarding webinar series",
                          description="Monthly webinars that help new customers through onboarding.",
                          customer_outcome="New customers reach value before renewal; less churn.")
        await publish(settings.kafka_bootstrap, topics, event, event)  # delivered twice
        await publish(settings.kafka_bootstrap, topics, submitted("r-2", okr_claim="O9"))
        await tap.wait_for(lambda es: {e.subject for e in es} == {"r-1", "r-2"})
        by_subject = {e.subject: e for e in tap.events}
        assert by_subject["r-1"].data["objective_id"] == "O2"
        # Named as the set names it, so no consumer keeps the OKR sets to say what "O2" stands for.
        assert by_subject["r-1"].data["objective_title"] == "Reduce customer churn through onboarding and education"
        assert by_subject["r-1"].data["lane"] == "sales" and by_subject["r-1"].data["colour"] == "orange"
        assert by_subject["r-1"].data["okr_version"] == 1
        assert by_subject["r-1"].data["claim"] == "confirmed"
        assert "webinar" in by_subject["r-1"].data["rationale"].lower()
        assert by_subject["r-2"].data["objective_id"] is None and by_subject["r-2"].data["objective_title"] is None
        assert by_subject["r-2"].data["claim"] == "unknown_objective"
        # The duplicate delivery produced the same event id, so downstream dedupes it.
        assert len({e.id for e in tap.events if e.subject == "r-1"}) == 1


async def test_dry_run_gives_exactly_the_pipeline_answer(settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    draft = {"title": "Hospital case study for the healthcare vertical",
             "description": "A case study with a health system on clinical analytics, for hospitals.",
             "okr_claim": "O3"}
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
        await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(5), headers=AUTH)
        answer = (await client.post("/v1/classify", json=request_body(**draft))).json()
        await publish(settings.kafka_bootstrap, topics, submitted("r-dry", **draft))
        [event] = await tap.wait_for(lambda es: len(es) == 1)
        assert answer["objective_id"] == "O3"
        for field in ("objective_id", "objective_title", "objective_rank", "score", "runner_up_id", "runner_up_score",
                      "claim", "rationale", "matched_terms", "lane", "colour", "okr_version"):
            assert event.data[field] == answer[field], field


async def test_a_new_okr_set_reclassifies_open_requests_whose_objective_changed(
        settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    webinar = {"title": "Customer onboarding webinar series",
               "description": "Monthly webinars that help new customers through onboarding and training."}
    launch = {"title": "Atlas 3.0 launch demo video",
              "description": "A demo video for the launch of the new release."}
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
        await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)
        await publish(settings.kafka_bootstrap, topics, submitted("webinar", **webinar),
                      submitted("launch", **launch), submitted("withdrawn", **webinar))
        first = await tap.wait_for(lambda es: len(es) == 3)
        assert {e.subject: e.data["objective_id"] for e in first} == {
            "webinar": "O2", "launch": "O1", "withdrawn": "O2"}
        from shared.events import RequestWithdrawn
        from tests.support import event

        await publish(settings.kafka_bootstrap, topics,
                      event(RequestWithdrawn(request_id="withdrawn", withdrawn_by="t"), "w-1"))
        await eventually(lambda: handled(client, "request.withdrawn"))  # closed before the new set arrives
        # Version 2 drops the onboarding objective: only the open webinar request changes.
        without_o2 = okr_set(3)
        without_o2["objectives"] = [o for o in okr_set(4)["objectives"] if o["id"] != "O2"]
        for rank, objective in enumerate(without_o2["objectives"], start=1):
            objective["rank"] = rank
        assert (await client.put(f"/v1/okrs/{QUARTER}", json=without_o2, headers=AUTH)).json()["version"] == 2
        events = await tap.wait_for(lambda es: len(es) >= 4)
        await asyncio.sleep(1.0)  # nothing else may follow
        again = [e for e in tap.events if e.data["reclassified"]]
        assert [e.subject for e in again] == ["webinar"]
        assert again[0].data["previous_objective_id"] == "O2"
        assert again[0].data["objective_id"] is None and again[0].data["no_longer_aligned"] is True
        assert again[0].data["objective_title"] is None
        assert again[0].data["okr_version"] == 2
        assert "no longer support" in again[0].data["rationale"]
        assert len(events) == 4

"""The classifier's dry run of an OKR set before it is published, on the real broker and Redis: its numbers
are what publishing the set then does to the open requests, and it publishes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from classifier.app import create_app
from classifier.config import ClassifierSettings
from shared.events import RequestWithdrawn
from shared.topics import Topics
from tests.builders import okr_set, submitted
from tests.support import AUTH, CRM_KEY, HEAT_SHIELD_KEY, TEAM_KEY, EventTap, auth, event, publish, running

pytestmark = pytest.mark.integration

QUARTER = "2026-Q4"
REQUESTS: dict[str, dict[str, str]] = {
    "webinar": {"title": "Customer onboarding webinar series",
                "description": "Monthly webinars that help new customers through onboarding and training."},
    "launch": {"title": "Atlas 3.0 launch demo video",
               "description": "A demo video for the launch of the new release."},
    "hospital": {"title": "Hospital case study for the healthcare vertical",
                 "description": "A case study with a health system on clinical analytics, for hospitals."},
    "withdrawn": {"title": "Customer onboarding webinar series, second run",
                  "description": "More webinars that help new customers through onboarding and training."},
}


def without_onboarding() -> dict[str, Any]:
    """Version 2: the onboarding objective (O2) is dropped; O3 and O4 move up a rank."""
    body = okr_set(4)
    body["objectives"] = [o for o in body["objectives"] if o["id"] != "O2"]
    for rank, objective in enumerate(body["objectives"], start=1):
        objective["rank"] = rank
    return body


@pytest.fixture
def settings(settings_for: Callable[..., ClassifierSettings]) -> ClassifierSettings:
    return settings_for(ClassifierSettings, pinned_quarter=QUARTER)


async def test_the_preview_counts_what_publishing_then_does_and_publishes_nothing(
        settings: ClassifierSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.classifications, topics.okrs) as tap:
        assert (await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)).status_code == 200
        await publish(settings.kafka_bootstrap, topics, *(submitted(rid, **body) for rid, body in REQUESTS.items()))
        first = await tap.wait_for(lambda es: len([e for e in es if e.type == "request.classified"]) == 4)
        assert {e.subject: e.data["objective_id"] for e in first if e.type == "request.classified"} == {
            "webinar": "O2", "launch": "O1", "hospital": "O3", "withdrawn": "O2"}
        await publish(settings.kafka_bootstrap, topics,
                      event(RequestWithdrawn(request_id="withdrawn", withdrawn_by="t"), "w-1"))
        await asyncio.sleep(1.0)  # the withdrawal closes the request in the classifier's store
        seen = len(tap.events)

        answer = await client.post("/v1/okrs/preview", json=without_onboarding(), headers=AUTH)
        assert answer.status_code == 200, answer.text
        found = answer.json()
        # Three open requests: the webinar loses its objective, the case study's objective moves up a rank.
        assert (found["quarter"], found["version"], found["current"], found["published"]) == (QUARTER, 2, True, False)
        counts = ("open_requests", "would_change_objective", "would_become_unaligned", "would_become_aligned",
                  "would_change_rank_only", "unchanged")
        assert [found[name] for name in counts] == [3, 0, 1, 0, 1, 1]
        assert [(i["request_id"], i["change"], i["from"], i["to"]) for i in found["items"]] == [
            ("hospital", "rank", {"objective_id": "O3", "rank": 3}, {"objective_id": "O3", "rank": 2}),
            ("webinar", "unaligned", {"objective_id": "O2", "rank": 2}, {"objective_id": None, "rank": None})]

        # Nothing published: the current set is still version 1, no event went out.
        await asyncio.sleep(1.0)
        assert (await client.get("/v1/okrs/current")).json()["version"] == 1
        assert len(tap.events) == seen

        # Publishing it does what the preview said.
        assert (await client.put(f"/v1/okrs/{QUARTER}", json=without_onboarding(), headers=AUTH)).json()["version"] == 2
        again = await tap.wait_for(lambda es: len([e for e in es if e.type == "request.classified"
                                                   and e.data["reclassified"]]) == len(found["items"]))
        redone = {e.subject: (e.data["objective_id"], e.data["objective_rank"]) for e in again
                  if e.type == "request.classified" and e.data["reclassified"]}
        assert redone == {i["request_id"]: (i["to"]["objective_id"], i["to"]["rank"]) for i in found["items"]}


async def test_a_preview_of_a_set_like_the_latest_says_so(settings: ClassifierSettings) -> None:
    async with running(create_app(settings)) as client:
        assert (await client.put(f"/v1/okrs/{QUARTER}", json=okr_set(3), headers=AUTH)).status_code == 200
        found = (await client.post("/v1/okrs/preview", json=okr_set(3, quarter=QUARTER), headers=AUTH)).json()
        assert (found["version"], found["same_as_latest"], found["open_requests"]) == (1, True, 0)
        other = (await client.post("/v1/okrs/preview", json=okr_set(3, quarter="2027-Q1"), headers=AUTH)).json()
        assert (other["quarter"], other["version"], other["current"]) == ("2027-Q1", 1, False)


BAD_SETS: dict[str, tuple[dict[str, Any], str]] = {
    "two objectives": (okr_set(2), "body.objectives"),
    "no title": (okr_set(3, objectives=[{**o, "title": ""} if o["id"] == "O2" else o
                                        for o in okr_set(3)["objectives"]]), "body.objectives.1.title"),
    "no sign-off": ({k: v for k, v in okr_set(3).items() if k != "approved_by"}, "body.approved_by"),
    "a bad quarter": (okr_set(3, quarter="2026-Q7"), "body.quarter"),
    "no key results": (okr_set(3, objectives=[{**o, "key_results": []} for o in okr_set(3)["objectives"]]),
                       "body.objectives.0.key_results"),
}


@pytest.mark.parametrize("case", list(BAD_SETS))
async def test_a_bad_set_is_a_problem_per_field(settings: ClassifierSettings, case: str) -> None:
    body, where = BAD_SETS[case]
    async with running(create_app(settings)) as client:
        answer = await client.post("/v1/okrs/preview", json=body, headers=AUTH)
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert where in {".".join(str(p) for p in e["location"]) for e in answer.json()["errors"]}, answer.text
        assert (await client.get("/v1/okrs/current")).status_code == 404


async def test_only_ops_previews_an_okr_set(settings: ClassifierSettings) -> None:
    async with running(create_app(settings)) as client:
        for key, status in ((TEAM_KEY, 403), (HEAT_SHIELD_KEY, 403), (CRM_KEY, 403), ("gov_unknown", 401)):
            answer = await client.post("/v1/okrs/preview", json=okr_set(3), headers=auth(key))
            assert answer.status_code == status, (key, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"

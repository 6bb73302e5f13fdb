"""Merging requests through intake against the real broker and Redis: the event, both statuses and
timelines, the same answer when asked again, and problems for merges that may not happen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from intake.app import create_app
from intake.config import IntakeSettings
from intake.merge_claims import MERGE_PUBLISHED
from intake.rebuild import rebuild
from intake.store import RequestStore
from shared.topics import Topics
from tests.support import AUTH, CRM_KEY, TEAM_KEY, EventTap, auth, emptied, eventually, request_body, running

pytestmark = pytest.mark.integration

SALES = {"id": "u-2201", "name": "Dave Morrison", "email": "dave@example.com", "team": "Enterprise Sales",
         "type": "sales"}
BRAND = {"id": "u-3301", "name": "Mia Brandt", "email": "mia@example.com", "team": "Brand", "type": "business_unit"}


@pytest.fixture
def settings(settings_for: Callable[..., IntakeSettings]) -> IntakeSettings:
    return settings_for(IntakeSettings)


async def _two_requests(client: httpx.AsyncClient) -> tuple[str, str]:
    asked = await client.post("/v1/requests", headers=auth(CRM_KEY), json=request_body(
        title="Customer logos on the website", requester=SALES))
    survivor = await client.post("/v1/requests", json=request_body(
        title="Brand marks on our public pages", requester=BRAND))
    return asked.json()["id"], survivor.json()["id"]


async def _status(client: httpx.AsyncClient, request_id: str) -> str:
    return str((await client.get(f"/v1/requests/{request_id}")).json()["status"])


async def test_a_merge_closes_the_request_once_and_the_survivor_tells_it(settings: IntakeSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.requests) as tap:
        merged_id, survivor_id = await _two_requests(client)
        answer = await client.post(f"/v1/requests/{merged_id}/merge", headers=auth(TEAM_KEY),
                                   json={"into": survivor_id, "reason": "Same pages"})
        assert answer.status_code == 202
        assert answer.json()["status"] == "merged" and answer.json()["into"] == survivor_id

        async def closed() -> bool:
            return await _status(client, merged_id) == "merged"

        await eventually(closed)
        again = await client.post(f"/v1/requests/{merged_id}/merge", headers=auth(TEAM_KEY),
                                  json={"into": survivor_id})
        assert again.status_code == 202 and again.json() == answer.json()
        assert again.headers["Idempotent-Replayed"] == "true"

        events = await tap.wait_for(lambda es: any(e.type == "request.merged" for e in es))
        merged = [e for e in events if e.type == "request.merged"]
        assert [(e.subject, e.data["into"], e.data["merged_by"]) for e in merged] == [
            (merged_id, survivor_id, "team-board")]
        assert merged[0].data["requester"]["team"] == "Enterprise Sales"
        assert merged[0].data["into_requester"]["team"] == "Brand"

        survivor = (await client.get(f"/v1/requests/{survivor_id}")).json()
        assert survivor["status"] == "submitted"
        assert survivor["merged_from"] == [merged_id]
        told = [e for e in survivor["timeline"] if e["type"] == "request.merged"]
        assert len(told) == 1 and "Customer logos on the website" in told[0]["summary"]
        listed = (await client.get("/v1/requests", params={"status": "merged"})).json()["items"]
        assert [r["id"] for r in listed] == [merged_id]


async def test_a_requester_tool_reads_a_merge_without_the_other_request(settings: IntakeSettings) -> None:
    async with running(create_app(settings)) as client:
        merged_id, survivor_id = await _two_requests(client)
        await client.post(f"/v1/requests/{merged_id}/merge", json={"into": survivor_id})

        async def closed() -> dict[str, Any] | None:
            found = (await client.get(f"/v1/requests/{merged_id}", headers=auth(CRM_KEY))).json()
            return found if found["status"] == "merged" else None

        found = await eventually(closed)
        entry = next(e for e in found["timeline"] if e["type"] == "request.merged")
        assert entry["data"]["into"] is None and entry["data"]["into_title"] is None
        assert entry["data"]["into_requester"] is None
        assert "email" not in entry["data"]["requester"]
        assert survivor_id not in str(entry) and "Brand marks" not in str(entry)
        hidden = await client.get(f"/v1/requests/{survivor_id}", headers=auth(CRM_KEY))
        assert hidden.status_code == 404


async def _problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["detail"]
    return body


async def test_merges_that_may_not_happen_are_refused_and_publish_nothing(settings: IntakeSettings) -> None:
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.requests) as tap:
        merged_id, survivor_id = await _two_requests(client)
        other = (await client.post("/v1/requests", json=request_body(title="Webinar deck"))).json()["id"]
        await _problem(await client.post("/v1/requests/nope/merge", json={"into": survivor_id}), 404)
        await _problem(await client.post(f"/v1/requests/{merged_id}/merge", json={"into": "nope"}), 404)
        await _problem(await client.post(f"/v1/requests/{merged_id}/merge", json={"into": merged_id}), 422)
        await _problem(await client.post(f"/v1/requests/{merged_id}/merge", json={"to": survivor_id}), 422)
        await _problem(await client.post(f"/v1/requests/{merged_id}/merge", headers=auth(CRM_KEY),
                                         json={"into": survivor_id}), 403)
        await client.post(f"/v1/requests/{other}/withdraw", headers=AUTH)

        async def withdrawn() -> bool:
            return await _status(client, other) == "withdrawn"

        await eventually(withdrawn)
        closed = await _problem(await client.post(f"/v1/requests/{merged_id}/merge", json={"into": other}), 409)
        assert closed["type"].endswith("/problems/request-closed")
        await _problem(await client.post(f"/v1/requests/{other}/merge", json={"into": survivor_id}), 409)
        await client.post(f"/v1/requests/{merged_id}/merge", json={"into": survivor_id})

        async def merged() -> bool:
            return await _status(client, merged_id) == "merged"

        await eventually(merged)
        elsewhere = await client.post(f"/v1/requests/{merged_id}/merge", json={"into": other})
        await _problem(elsewhere, 409)
        into_merged = await client.post(f"/v1/requests/{survivor_id}/merge", json={"into": merged_id})
        await _problem(into_merged, 409)
        await tap.wait_for(lambda es: any(e.type == "request.merged" for e in es))
        assert [e.subject for e in tap.of_type("request.merged")] == [merged_id]
        assert await _status(client, survivor_id) == "submitted"


async def test_a_rebuild_keeps_both_statuses_and_what_was_merged_into_the_survivor(settings: IntakeSettings) -> None:
    async with running(create_app(settings)) as client:
        merged_id, survivor_id = await _two_requests(client)
        await client.post(f"/v1/requests/{merged_id}/merge", json={"into": survivor_id})

        async def closed() -> bool:
            return await _status(client, merged_id) == "merged"

        await eventually(closed)
        before = [(await client.get(f"/v1/requests/{r}")).json() for r in (merged_id, survivor_id)]
    await emptied(settings.redis_url)
    await rebuild(settings)  # intake stopped; its Redis rebuilt from the log alone
    async with running(create_app(settings)) as client:
        after = [(await client.get(f"/v1/requests/{r}")).json() for r in (merged_id, survivor_id)]
    assert after == before
    assert (after[0]["status"], after[1]["status"], after[1]["merged_from"]) == ("merged", "submitted", [merged_id])


async def test_the_same_merge_asked_again_before_its_event_is_read_back_is_replayed_not_published_again(
        settings: IntakeSettings) -> None:
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    store = RequestStore(redis)
    try:
        assert await store.merges.claim("x", "a") is None  # the first ask: claimed, its event being published
        assert "under way" in str(await store.merges.claim("x", "a"))  # asked again meanwhile: not yet known
        await store.merges.keep("x")  # published
        assert await store.merges.claim("x", "a") == MERGE_PUBLISHED  # asked again: the first answer, no publish
        assert "already" in str(await store.merges.claim("x", "b"))  # another merge of it: refused
    finally:
        await redis.aclose()

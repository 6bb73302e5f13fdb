"""Who sees which cards on capacity's views, on the real broker and Redis: a requester tool sees the cards its
tool posted (through intake and the classifier) and counts the others; the team and ops see everything."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from capacity.app import create_app as create_capacity
from capacity.config import CapacitySettings
from classifier.app import create_app as create_classifier
from classifier.config import ClassifierSettings
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from tests.integration.test_dashboard import next_snapshot, serving
from tests.support import API_KEY, CRM_KEY, FORM_KEY, TEAM_KEY, auth, eventually, request_body, running

pytestmark = pytest.mark.integration

MIA = {"id": "u-1", "name": "Mia Chen", "email": "mia@example.com", "team": "Customer Marketing", "type": "customer"}
AISHA = {"id": "u-3", "name": "Aisha Khan", "email": "aisha@example.com", "team": "Atlas Product Team",
         "type": "business_unit"}
# What the CRM (sales) must never read of the intake form's requests, and the other way round.
FORM_PRIVATE = ("Mia Chen", "mia@example.com", "Customer Marketing", "Aisha", "aisha@example.com",
                "Atlas Product Team", "Customer webinar series", "Atlas partner microsite", "Atlas launch video")
CRM_PRIVATE = ("Dave Morrison", "dave@example.com", "Enterprise Sales", "Landing page for Halvorsen",
               "Landing page for Brightwater")
READS = ("/v1/board", "/v1/backlog", "/v1/capacity", "/v1/tradeoffs", "/v1/dashboard")


class Stack:
    def __init__(self, intake: httpx.AsyncClient, capacity: httpx.AsyncClient) -> None:
        self.intake, self.capacity = intake, capacity
        self.ids: dict[str, str] = {}

    async def post(self, name: str, key: str, body: dict[str, Any]) -> None:
        """Post, then wait for the card on the board: classifications of different requests travel on
        different partitions, so without the wait they could reach capacity in any order."""
        answer = await self.intake.post("/v1/requests", json=body, headers=auth(key))
        assert answer.status_code == 202, answer.text
        request_id = self.ids[name] = answer.json()["id"]

        async def on_board() -> bool:
            board = await self.read("/v1/board", API_KEY)
            return request_id in {c["request_id"] for cards in board["columns"].values() for c in cards}

        await eventually(on_board)

    async def read(self, path: str, key: str) -> dict[str, Any]:
        answer = await self.capacity.get(path, headers=auth(key))
        assert answer.status_code == 200, (path, answer.text)
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
async def stack(settings_for: Callable[..., Any]) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as stack:
        intake = await stack.enter_async_context(running(create_intake(settings_for(IntakeSettings))))
        await stack.enter_async_context(running(create_classifier(settings_for(ClassifierSettings))))
        url = await stack.enter_async_context(serving(create_capacity(settings_for(CapacitySettings))))
        capacity = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=10))
        yield Stack(intake, capacity)


async def test_a_requester_tool_sees_only_the_cards_its_tool_posted_and_counts_the_others(stack: Stack) -> None:
    await stack.post("page-a", CRM_KEY, request_body(title="Landing page for Halvorsen Logistics"))
    await stack.post("page-b", CRM_KEY, request_body(title="Landing page for Brightwater"))
    await stack.post("webinar", FORM_KEY, request_body(title="Customer webinar series", requester=MIA))
    await stack.post("microsite", FORM_KEY, request_body(title="Atlas partner microsite", requester=AISHA))
    await stack.post("video", FORM_KEY, request_body(title="Atlas launch video", requester=AISHA, size="S",
                                                     expedite=True, justification="Launch is on Tuesday"))

    async def all_placed() -> dict[str, Any] | None:
        board = await stack.read("/v1/board", API_KEY)
        tradeoffs = (await stack.read("/v1/tradeoffs", API_KEY))["items"]
        return board if sum(map(len, board["columns"].values())) == 5 and tradeoffs else None

    everything = await eventually(all_placed, timeout=30)
    ids = stack.ids
    assert {c["request_id"] for c in everything["columns"]["backlog"]} == {ids["page-b"], ids["video"]}

    crm = await stack.read("/v1/board", CRM_KEY)
    assert {n: [c["request_id"] for c in cards] for n, cards in crm["columns"].items() if cards} == {
        "committed": [ids["page-a"]], "backlog": [ids["page-b"]]}
    assert (crm["hidden"]["committed"], crm["hidden"]["backlog"]) == (2, 1)
    backlog = await stack.read("/v1/backlog", CRM_KEY)
    assert ([b["request_id"] for b in backlog["items"]], backlog["depth"], backlog["hidden"]) == ([ids["page-b"]], 2, 1)
    assert (await stack.read("/v1/tradeoffs", CRM_KEY))["items"] == []
    assert (await stack.read("/v1/capacity", CRM_KEY))["open_tradeoffs"] == []

    form = await stack.read("/v1/board", FORM_KEY)
    assert {c["request_id"] for cards in form["columns"].values() for c in cards} == {
        ids["webinar"], ids["microsite"], ids["video"]}
    [question] = (await stack.read("/v1/tradeoffs", FORM_KEY))["items"]
    assert question["request_id"] == ids["video"] and ids["page-a"] not in question["candidates"]
    assert question["hidden_candidates"] == 1  # the CRM's committed page, counted
    hidden = await stack.capacity.get(f"/v1/tradeoffs/{question['tradeoff_id']}", headers=auth(CRM_KEY))
    assert hidden.status_code == 404

    for key, private in ((CRM_KEY, FORM_PRIVATE), (FORM_KEY, CRM_PRIVATE)):
        for path in READS:
            text = json.dumps(await stack.read(path, key))
            assert not [word for word in private if word in text], (key, path)
        streamed = await first_streamed(stack.capacity, key)
        assert not [word for word in private if word in json.dumps(streamed)]
        assert sum(c["hidden"] for c in streamed["columns"]) == (3 if key == CRM_KEY else 2)

    decided = await stack.capacity.post(f"/v1/tradeoffs/{question['tradeoff_id']}/decision",
                                        json={"pause": ids["page-a"]}, headers=auth(API_KEY))
    assert decided.status_code == 200, decided.text
    [answered] = (await stack.read("/v1/tradeoffs", FORM_KEY))["items"]
    assert answered["status"] == "paused" and answered["paused_request_id"] is None  # the CRM's card: not named
    form_ids = (ids["webinar"], ids["microsite"], ids["video"])
    crm_ids = (ids["page-a"], ids["page-b"])
    for key, others in ((CRM_KEY, form_ids), (FORM_KEY, crm_ids)):
        for path in READS:
            text = json.dumps(await stack.read(path, key))
            assert not [other for other in others if other in text], (key, path, "another tool's request id")

    # Intake's timelines too: the paused page's reason does not name the urgent video, and the video's decision
    # does not name the page it paused.
    async def told(request_id: str, event_type: str, key: str) -> str | None:
        found = (await stack.intake.get(f"/v1/requests/{request_id}", headers=auth(key))).json()
        return json.dumps(found) if any(e["type"] == event_type for e in found["timeline"]) else None

    paused = await eventually(lambda: told(ids["page-a"], "request.paused", CRM_KEY))
    assert "to make room for urgent work" in paused
    assert not [word for word in FORM_PRIVATE if word in paused] and ids["video"] not in paused
    decision = await eventually(lambda: told(ids["video"], "request.tradeoff_decided", FORM_KEY))
    assert not [word for word in CRM_PRIVATE if word in decision] and ids["page-a"] not in decision

    for key in (API_KEY, TEAM_KEY):  # ops and the team see every card, names and all
        text = json.dumps(await stack.read("/v1/dashboard", key))
        assert all(word in text for word in ("Mia Chen", "Dave Morrison", "Atlas launch video"))
        assert {c["hidden"] for c in (await stack.read("/v1/dashboard", key))["columns"]} == {0}


async def first_streamed(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    async with client.stream("GET", "/v1/dashboard/stream", headers=auth(key)) as stream:
        assert stream.status_code == 200
        return await asyncio.wait_for(next_snapshot(stream.aiter_lines()), timeout=5)

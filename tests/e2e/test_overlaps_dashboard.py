"""Overlaps on the dashboard in a real headless Chromium against the four running services: two look-alike
asks of two stakeholders are marked linked and listed for ops, a requester tool sees only its side, and a
merge through intake takes the merged card off the page live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from shared.topics import Topics
from tests.builders import classified
from tests.e2e.stack import ServiceProcess
from tests.e2e.test_dashboard import opened
from tests.infra import Endpoints
from tests.support import API_KEY, AUTH, CRM_KEY, TEAM_KEY, auth, eventually, publish, request_body

pytestmark = pytest.mark.e2e

PREFIX = "e2e-overlaps"
STORIES = Path(__file__).resolve().parents[2] / "data/stories.json"
MARKS, LOGOS = "Brand marks on our public pages", "Customer logos on the website"
AISHA = {"id": "u-3301", "name": "Aisha Khan", "email": "aisha@example.com", "team": "Atlas Product",
         "type": "business_unit"}
DAVE = {"id": "u-2201", "name": "Dave Morrison", "email": "dave@example.com", "team": "Enterprise Sales",
        "type": "sales"}


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return PREFIX


async def test_look_alike_asks_are_marked_and_listed_and_a_merge_clears_them(
        services: dict[str, ServiceProcess], browser: Browser, endpoints: Endpoints) -> None:
    intake, capacity = services["intake"].url, services["capacity"].url
    async with httpx.AsyncClient(timeout=10) as http:
        survivor = (await http.post(f"{intake}/v1/requests", headers=AUTH, json=request_body(
            title=MARKS, requester=AISHA, size="S"))).json()["id"]
        merged = (await http.post(f"{intake}/v1/requests", headers=auth(CRM_KEY), json=request_body(
            title=LOGOS, requester=DAVE, size="S"))).json()["id"]

        async def on_the_board() -> dict[str, Any] | None:
            board: dict[str, Any] = (await http.get(f"{capacity}/v1/board", headers=AUTH)).json()
            cards = {c["request_id"]: c for column in board["columns"].values() for c in column}
            return cards if {survivor, merged} <= set(cards) else None

        await eventually(on_the_board, timeout=60)
        # What the classifier's similarity detector says of such a pair, published as it would.
        alike = {"request_id": survivor, "score": 0.86, "kind": "duplicate", "shared_terms": ["logos"],
                 "title": MARKS, "team": AISHA["team"], "lane": "business_unit",
                 "submitted_at": "2026-11-24T09:00:00+00:00"}
        named = classified(merged, lane="sales", title=LOGOS, requester=DAVE, size="S")
        named = named.model_copy(update={"data": {**named.data, "submitted_by": "crm", "similar": [alike]}})
        await publish(endpoints.kafka_bootstrap, Topics(PREFIX), named)

        ops = await opened(browser, services, API_KEY)
        mark = ops.locator(f".card[data-request-id='{survivor}'] .linked")
        await expect(mark).to_have_text("linked \u00d71", timeout=30_000)
        await expect(ops.locator(f".card[data-request-id='{merged}'] .linked")).to_be_visible()
        listed = ops.locator("#overlaps li")
        await expect(listed).to_have_count(1)
        for text in (MARKS, LOGOS, AISHA["team"], DAVE["team"], "Duplicate 86%"):
            await expect(listed).to_contain_text(text)

        crm = await opened(browser, services, CRM_KEY)
        own = crm.locator("#overlaps li")
        await expect(own).to_contain_text(LOGOS, timeout=30_000)
        await expect(own).to_contain_text("of another tool (not shown)")
        assert MARKS not in await crm.inner_text("#dashboard")
        await crm.close()

        answer = await http.post(f"{intake}/v1/requests/{merged}/merge", headers=auth(TEAM_KEY),
                                 json={"into": survivor})
        assert answer.status_code == 202, answer.text
        await expect(ops.locator(f".card[data-request-id='{merged}']")).to_have_count(0, timeout=30_000)
        await expect(ops.locator("#overlaps li")).to_have_text("No open overlaps.")
        await expect(mark).to_have_count(0)
        await ops.close()


async def test_the_classifier_links_the_same_ask_in_other_words_and_both_requesters_are_told(
        services: dict[str, ServiceProcess]) -> None:
    """The demo's stories 6a and 6b through the whole pipeline: no event is published by the test."""
    stories = {s["story"][:2]: s for s in json.loads(STORIES.read_text()) if s["story"][:2] in ("6a", "6b")}
    intake, capacity, notifier = (services[name].url for name in ("intake", "capacity", "notifier"))
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        ids = {}
        for label in ("6a", "6b"):
            body = {k: v for k, v in stories[label].items() if k != "story"}
            answer = await http.post(f"{intake}/v1/requests", json=body)
            assert answer.status_code == 202, answer.text
            ids[label] = answer.json()["id"]

        async def linked() -> list[dict[str, Any]] | None:
            board = (await http.get(f"{capacity}/v1/board")).json()
            cards = {c["request_id"]: c for column in board["columns"].values() for c in column}
            found = cards.get(ids["6b"], {}).get("linked")
            return found or None

        links = {link["request_id"]: link["kind"] for link in await eventually(linked, timeout=90)}
        assert links.get(ids["6a"]) in ("duplicate", "overlap"), links

        async def told() -> set[tuple[str, str]] | None:
            answer = await http.get(f"{notifier}/v1/notifications", params={"request_id": ids["6b"]})
            found = {(n["audience"], n["recipient"]) for n in answer.json()["items"] if n["audience"] != "requester"}
            return found if len(found) >= 3 else None

        people = {recipient for _, recipient in await eventually(told, timeout=60)}
        assert {stories["6a"]["requester"]["email"], stories["6b"]["requester"]["email"]} <= people

"""The dashboard's data on the real broker and Redis: the snapshot, its live stream, and the exports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image

from capacity.app import create_app
from capacity.config import CapacitySettings
from capacity.dashboard.charts import PALETTE
from shared.access import ApiKeyRevoked, KeySpec, Role, issue
from shared.envelope import CloudEvent, derived_id
from shared.events import OkrsPublished, RequestClassified
from shared.topics import Topics
from tests.builders import OBJECTIVES, POLICY, classified
from tests.infra import free_port
from tests.support import AUTH, EventTap, event, eventually, publish

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC) - timedelta(hours=1)
SVG = "{http://www.w3.org/2000/svg}"


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn on a free port, as ``python -m capacity`` runs it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=20)


@dataclass
class Dashboard:
    app: FastAPI
    client: httpx.AsyncClient
    settings: CapacitySettings
    tap: EventTap

    async def send(self, *events: CloudEvent) -> None:
        """Publish and wait until capacity decided on each."""
        await publish(self.settings.kafka_bootstrap, Topics(self.settings.topic_prefix), *events)
        subjects = {e.subject for e in events}
        await self.tap.wait_for(lambda es: subjects <= {e.subject for e in es if e.type in (
            "request.scheduled", "request.backlogged")})

    async def get(self, path: str, **params: str) -> Any:
        answer = await self.client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer

    async def snapshot(self) -> dict[str, Any]:
        found: dict[str, Any] = (await self.get("/v1/dashboard")).json()
        return found

    async def learn(self, *okrs: CloudEvent, sets: int) -> dict[str, Any]:
        """Publish OKR sets; the snapshot once capacity knows the titles of ``sets`` of them."""
        await publish(self.settings.kafka_bootstrap, Topics(self.settings.topic_prefix), *okrs)

        async def known() -> dict[str, Any] | None:
            found = await self.snapshot()
            return found if found["titles_version"] >= sets else None

        found: dict[str, Any] = await eventually(known)
        return found


@pytest.fixture
async def dash(settings_for: Callable[..., CapacitySettings]) -> AsyncIterator[Dashboard]:
    settings = settings_for(CapacitySettings)
    app = create_app(settings)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client, \
            EventTap(settings.kafka_bootstrap, Topics(settings.topic_prefix).decisions) as tap:
        assert (await client.put("/v1/policy", json=POLICY)).status_code == 200
        yield Dashboard(app, client, settings, tap)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def four_lanes() -> list[CloudEvent]:
    return [classified("webinar", lane="customer", colour="blue", size="XL", objective="O2", rank=2,
                       submitted_at=at(0)),
            classified("account-page", lane="sales", colour="orange", size="M", submitted_at=at(1)),
            classified("launch-microsite", lane="business_unit", colour="green", size="M", objective="O1", rank=1,
                       submitted_at=at(2)),
            classified("board-slides", lane="executive", colour="yellow", size="S", submitted_at=at(3))]


def okrs_published(quarter: str = "2026-Q4", version: int = 1, **retitled: str) -> CloudEvent:
    """The classifier's announcement of an OKR set: the builders' objectives O1-O3, ``retitled`` by id."""
    objectives = [{**o, "id": f"O{i}", "rank": i, "title": retitled.get(f"O{i}", o["title"])}
                  for i, o in enumerate(OBJECTIVES[:3], start=1)]
    data = OkrsPublished(quarter=quarter, version=version, objectives=objectives, approved_by="Maria Okafor",
                         approved_at=T0)
    return event(data, event_id=derived_id("okrs", quarter, str(version)))


def classified_under(okrs: CloudEvent, request_id: str, **fields: Any) -> CloudEvent:
    """A ``request.classified`` measured against the OKR set ``okrs`` announced."""
    plain = classified(request_id, **fields)
    data = RequestClassified.model_validate(
        {**plain.data, "okr_quarter": okrs.data["quarter"], "okr_version": okrs.data["version"]})
    return event(data, event_id=plain.id)


def column(snapshot: dict[str, Any], name: str) -> list[dict[str, Any]]:
    [found] = [c for c in snapshot["columns"] if c["name"] == name]
    cards: list[dict[str, Any]] = found["cards"]
    return cards


async def test_the_snapshot_shows_cards_in_lane_colours_and_shares_against_the_policy(dash: Dashboard) -> None:
    await dash.send(*four_lanes())
    snapshot = await dash.snapshot()
    committed = {c["request_id"]: c for c in column(snapshot, "committed")}
    assert set(committed) == {"webinar", "account-page", "launch-microsite", "board-slides"}
    assert committed["webinar"]["hex"] == PALETTE["blue"] and committed["webinar"]["ink"] == "#ffffff"
    assert committed["board-slides"]["hex"] == PALETTE["yellow"] and committed["board-slides"]["label"] == "executive"
    assert committed["account-page"]["requester"] == "Dave Morrison"
    assert committed["webinar"]["moves"] == ["start", "done", "pause"]
    shares = {row["lane"]: row for row in snapshot["shares"]["lanes"]}
    assert shares["customer"] == {**shares["customer"], "points": 8, "share": 0.4, "policy_share": 0.5,
                                  "policy_kind": "reserve", "under_reserve": True}
    assert shares["sales"] == {**shares["sales"], "points": 3, "share": 0.15, "policy_share": 0.2, "over": False}
    assert {o["objective_id"]: o["points"] for o in snapshot["shares"]["objectives"]} == {"O1": 3, "O2": 8, None: 5}
    assert snapshot["history"]["cycles"][-1]["lanes"]["business_unit"]["points"] == 3
    assert snapshot["version"] == int(snapshot["version"]) > 0


async def test_the_backlog_lists_waiting_work_in_order_with_its_expected_start(dash: Dashboard) -> None:
    for i in range(3):  # sales' share is 4 points: one M fits this cycle, the others wait
        await dash.send(classified(f"sales-{i}", lane="sales", size="M", submitted_at=at(i)))
    snapshot = await dash.snapshot()
    assert [(b["request_id"], b["position"]) for b in snapshot["backlog"]] == [("sales-1", 1), ("sales-2", 2)]
    assert snapshot["cycle"] < snapshot["backlog"][0]["expected_start_cycle"] < snapshot["backlog"][1][
        "expected_start_cycle"]
    assert column(snapshot, "backlog")[0]["moves"] == []  # a start from the backlog would be a bypass


async def test_wip_over_a_lowered_limit_is_shown_as_over(dash: Dashboard) -> None:
    for i in range(2):
        await dash.send(classified(f"webinar-{i}", lane="customer", colour="blue", size="S", submitted_at=at(i)))
        assert (await dash.client.post(f"/v1/work/webinar-{i}/start")).status_code == 200
    assert (await dash.client.put("/v1/policy", json={**POLICY, "wip_total": 1})).status_code == 200
    [in_progress] = [c for c in (await dash.snapshot())["columns"] if c["name"] == "in_progress"]
    assert in_progress["wip"] == {**in_progress["wip"], "count": 2, "limit": 1, "over": True}


async def next_snapshot(lines: AsyncIterator[str]) -> dict[str, Any]:
    event, data = "", []
    async for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
        elif not line and data:
            if event == "snapshot":
                found: dict[str, Any] = json.loads("".join(data))
                return found
            event, data = "", []
    raise AssertionError("the stream ended")


async def test_the_stream_sends_a_new_snapshot_when_the_ledger_changes_and_ends_on_shutdown(
        dash: Dashboard) -> None:
    async with dash.client.stream("GET", "/v1/dashboard/stream") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        first = await asyncio.wait_for(next_snapshot(lines), timeout=5)
        assert all(not c["cards"] for c in first["columns"])
        await dash.send(classified("webinar", lane="customer", colour="blue", size="M"))
        second = await asyncio.wait_for(next_snapshot(lines), timeout=5)
        assert second["version"] > first["version"]
        assert [c["request_id"] for c in column(second, "committed")] == ["webinar"]
        dash.app.state.stopping = True  # what SIGTERM sets (shared.runtime.serve)
        rest = [line async for line in lines]  # the server closes the stream: this loop ends
        assert all(not line.startswith("data:") for line in rest)


async def test_a_stream_ends_when_its_key_is_revoked_and_the_key_opens_nothing_after(dash: Dashboard) -> None:
    secret, created = issue(KeySpec(tool="wallboard", role=Role.TEAM_MEMBER), by="tests", at=datetime.now(UTC))
    topics = Topics(dash.settings.topic_prefix)
    await publish(dash.settings.kafka_bootstrap, topics, event(created))
    mine = {"Authorization": f"Bearer {secret}"}

    async def admitted() -> bool:
        return (await dash.client.get("/v1/dashboard", headers=mine)).status_code == 200

    await eventually(admitted)
    async with dash.client.stream("GET", "/v1/dashboard/stream", headers=mine) as stream:
        lines = stream.aiter_lines()
        await asyncio.wait_for(next_snapshot(lines), timeout=5)
        revoked = ApiKeyRevoked(key_id=created.key.key_id, revoked_at=datetime.now(UTC), revoked_by="tests")
        await publish(dash.settings.kafka_bootstrap, topics, event(revoked))
        rest = await asyncio.wait_for(_drained(lines), timeout=20)  # the server closes the stream
        assert all(not line.startswith("data:") for line in rest)
    refused = await dash.client.get("/v1/dashboard/stream", headers=mine)
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"


async def _drained(lines: AsyncIterator[str]) -> list[str]:
    return [line async for line in lines]


async def test_the_stream_and_the_data_need_a_key_and_the_page_does_not(dash: Dashboard) -> None:
    async with httpx.AsyncClient(base_url=str(dash.client.base_url)) as anonymous:
        for path in ("/v1/dashboard", "/v1/dashboard/stream", "/v1/reports/shares.csv", "/v1/reports/shares.svg",
                     "/v1/reports/shares.png"):
            answer = await anonymous.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["content-type"] == "application/problem+json"
        page = await anonymous.get("/dashboard")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "http" not in page.text.replace("http-equiv", "")  # nothing from a CDN
        assert (await anonymous.get("/dashboard/dashboard.js")).headers["content-type"].startswith("text/javascript")
        missing = await anonymous.get("/dashboard/secrets.txt")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


async def test_the_shares_csv_has_the_numbers_of_the_json_report(dash: Dashboard) -> None:
    await dash.send(*four_lanes())
    report = (await dash.get("/v1/reports/shares")).json()
    answer = await dash.get("/v1/reports/shares.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert rows and list(rows[0]) == ["cycle", "cycle_start", "capacity_points", "dimension", "key", "points",
                                      "share", "policy_share", "policy_kind", "title"]
    for cycle in report["cycles"]:
        mine = [r for r in rows if r["cycle"] == cycle["cycle"]]
        lanes = {r["key"]: r for r in mine if r["dimension"] == "lane"}
        assert set(lanes) == {"customer", "sales", "business_unit", "executive", "legal"}
        for lane, row in lanes.items():
            expected = cycle["lanes"].get(lane, {"points": 0, "share": 0.0})
            assert (int(row["points"]), float(row["share"])) == (expected["points"], expected["share"])
        objectives = {r["key"]: (int(r["points"]), float(r["share"])) for r in mine if r["dimension"] == "objective"}
        assert objectives == {k: (v["points"], v["share"]) for k, v in cycle["objectives"].items()}
    assert lanes["customer"]["policy_share"] == "0.5" and lanes["customer"]["policy_kind"] == "reserve"
    assert lanes["sales"]["policy_share"] == "0.2" and lanes["sales"]["policy_kind"] == "cap"


async def test_cards_shares_and_exports_name_objectives_by_the_published_okr_set(dash: Dashboard) -> None:
    okrs = okrs_published(O2="Customers reach value in 90 days")
    await dash.learn(okrs, sets=1)
    await dash.send(classified_under(okrs, "webinar", lane="customer", colour="blue", size="M", objective="O2",
                                     rank=2),
                    classified("board-slides", lane="executive", colour="yellow", size="S"))
    snapshot = await dash.snapshot()
    committed = {c["request_id"]: c for c in column(snapshot, "committed")}
    assert (committed["webinar"]["objective_id"], committed["webinar"]["objective_title"]) == (
        "O2", "Customers reach value in 90 days")
    assert committed["board-slides"]["objective_title"] is None
    assert [(o["objective_id"], o["title"]) for o in snapshot["shares"]["objectives"]] == [
        ("O2", "Customers reach value in 90 days"), (None, None)]
    report = (await dash.get("/v1/reports/shares")).json()
    assert report["cycles"][-1]["objectives"]["O2"]["title"] == "Customers reach value in 90 days"
    rows = list(csv.DictReader(io.StringIO((await dash.get("/v1/reports/shares.csv")).text)))
    assert {(r["key"], r["title"]) for r in rows if r["dimension"] == "objective"} == {
        ("O2", "Customers reach value in 90 days"), ("none", "")}


async def test_a_redelivered_okr_set_changes_nothing_and_a_new_version_leaves_earlier_cards_named_as_before(
        dash: Dashboard) -> None:
    first = okrs_published()
    await dash.send(classified_under(first, "webinar", lane="customer", colour="blue", size="M", objective="O2",
                                     rank=2))
    before = await dash.learn(first, sets=1)
    # The redelivery and the next version share a key, so capacity handles them in this order.
    after = await dash.learn(first, okrs_published(version=2, O2="Customers reach value in 60 days"), sets=2)
    assert after["titles_version"] == 2  # the redelivery added no set
    assert after["version"] == before["version"]  # and no OKR set touches the ledger
    [webinar] = column(after, "committed")
    assert webinar["objective_title"] == "Reduce customer churn through onboarding and education"  # its set's


async def test_the_stream_sends_a_new_snapshot_when_an_okr_set_names_the_objectives(dash: Dashboard) -> None:
    okrs = okrs_published(O2="Customers reach value in 90 days")
    await dash.send(classified_under(okrs, "webinar", lane="customer", colour="blue", size="M", objective="O2",
                                     rank=2))
    async with dash.client.stream("GET", "/v1/dashboard/stream") as stream:
        lines = stream.aiter_lines()
        first = await asyncio.wait_for(next_snapshot(lines), timeout=5)
        assert column(first, "committed")[0]["objective_title"] is None  # not published yet
        await publish(dash.settings.kafka_bootstrap, Topics(dash.settings.topic_prefix), okrs)
        second = await asyncio.wait_for(next_snapshot(lines), timeout=10)
        assert (second["version"], second["titles_version"]) == (first["version"], 1)
        assert column(second, "committed")[0]["objective_title"] == "Customers reach value in 90 days"


async def test_the_shares_chart_is_drawn_in_lane_colours_with_the_reserve(dash: Dashboard) -> None:
    await dash.send(*four_lanes())
    answer = await dash.get("/v1/reports/shares.svg")
    assert answer.headers["content-type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(answer.text)
    fills = {rect.get("fill") for rect in svg.iter(f"{SVG}rect")}
    assert {PALETTE[c] for c in ("blue", "orange", "green", "yellow")} <= fills
    assert any(line.get("stroke-dasharray") for line in svg.iter(f"{SVG}line"))  # the customer reserve
    texts = [t.text or "" for t in svg.iter(f"{SVG}text")]
    assert "customer reserve 50%" in texts and "40%" in texts and "cycle" in texts
    assert (svg.findtext(f"{SVG}title") or "").startswith("Share of capacity per lane")
    png = await dash.get("/v1/reports/shares.png")
    image = Image.open(io.BytesIO(png.content)).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20) or []}
    assert {tuple(int(PALETTE[c][i:i + 2], 16) for i in (1, 3, 5)) for c in ("blue", "green")} <= colours


async def test_a_bad_date_in_an_export_is_a_problem(dash: Dashboard) -> None:
    answer = await dash.client.get("/v1/reports/shares.csv", params={"from": "last week"})
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"

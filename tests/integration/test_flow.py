"""Flow metrics and forecasts on the real broker and Redis: imported history gives real ranges, decisions
carry them, slips and SLE breaches are announced once, a rebuild restores it all, and requester tools read
only their own requests' rows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from capacity.app import create_app
from capacity.config import CapacitySettings
from capacity.flow.history import Passage
from capacity.flow.service import FlowService, flow_settings
from capacity.flow.store import PASSAGES, FlowStore
from capacity.rebuild import rebuild
from capacity.service import CapacityService
from capacity.store import LedgerStore
from shared.envelope import CloudEvent
from shared.topics import Topics
from tests.builders import POLICY, classified
from tests.integration.test_capacity import Board
from tests.support import AUTH, CRM_KEY, EventTap, auth, running

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture
def settings(settings_for: Callable[..., CapacitySettings]) -> CapacitySettings:
    return settings_for(CapacitySettings, flow_check_s=1.0, flow_trials=2_000, flow_calibration_trials=500,
                        flow_calibration_cycles=8)


@pytest.fixture
async def board(settings: CapacitySettings) -> AsyncIterator[Board]:
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, Topics(settings.topic_prefix).decisions) as tap:
        answer = await client.put("/v1/policy", json=POLICY, headers=AUTH)
        assert answer.status_code == 200, answer.text
        yield Board(settings, client, tap)


def past(lane: str, count: int, *, days_ago: float, every: float, cycle_time: float, tag: str = "") -> list[Any]:
    """``count`` finished items of ``lane``, the last started ``days_ago`` days ago, ``every`` days apart."""
    items = []
    for i in range(count):
        started = NOW - timedelta(days=days_ago + i * every)
        items.append({"request_id": f"past-{lane}-{tag}{i}", "lane": lane, "points": 3,
                      "submitted_at": (started - timedelta(days=2)).isoformat(), "started_at": started.isoformat(),
                      "done_at": (started + timedelta(days=cycle_time)).isoformat()})
    return items


async def import_past(board: Board, items: list[Any]) -> dict[str, Any]:
    answer = await board.client.post("/v1/flow/import", json={"items": items}, headers=AUTH)
    assert answer.status_code == 202, answer.text
    found: dict[str, Any] = answer.json()
    return found


def sales(name: str, minutes: int, **extra: Any) -> CloudEvent:
    return classified(name, lane="sales", size="M", submitted_at=NOW - timedelta(hours=1, minutes=-minutes), **extra)


async def test_imported_history_gives_ranges_that_decisions_endpoints_and_a_rebuild_all_keep(board: Board) -> None:
    first = await import_past(board, past("sales", 30, days_ago=8, every=2.5, cycle_time=3))
    assert (await import_past(board, past("sales", 30, days_ago=8, every=2.5, cycle_time=3))) == first  # same body
    await board.send_in_turn(*(sales(f"s-{i}", i) for i in range(4)))
    [told] = board.decisions("s-3", "request.backlogged")
    forecast = told.data["start_forecast"]
    assert forecast["method"] == "monte_carlo" and forecast["history_items"] == 30
    assert forecast["likely"] <= forecast["p85"] <= forecast["p95"]
    one = await board.get("/v1/forecast/s-3")
    assert one["method"] == "monte_carlo" and one["start"]["p85"] == forecast["p85"]
    assert one["start"]["p50"] <= one["done"]["p50"]
    flow = await board.get("/v1/flow")
    [lane] = [row for row in flow["lanes"] if row["lane"] == "sales"]
    assert lane["finished"] == 30 and lane["sle"]["statement"] == "85% of sales work finishes within 3 days."
    assert flow["cfd"]["done"][-1] == 30
    assert (await board.get("/v1/forecast?lane=sales"))["lanes"][0]["backlog_started_by"]["p50"] >= 1
    calibration = await board.get("/v1/forecast/calibration")
    assert {row["lane"] for row in calibration["lanes"]} >= {"sales", "legal"}
    svg = await board.client.get("/v1/flow/cfd.svg?lane=sales", headers=AUTH)
    assert svg.headers["content-type"] == "image/svg+xml" and "<svg" in svg.text
    csv = await board.client.get("/v1/flow/export.csv", headers=AUTH)
    assert "past-sales-0" in csv.text and csv.text.count("\n") == 1 + 30 + 4
    before = (await board.get("/v1/flow"), await board.get("/v1/forecast/s-3"))
    redis = Redis.from_url(board.settings.redis_url)
    await redis.flushdb()
    await redis.aclose()
    await rebuild(board.settings)
    after = (await board.get("/v1/flow"), await board.get("/v1/forecast/s-3"))
    assert after[1] == before[1]
    assert after[0]["lanes"] == before[0]["lanes"] and after[0]["cfd"] == before[0]["cfd"]


async def test_a_lane_with_too_little_history_hears_the_points_estimate_marked_as_such(board: Board) -> None:
    await import_past(board, past("sales", 9, days_ago=8, every=2.5, cycle_time=3))
    await board.send_in_turn(*(sales(f"p-{i}", i) for i in range(3)))
    [told] = board.decisions("p-2", "request.backlogged")
    assert told.data["start_forecast"]["method"] == "points"
    assert told.data["start_forecast"]["likely"] == told.data["expected_start"]
    assert "fewer than 10" in (await board.get("/v1/forecast/p-2"))["note"]


async def test_a_slipped_85_percent_start_is_announced_once_and_not_again_after_a_rebuild(board: Board) -> None:
    await import_past(board, past("sales", 12, days_ago=1, every=0.5, cycle_time=1, tag="recent"))
    await board.send_in_turn(*(sales(f"q-{i}", i) for i in range(6)))
    # Long-ago work stretches the lane's history over 26 quiet cycles: its throughput, sampled, drops.
    await import_past(board, past("sales", 10, days_ago=170, every=1, cycle_time=1, tag="old"))

    def slips() -> list[CloudEvent]:
        return [e for e in board.tap.events if e.type == "request.forecast_slipped"]

    waiting = {f"q-{i}" for i in range(1, 6)}
    await board.tap.wait_for(lambda events: waiting <= {e.subject for e in events
                                                        if e.type == "request.forecast_slipped"}, 30)
    await rebuild(board.settings)
    await board.client.post("/v1/work/q-0/start", headers=AUTH)  # an event, and the periodic check, run again
    await board.tap.wait_for(lambda events: any(e.type == "request.started" for e in events))
    await asyncio.sleep(3)  # three more periodic checks
    told: dict[str, str] = {}
    for slip in slips():  # one request's events keep their order: each slip follows from the last date told
        previous = told.get(slip.subject)
        assert previous is None or slip.data["previous_p85"] == previous
        assert slip.data["start_forecast"]["p85"] > slip.data["previous_p85"]
        told[slip.subject] = slip.data["start_forecast"]["p85"]


async def test_work_in_progress_older_than_its_lane_sle_is_flagged_once(board: Board) -> None:
    await import_past(board, past("sales", 12, days_ago=3, every=1, cycle_time=0.00005))  # an SLE of seconds
    await board.send(sales("hot", 0))
    assert (await board.client.post("/v1/work/hot/start", headers=AUTH)).status_code == 200

    def risks() -> list[CloudEvent]:
        return [e for e in board.tap.events if e.type == "request.sle_at_risk"]

    await board.tap.wait_for(lambda events: any(e.type == "request.sle_at_risk" for e in events), 30)
    [risk] = risks()
    assert risk.subject == "hot" and risk.data["age_days"] >= risk.data["sle_days"]
    assert "hot" in {row["request_id"] for row in (await board.get("/v1/flow"))["work_in_progress"]}
    await asyncio.sleep(3)  # three more periodic checks
    assert len(risks()) == 1


@asynccontextmanager
async def checked_by_hand(settings_for: Callable[..., CapacitySettings]) -> AsyncIterator[tuple[FastAPI, Board]]:
    """Capacity whose periodic checks wait an hour (the test runs them), with the sales lane's SLE in seconds."""
    settings = settings_for(CapacitySettings, flow_check_s=3600.0, cycle_check_s=3600.0, flow_trials=2_000)
    app = create_app(settings)
    async with running(app) as client, \
            EventTap(settings.kafka_bootstrap, Topics(settings.topic_prefix).decisions) as tap:
        board = Board(settings, client, tap)
        assert (await client.put("/v1/policy", json=POLICY, headers=AUTH)).status_code == 200
        await import_past(board, past("sales", 12, days_ago=3, every=1, cycle_time=0.00005))
        yield app, board


def instance(app: FastAPI, settings: CapacitySettings,
             today: date | None = None) -> tuple[CapacityService, FlowService]:
    """Another capacity instance beside ``app``'s, as create_app makes one: caches of its own."""
    runtime = app.state.runtime
    flow = FlowService(FlowStore(runtime.redis), flow_settings(settings))
    return CapacityService(LedgerStore(runtime.redis), runtime.outcomes, runtime.publisher, source="/capacity",
                           heat_shield=settings.heat_shield_email, flow=flow,
                           today=(lambda: today) if today else date.today), flow


async def test_two_instances_checking_at_once_flag_work_past_its_sle_once(
        settings_for: Callable[..., CapacitySettings]) -> None:
    async with checked_by_hand(settings_for) as (app, board):
        await board.send(sales("hot", 0))
        assert (await board.client.post("/v1/work/hot/start", headers=AUTH)).status_code == 200
        await asyncio.sleep(6)  # older than its lane's SLE now
        (first, first_flow), (second, second_flow) = instance(app, board.settings), instance(app, board.settings)
        await first_flow.store.history()  # the first has read the history before the second's check

        async def after_the_other_instance(change: Any, **kwargs: Any) -> Any:
            await second_flow.check(second.apply)  # it held the planning lock first, and flagged the work
            return await first.apply(change, **kwargs)

        await first_flow.check(after_the_other_instance)
        await board.tap.wait_for(lambda events: any(e.type == "request.sle_at_risk" for e in events), 30)
        await asyncio.sleep(2)
        assert [e.subject for e in board.tap.events if e.type == "request.sle_at_risk"] == ["hot"]


async def test_work_past_its_sle_is_flagged_once_when_the_check_also_commits_work_in_its_lane(
        settings_for: Callable[..., CapacitySettings]) -> None:
    async with checked_by_hand(settings_for) as (app, board):
        await board.send(classified("hot", lane="sales", size="S"), classified("later", lane="sales", size="S"))
        assert (await board.client.post("/v1/work/later/pause", headers=AUTH)).status_code == 200  # back next cycle
        assert (await board.client.post("/v1/work/hot/start", headers=AUTH)).status_code == 200
        await asyncio.sleep(6)  # "hot" is older than its lane's SLE now
        service, flow = instance(app, board.settings, today=date.today() + timedelta(days=7))
        made = await flow.check(service.apply)  # a new cycle for it: "later" is committed again, in sales
        assert "later" in {e.subject for e in made if e.type == "request.scheduled"}
        assert [e.subject for e in made if e.type == "request.sle_at_risk"] == ["hot"]


async def test_a_requester_tool_reads_the_figures_but_only_its_own_requests_rows(board: Board) -> None:
    await import_past(board, past("sales", 12, days_ago=3, every=1, cycle_time=2))
    own = sales("mine", 0)
    await board.send(own.model_copy(update={"data": {**own.data, "submitted_by": "crm"}}), sales("theirs", 1))
    for request_id in ("mine", "theirs"):
        assert (await board.client.post(f"/v1/work/{request_id}/start", headers=AUTH)).status_code in (200, 409)
    crm = auth(CRM_KEY)
    flow = (await board.client.get("/v1/flow", headers=crm)).json()
    assert "theirs" not in str(flow["work_in_progress"])
    assert (await board.client.get("/v1/forecast/theirs", headers=crm)).status_code == 404
    assert "theirs" not in (await board.client.get("/v1/flow/export.csv", headers=crm)).text
    assert "mine" in (await board.client.get("/v1/flow/export.csv", headers=crm)).text


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/v1/flow?lane=marketing", None),
    ("GET", "/v1/flow?days=2", None),
    ("GET", "/v1/flow/cfd.svg?days=x", None),
    ("GET", "/v1/forecast?horizon=2001-01-01", None),
    ("GET", "/v1/forecast?horizon=2999-01-01", None),
    ("GET", "/v1/forecast?lane=nope", None),
    ("GET", "/v1/forecast/nobody", None),
    ("POST", "/v1/flow/import", {"items": []}),
    ("POST", "/v1/flow/import", {"items": past("sales", 1, days_ago=1, every=1, cycle_time=-1)}),
    ("POST", "/v1/flow/import", {"items": [{**past("sales", 1, days_ago=1, every=1, cycle_time=1)[0], "lane": "x"}]}),
    # A time without its offset among times with one; a day past the last a date holds in UTC; not done yet.
    ("POST", "/v1/flow/import", {"items": [{**past("sales", 1, days_ago=9, every=1, cycle_time=1)[0],
                                            "submitted_at": f"{NOW - timedelta(days=20):%Y-%m-%dT%H:%M:%S}"}]}),
    ("POST", "/v1/flow/import", {"items": [{**past("sales", 1, days_ago=1, every=1, cycle_time=1)[0],
                                            "done_at": "9999-12-31T22:00:00-05:00"}]}),
    ("POST", "/v1/flow/import", {"items": past("sales", 1, days_ago=1, every=1, cycle_time=30)}),
])
async def test_bad_flow_and_forecast_requests_are_problems_that_change_nothing(
        board: Board, method: str, path: str, body: Any) -> None:
    answer = await board.client.request(method, path, json=body, headers=AUTH)
    assert answer.status_code in (404, 422), answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (await board.get("/v1/flow"))["overall"]["finished"] == 0


async def test_an_instance_reads_only_what_another_wrote_since_and_everything_after_a_rebuild(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        writer, reader = FlowStore(redis), FlowStore(redis)
        mine = await writer.history()

        async def write(request_id: str, event_type: str, *, full: bool = False) -> None:
            mine.record(event_type, request_id, NOW, lane="sales", points=3, submitted_at=NOW - timedelta(days=1))
            async with redis.pipeline(transaction=True) as pipe:
                writer.save(pipe, mine, full=full)
                await pipe.execute()

        await write("a", "request.started")
        assert (await reader.history()).passages["a"].in_progress
        await redis.hset(PASSAGES, "planted", json.dumps(Passage("planted", "legal", 1, 1.0).to_json()))
        await write("b", "request.started")
        await write("a", "request.done")
        caught = await reader.history()
        assert caught.passages["a"].done is not None and "b" in caught.passages
        assert "planted" not in caught.passages  # only what the writes named was read
        assert sum(t.finishes for t in caught.days("sales").values()) == 1
        await write("c", "request.started", full=True)  # as a rebuild saves
        assert "planted" in (await reader.history()).passages
    finally:
        await redis.aclose()


async def test_only_ops_import_history(board: Board) -> None:
    answer = await board.client.post("/v1/flow/import", json={"items": past("sales", 1, days_ago=1, every=1,
                                                                            cycle_time=1)}, headers=auth(CRM_KEY))
    assert answer.status_code == 403

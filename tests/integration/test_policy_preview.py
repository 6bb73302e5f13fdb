"""Capacity's API for the ops pages, on the real broker and Redis: a policy's preview (the planner on a copy,
nothing saved), the policy's versions with who changed what, and a trade-off decided with a note."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from capacity.app import create_app
from capacity.config import CapacitySettings
from capacity.rebuild import rebuild
from shared.envelope import CloudEvent
from shared.topics import Topics
from tests.builders import POLICY, classified
from tests.support import AUTH, HEAT_SHIELD_KEY, TEAM_KEY, EventTap, auth, publish, running

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC) - timedelta(hours=1)
WIDER_SALES = {**POLICY, "lane_caps": {**POLICY["lane_caps"], "sales": 0.35}}


@pytest.fixture
def settings(settings_for: Callable[..., CapacitySettings]) -> CapacitySettings:
    return settings_for(CapacitySettings, heat_shield_email="shield@example.com")


@pytest.fixture
async def board(settings: CapacitySettings) -> AsyncIterator[tuple[httpx.AsyncClient, EventTap]]:
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, Topics(settings.topic_prefix).decisions) as tap:
        answer = await client.put("/v1/policy", json=POLICY, headers=AUTH)
        assert answer.status_code == 200, answer.text
        yield client, tap


async def arrive(settings: CapacitySettings, tap: EventTap, *events: CloudEvent) -> None:
    """Each in turn, waiting until capacity has decided it."""
    for sent in events:
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), sent)

        def decided(found: list[CloudEvent], subject: str = sent.subject) -> bool:
            return any(e.subject == subject and e.type in ("request.scheduled", "request.backlogged") for e in found)

        await tap.wait_for(decided)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def get(client: httpx.AsyncClient, path: str) -> Any:
    answer = await client.get(path, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_preview_shows_what_the_policy_would_commit_and_move_and_saves_nothing(
        settings: CapacitySettings, board: tuple[httpx.AsyncClient, EventTap]) -> None:
    client, tap = board
    # Sales may use 4 of 20 points: one 3-point page is committed, the next two wait.
    await arrive(settings, tap, *(classified(f"sales-{i}", lane="sales", size="M", submitted_at=at(i))
                                  for i in range(3)))
    board_before, decisions_before = await get(client, "/v1/board"), len(tap.events)

    answer = await client.post("/v1/policy/preview", json=WIDER_SALES, headers=AUTH)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["saved"] is False and found["version"] == 2
    assert found["changes"] == [{"setting": "lane_caps.sales", "before": 0.2, "after": 0.35}]
    # 7 points for sales now: the second page moves into the cycle, the third moves up to position 1.
    assert (found["before"]["committed_points"], found["after"]["committed_points"]) == (3, 6)
    assert (found["before"]["shares"]["sales"], found["after"]["shares"]["sales"]) == (0.15, 0.3)
    assert found["after"]["budgets"]["sales"] == 7
    assert [c["request_id"] for c in found["after"]["committed"]] == ["sales-0", "sales-1"]
    moves = {m["request_id"]: m for m in found["moves"]}
    assert set(moves) == {"sales-1", "sales-2"}
    assert moves["sales-1"]["move"] == "into the cycle" and moves["sales-1"]["after"]["status"] == "committed"
    assert moves["sales-1"]["before"] == {**moves["sales-1"]["before"], "status": "backlogged", "position": 1}
    assert (moves["sales-2"]["before"]["position"], moves["sales-2"]["after"]["position"]) == (2, 1)

    # Nothing was saved or announced.
    await asyncio.sleep(1.0)
    assert (await get(client, "/v1/policy"))["version"] == 1
    assert await get(client, "/v1/board") == board_before
    assert len(tap.events) == decisions_before and not tap.of_type("policy.updated")[1:]

    # Saving the same policy does what the preview said.
    saved = await client.put("/v1/policy", json=WIDER_SALES, headers=AUTH)
    assert saved.status_code == 200 and saved.json()["version"] == 2
    committed = [c["request_id"] for c in (await get(client, "/v1/board"))["columns"]["committed"]]
    assert committed == [c["request_id"] for c in found["after"]["committed"]]
    assert (await get(client, "/v1/capacity"))["committed_points"] == found["after"]["committed_points"]


async def test_the_versions_say_who_changed_what_and_survive_a_rebuild(
        settings: CapacitySettings, board: tuple[httpx.AsyncClient, EventTap]) -> None:
    client, tap = board
    smaller = {**WIDER_SALES, "capacity_points": 30, "size_points": {"XS": 1, "S": 2, "M": 3, "L": 6, "XL": 8}}
    for body in (WIDER_SALES, smaller):
        assert (await client.put("/v1/policy", json=body, headers=AUTH)).status_code == 200

    async def listed() -> list[dict[str, Any]]:
        versions: list[dict[str, Any]] = (await get(client, "/v1/policy/versions"))["items"]
        return versions

    versions = await listed()
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["updated_by"] for v in versions] == ["test-tool", "test-tool", "test-tool"]
    assert versions[0]["changes"] == [{"setting": "capacity_points", "before": 20, "after": 30},
                                      {"setting": "size_points.L", "before": 5, "after": 6}]
    assert versions[1]["changes"] == [{"setting": "lane_caps.sales", "before": 0.2, "after": 0.35}]
    assert versions[0]["policy"]["capacity_points"] == 30
    assert {"setting": "wip_total", "before": 5, "after": 20} in versions[-1]["changes"]  # from the defaults
    # Any key reads them, as it reads the policy.
    assert (await client.get("/v1/policy/versions", headers=auth(TEAM_KEY))).status_code == 200

    await tap.wait_for(lambda es: len([e for e in es if e.type == "policy.updated"]) == 3)
    redis = Redis.from_url(settings.redis_url)
    await redis.flushdb()
    await redis.aclose()
    await rebuild(settings)
    rebuilt = await listed()
    assert [(v["version"], v["updated_by"], v["changes"]) for v in rebuilt] == [
        (v["version"], v["updated_by"], v["changes"]) for v in versions]


BAD_POLICIES: dict[str, tuple[dict[str, Any], str]] = {
    "a cap above 1": ({**POLICY, "lane_caps": {**POLICY["lane_caps"], "sales": 2}}, "body"),
    "not a number": ({**POLICY, "capacity_points": "lots"}, "body.capacity_points"),
    "an unknown setting": ({**POLICY, "budget": 3}, "body.budget"),
    "a lane without a cap": ({**POLICY, "lane_caps": {"sales": 0.2}}, "body"),
    "a cap worth less than a point": ({**POLICY, "capacity_points": 9}, "body"),  # legal's 10% of 9: 0 points
    "a reserve leaving internal lanes nothing": ({**POLICY, "capacity_points": 1, "customer_reserve": 0.5}, "body"),
}


@pytest.mark.parametrize("case", list(BAD_POLICIES))
async def test_a_bad_policy_preview_is_a_problem_per_field(
        board: tuple[httpx.AsyncClient, EventTap], case: str) -> None:
    client, _ = board
    body, where = BAD_POLICIES[case]
    answer = await client.post("/v1/policy/preview", json=body, headers=AUTH)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert where in {".".join(str(p) for p in e["location"]) for e in answer.json()["errors"]}
    assert (await get(client, "/v1/policy"))["version"] == 1


async def test_only_ops_previews_a_policy(board: tuple[httpx.AsyncClient, EventTap]) -> None:
    client, _ = board
    for key, status in ((TEAM_KEY, 403), (HEAT_SHIELD_KEY, 403), ("gov_unknown", 401)):
        answer = await client.post("/v1/policy/preview", json=POLICY, headers=auth(key))
        assert answer.status_code == status, (key, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"


async def test_a_tradeoff_shows_the_ask_and_the_committed_work_and_keeps_the_decisions_note(
        settings: CapacitySettings, board: tuple[httpx.AsyncClient, EventTap]) -> None:
    client, tap = board
    await arrive(settings, tap, classified("exec-report", lane="executive", size="M", submitted_at=at(0)),
                 classified("board-slides", lane="executive", size="S", expedite=True,
                            justification="The board meets on Friday", submitted_at=at(1)))
    await tap.wait_for(lambda es: any(e.type == "request.tradeoff_required" for e in es))
    [question] = tap.of_type("request.tradeoff_required")
    tradeoff_id = question.data["tradeoff_id"]
    [shown] = (await get(client, "/v1/tradeoffs"))["items"]
    assert shown["request"]["justification"] == "The board meets on Friday"
    assert shown["request"]["title"] == question.data["title"]
    assert [(c["request_id"], c["lane"], c["points"], c["state"]) for c in shown["committed"]] == [
        ("exec-report", "executive", 3, "committed")]

    path = f"/v1/tradeoffs/{tradeoff_id}/decision"
    too_long = await client.post(path, json={"pause": "exec-report", "note": "x" * 1001}, headers=auth(HEAT_SHIELD_KEY))
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["location"] == ["body", "note"]
    assert (await client.post(path, json={"pause": "exec-report", "note": "Board first"}, headers=auth(TEAM_KEY))
            ).status_code == 403
    assert (await get(client, f"/v1/tradeoffs/{tradeoff_id}"))["status"] == "open"

    note = "The board meets on Friday; the report can wait a week."
    decided = await client.post(path, json={"pause": "exec-report", "note": f"  {note} "},
                                headers=auth(HEAT_SHIELD_KEY))
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["note"], decided.json()["decided_by"]) == (
        "paused", note, "heat-shield")
    await tap.wait_for(lambda es: any(e.type == "request.tradeoff_decided" for e in es))
    [told] = tap.of_type("request.tradeoff_decided")
    assert told.data["note"] == note
    assert (told.data["title"], told.data["requester"]) == (question.data["title"], question.data["requester"])
    [paused] = [e for e in tap.of_type("request.paused") if e.subject == "exec-report"]
    assert paused.data["reason"].endswith(f"heat-shield wrote: {note}")
    [listed] = (await get(client, "/v1/tradeoffs"))["items"]
    assert (listed["status"], listed["paused_request_id"], listed["note"]) == ("paused", "exec-report", note)

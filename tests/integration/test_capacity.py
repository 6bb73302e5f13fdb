"""Capacity on the real broker and Redis: the policy decides what is committed and what waits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from capacity.app import create_app
from capacity.config import CapacitySettings
from capacity.rebuild import rebuild
from shared.envelope import CloudEvent
from shared.topics import Topics
from tests.builders import POLICY, classified
from tests.support import AUTH, EventTap, eventually, publish, running

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def settings(settings_for: Callable[..., CapacitySettings]) -> CapacitySettings:
    return settings_for(CapacitySettings, heat_shield_email="shield@example.com")


class Board:
    """The capacity service with its API, and every decision it announces."""

    def __init__(self, settings: CapacitySettings, client: httpx.AsyncClient, tap: EventTap) -> None:
        self.settings, self.client, self.tap = settings, client, tap
        self.topics = Topics(settings.topic_prefix)

    async def send(self, *events: CloudEvent) -> None:
        """Publish together (their order of arrival may vary) and wait until each is decided."""
        await publish(self.settings.kafka_bootstrap, self.topics, *events)
        subjects = {e.subject for e in events}
        await self.tap.wait_for(lambda es: subjects <= {e.subject for e in es if e.type in (
            "request.scheduled", "request.backlogged")})

    async def send_in_turn(self, *events: CloudEvent) -> None:
        for event in events:
            await self.send(event)

    def decisions(self, subject: str, event_type: str | None = None) -> list[CloudEvent]:
        return [e for e in self.tap.events if e.subject == subject and (event_type is None or e.type == event_type)]

    async def get(self, path: str) -> Any:
        answer = await self.client.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def column(self, name: str) -> list[str]:
        return [c["request_id"] for c in (await self.get("/v1/board"))["columns"][name]]


@pytest.fixture
async def board(settings: CapacitySettings) -> AsyncIterator[Board]:
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, Topics(settings.topic_prefix).decisions) as tap:
        answer = await client.put("/v1/policy", json=POLICY, headers=AUTH)
        assert answer.status_code == 200, answer.text
        yield Board(settings, client, tap)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_aligned_work_waits_ahead_of_earlier_unaligned_work(board: Board) -> None:
    await board.send(classified("first-page", lane="sales", size="M", submitted_at=at(0)))
    await board.send(classified("account-page", lane="sales", size="M", submitted_at=at(1)),
                     classified("launch-page", lane="sales", size="M", objective="O1", rank=1, submitted_at=at(5)))

    async def settled() -> list[str] | None:
        order = [b["request_id"] for b in (await board.get("/v1/backlog"))["items"]]
        return order if len(order) == 2 else None

    assert await eventually(settled) == ["launch-page", "account-page"]
    assert await board.column("committed") == ["first-page"]
    assert "objective O1 (rank 1)" in board.decisions("launch-page", "request.backlogged")[-1].data["reason"]


async def test_a_lane_at_its_cap_backlogs_further_requests_with_positions_and_starts(board: Board) -> None:
    await board.send_in_turn(*(classified(f"sales-{i}", lane="sales", size="M", submitted_at=at(i))
                               for i in range(3)))
    backlog = (await board.get("/v1/backlog"))["items"]
    assert [(b["request_id"], b["position"]) for b in backlog] == [("sales-1", 1), ("sales-2", 2)]
    cycle = (await board.get("/v1/capacity"))["cycle_start"]
    starts = [date.fromisoformat(b["expected_start"]) for b in backlog]
    assert date.fromisoformat(cycle) < starts[0] < starts[1]
    told = board.decisions("sales-2", "request.backlogged")[-1].data
    assert told["position"] == 2 and "sales share of this cycle (4 of 20 points)" in told["reason"]
    capacity = await board.get("/v1/capacity")
    assert capacity["lanes"]["sales"]["committed_points"] == 3 and capacity["backlog_depth"] == 2


async def test_customer_work_commits_inside_the_reserve(board: Board) -> None:
    await board.send(classified("webinar", lane="customer", size="XL", objective="O2", rank=2))
    capacity = await board.get("/v1/capacity")
    assert capacity["customer_share"] == 0.4 and capacity["objectives"]["O2"]["committed_points"] == 8


async def test_expedite_asks_what_to_pause_and_the_decision_swaps_them(board: Board) -> None:
    await board.send(classified("exec-report", lane="executive", size="M", submitted_at=at(0)))
    await board.send(classified("board-slides", lane="executive", size="S", expedite=True,
                                justification="Board meets Friday", submitted_at=at(1)))
    [question] = board.decisions("board-slides", "request.tradeoff_required")
    assert [c["request_id"] for c in question.data["committed"]] == ["exec-report"]
    assert question.data["addressed_to"] == ["shield@example.com", "dave@example.com"]
    assert "what would you like us to pause?" in question.data["question"]
    tradeoff_id = question.data["tradeoff_id"]

    wrong = await board.client.post(f"/v1/tradeoffs/{tradeoff_id}/decision", json={"pause": "nothing"},
                                    headers=AUTH)
    assert wrong.status_code == 422
    decided = await board.client.post(f"/v1/tradeoffs/{tradeoff_id}/decision", json={"pause": "exec-report"},
                                      headers=AUTH)
    assert decided.status_code == 200
    assert decided.json()["status"] == "paused" and decided.json()["decided_by"] == "test-tool"
    assert decided.json()["policy_version"] == 1
    assert await board.column("committed") == ["board-slides"]
    backlog = (await board.get("/v1/backlog"))["items"]
    assert backlog[0]["request_id"] == "exec-report" and backlog[0]["position"] == 1
    await board.tap.wait_for(lambda es: any(e.type == "request.tradeoff_decided" for e in es))
    paused = board.decisions("exec-report", "request.paused")[0].data
    assert paused["tradeoff_id"] == tradeoff_id and "board-slides" not in paused["reason"]
    again = await board.client.post(f"/v1/tradeoffs/{tradeoff_id}/decision", json={"defer": True}, headers=AUTH)
    assert again.status_code == 409


async def test_deferring_a_tradeoff_leaves_the_expedite_in_the_backlog(board: Board) -> None:
    await board.send(classified("legal-1", lane="legal", size="S", submitted_at=at(0)))
    await board.send(classified("legal-urgent", lane="legal", size="S", expedite=True, submitted_at=at(1)))
    [question] = board.decisions("legal-urgent", "request.tradeoff_required")
    answer = await board.client.post(f"/v1/tradeoffs/{question.data['tradeoff_id']}/decision",
                                     json={"defer": True}, headers=AUTH)
    assert answer.json()["status"] == "deferred"
    assert await board.column("committed") == ["legal-1"]
    assert await board.column("backlog") == ["legal-urgent"]


async def test_forcing_a_lane_past_its_cap_raises_a_share_alert(board: Board) -> None:
    await board.send_in_turn(classified("exec-small", lane="executive", size="XS", submitted_at=at(0)),
                             classified("exec-mid", lane="executive", size="S", submitted_at=at(1)))
    await board.send(classified("exec-big", lane="executive", size="L", expedite=True, submitted_at=at(2)))
    [question] = board.decisions("exec-big", "request.tradeoff_required")
    await board.client.post(f"/v1/tradeoffs/{question.data['tradeoff_id']}/decision",
                            json={"pause": "exec-small"}, headers=AUTH)
    await board.tap.wait_for(lambda es: any(e.type == "capacity.alert" for e in es))
    [alert] = [e for e in board.tap.events if e.type == "capacity.alert"]
    assert alert.data["kind"] == "lane_over_cap" and alert.data["lane"] == "executive"
    assert "executive" in alert.data["observation"] and "%" in alert.data["observation"]
    assert (await board.get("/v1/capacity"))["alerts"][0]["alert_id"] == alert.data["alert_id"]


async def test_large_work_of_two_teams_due_the_same_cycle_collides(board: Board) -> None:
    # Both lanes already have work this cycle, so both large pieces wait for next cycle, when they are due.
    aisha = {"id": "u-3", "name": "Aisha", "email": "aisha@example.com", "team": "Atlas Product Team",
             "type": "business_unit"}
    await board.send_in_turn(classified("sales-now", lane="sales", size="M", submitted_at=at(0)),
                             classified("bu-now", lane="business_unit", size="M", requester=aisha, submitted_at=at(1)))
    due = (date.fromisoformat((await board.get("/v1/capacity"))["cycle_start"]) + timedelta(days=8)).isoformat()
    await board.send(classified("summit", lane="sales", size="XL", due_date=due, submitted_at=at(2)),
                     classified("launch", lane="business_unit", size="XL", due_date=due, requester=aisha,
                                submitted_at=at(3)))
    conflicts = await board.tap.wait_for(
        lambda es: {"summit", "launch"} <= {e.subject for e in es if e.type == "request.conflict_detected"})
    found = [e for e in conflicts if e.type == "request.conflict_detected"]
    assert len({e.data["conflict_id"] for e in found}) == 1
    assert {s["email"] for s in found[0].data["stakeholders"]} == {"dave@example.com", "aisha@example.com"}
    assert "settle the priorities together" in found[0].data["observation"]


async def test_starting_work_that_was_never_committed_is_refused_and_recorded(board: Board) -> None:
    await board.send_in_turn(*(classified(f"s-{i}", lane="sales", size="M", submitted_at=at(i)) for i in range(2)))
    for request_id in ("never-through-intake", "s-1"):
        answer = await board.client.post(f"/v1/work/{request_id}/start", headers=AUTH)
        assert answer.status_code == 409
        assert answer.headers["content-type"] == "application/problem+json"
    refused = await board.tap.wait_for(
        lambda es: len([e for e in es if e.type == "request.bypass_refused"]) == 2)
    assert {e.subject for e in refused if e.type == "request.bypass_refused"} == {"never-through-intake", "s-1"}
    attempts = (await board.get("/v1/bypass-attempts"))["items"]
    assert [a["request_id"] for a in attempts] == ["never-through-intake", "s-1"]
    assert await board.column("backlog") == ["s-1"]


async def test_done_frees_capacity_and_commits_the_next_in_line(board: Board) -> None:
    await board.send_in_turn(*(classified(f"s-{i}", lane="sales", size="M", submitted_at=at(i)) for i in range(2)))
    assert (await board.client.post("/v1/work/s-0/start", headers=AUTH)).json()["column"] == "in_progress"
    assert (await board.client.post("/v1/work/s-0/done", headers=AUTH)).json()["column"] == "done"
    await board.tap.wait_for(lambda es: any(e.type == "request.scheduled" and e.subject == "s-1" for e in es))
    assert await board.column("committed") == ["s-1"]
    assert await board.column("done") == ["s-0"]
    report = await board.get("/v1/reports/shares")
    assert report["cycles"][-1]["lanes"]["sales"]["points"] == 6


async def test_an_invalid_policy_is_refused_and_changes_nothing(board: Board) -> None:
    for bad in ({"customer_reserve": 1.5}, {"lane_caps": {"sales": 0.2}}, {"capacity_points": 0},
                {"wip_limits": {"ceo": 9}}, {"surprise": True}):
        answer = await board.client.put("/v1/policy", json={**POLICY, **bad}, headers=AUTH)
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"] == "application/problem+json"
    assert (await board.get("/v1/policy"))["version"] == 1
    await board.send(classified("marker", size="S"))
    updates = [e for e in board.tap.events if e.type == "policy.updated"]
    assert [e.data["version"] for e in updates] == [1]


async def test_redelivered_event_changes_nothing_twice(board: Board) -> None:
    first = classified("page-1", size="M", submitted_at=at(0))
    await board.send(first, first)
    await board.send(classified("page-2", size="M", submitted_at=at(1)))
    # The redelivery re-announces the same decision under the same id; consumers dedupe it.
    assert len({e.id for e in board.decisions("page-1", "request.scheduled")}) == 1
    assert len(board.decisions("page-1", "request.backlogged")) == 0
    assert len((await board.get("/v1/board"))["columns"]["committed"]) + (
        await board.get("/v1/backlog"))["depth"] == 2


async def test_wiped_state_is_rebuilt_from_the_event_log(board: Board) -> None:
    await board.send_in_turn(
        *(classified(f"s-{i}", lane="sales", size="M", submitted_at=at(i)) for i in range(3)),
        classified("webinar", lane="customer", size="L", objective="O2", rank=2, submitted_at=at(9)))
    await board.client.post("/v1/work/s-0/start", headers=AUTH)
    await board.client.post("/v1/work/never/start", headers=AUTH)
    before = (await board.get("/v1/board"), await board.get("/v1/backlog"), await board.get("/v1/capacity"))
    redis = Redis.from_url(board.settings.redis_url)
    await redis.flushdb()
    await redis.aclose()
    assert (await board.get("/v1/backlog"))["depth"] == 0
    await rebuild(board.settings)
    after = (await board.get("/v1/board"), await board.get("/v1/backlog"), await board.get("/v1/capacity"))
    assert after == before
    assert len((await board.get("/v1/bypass-attempts"))["items"]) == 1


async def test_two_instances_in_one_group_never_over_allocate(settings: CapacitySettings) -> None:
    """A burst spread over the partitions of two capacity instances: the ledger stays within the policy."""
    lanes = ["sales", "business_unit", "executive", "legal", "customer"]
    burst = [classified(f"r-{i}", lane=lanes[i % 5], size=["S", "M", "L"][i % 3], submitted_at=at(i))
             for i in range(40)]
    async with running(create_app(settings)) as first, running(create_app(settings)) as second, \
            EventTap(settings.kafka_bootstrap, Topics(settings.topic_prefix).decisions) as tap:
        assert (await first.put("/v1/policy", json=POLICY, headers=AUTH)).status_code == 200
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), *burst)
        await tap.wait_for(lambda es: {e.subject for e in burst} <= {
            e.subject for e in es if e.type in ("request.scheduled", "request.backlogged")}, timeout=60)
        views = [(await client.get("/v1/capacity")).json() for client in (first, second)]
        assert views[0] == views[1]
        capacity = views[0]
        for lane, row in capacity["lanes"].items():
            assert row["committed_points"] <= row["budget_points"], lane
        internal = sum(row["committed_points"] for lane, row in capacity["lanes"].items() if lane != "customer")
        assert internal <= 10 and capacity["committed_points"] <= 20
        scheduled = [e for e in tap.events if e.type == "request.scheduled"]
        assert len({e.subject for e in scheduled}) == len({e.id for e in scheduled})  # each committed once
        board = (await second.get("/v1/board")).json()["columns"]
        assert len(board["committed"]) + len(board["backlog"]) == 40
        assert await group_members(settings.kafka_bootstrap, "capacity") == 2


async def group_members(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([group])
        return len(described.groups[0][-1])  # (error, group, state, protocol type, protocol, members)
    finally:
        await admin.close()

"""Capacity on the real broker and Redis: the policy decides what is committed and what waits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from capacity.app import create_app
from capacity.config import CapacitySettings
from capacity.rebuild import rebuild
from shared.envelope import CloudEvent, derived_id
from shared.events import RequestWithdrawn
from shared.outbox import Outcomes
from shared.topics import Topics
from tests.builders import POLICY, classified
from tests.infra import admin_options
from tests.support import AUTH, EventTap, event, eventually, publish, publish_raw, running

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
        for sent in events:
            await self.send(sent)

    async def question(self, subject: str) -> CloudEvent:
        """The trade-off question about ``subject``, once it was seen: it follows the decision that
        put the urgent request in the backlog, and may arrive in a later fetch than that."""
        await self.tap.wait_for(lambda es: any(e.subject == subject and e.type == "request.tradeoff_required"
                                               for e in es))
        [asked] = self.decisions(subject, "request.tradeoff_required")
        return asked

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
                     classified("launch-page", lane="sales", size="M", objective="O1", rank=1, submitted_at=at(5),
                                objective_title="Launch Atlas 3.0 into the mid-market"))

    async def settled() -> list[str] | None:
        order = [b["request_id"] for b in (await board.get("/v1/backlog"))["items"]]
        return order if len(order) == 2 else None

    assert await eventually(settled) == ["launch-page", "account-page"]
    assert await board.column("committed") == ["first-page"]
    told = board.decisions("launch-page", "request.backlogged")[-1].data
    assert "objective O1 (rank 1)" in told["reason"]
    # Named as its classification named it, for the notifier to tell the requester.
    assert (told["objective_id"], told["objective_title"]) == ("O1", "Launch Atlas 3.0 into the mid-market")


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
    question = await board.question("board-slides")
    assert [c["request_id"] for c in question.data["committed"]] == ["exec-report"]
    assert question.data["addressed_to"] == ["shield@example.com", "dave@example.com"]
    assert "what would you like us to pause?" in question.data["question"]
    tradeoff_id = question.data["tradeoff_id"]

    for wrong_choice in ({"pause": "nothing"}, {"pause": ""}, {"pause": "exec-report", "defer": True}, {}):
        wrong = await board.client.post(f"/v1/tradeoffs/{tradeoff_id}/decision", json=wrong_choice, headers=AUTH)
        assert wrong.status_code == 422, wrong_choice
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
    # The same decision again (its answer was lost): the first answer, nothing decided twice.
    replayed = await board.client.post(f"/v1/tradeoffs/{tradeoff_id}/decision", json={"pause": "exec-report"},
                                       headers=AUTH)
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == decided.json()
    again = await board.client.post(f"/v1/tradeoffs/{tradeoff_id}/decision", json={"defer": True}, headers=AUTH)
    assert again.status_code == 409
    assert len(board.decisions("exec-report", "request.paused")) == 1


async def test_deferring_a_tradeoff_leaves_the_expedite_in_the_backlog(board: Board) -> None:
    await board.send(classified("legal-1", lane="legal", size="S", submitted_at=at(0)))
    await board.send(classified("legal-urgent", lane="legal", size="S", expedite=True, submitted_at=at(1)))
    question = await board.question("legal-urgent")
    answer = await board.client.post(f"/v1/tradeoffs/{question.data['tradeoff_id']}/decision",
                                     json={"defer": True}, headers=AUTH)
    assert answer.json()["status"] == "deferred"
    assert await board.column("committed") == ["legal-1"]
    assert await board.column("backlog") == ["legal-urgent"]


async def test_forcing_a_lane_past_its_cap_raises_a_share_alert(board: Board) -> None:
    await board.send_in_turn(classified("exec-small", lane="executive", size="XS", submitted_at=at(0)),
                             classified("exec-mid", lane="executive", size="S", submitted_at=at(1)))
    await board.send(classified("exec-big", lane="executive", size="L", expedite=True, submitted_at=at(2)))
    question = await board.question("exec-big")
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
                {"wip_limits": {"ceo": 9}}, {"surprise": True}, {"default_points": 10 ** 310},
                {"size_points": {"M": 10 ** 310}}, {"wip_total": 10 ** 9}, {"max_wait_cycles": 10 ** 9}):
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
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **admin_options())
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([group])
        return len(described.groups[0][-1])  # (error, group, state, protocol type, protocol, members)
    finally:
        await admin.close()


# Issue 11: lifecycle truth


def withdrawal(request_id: str) -> CloudEvent:
    return event(RequestWithdrawn(request_id=request_id, withdrawn_by="crm", reason="Not needed any more"),
                 event_id=derived_id(request_id, "request.withdrawn"))


async def settled(board: Board, *events: CloudEvent) -> list[CloudEvent]:
    """Publish ``events`` in this order, each once the one before was handled; what handling them produced."""
    redis = Redis.from_url(board.settings.redis_url, decode_responses=True)
    outcomes = Outcomes(redis, "capacity")
    produced: list[CloudEvent] = []
    try:
        for sent in events:
            await publish(board.settings.kafka_bootstrap, board.topics, sent)
            # Handled once its outcome is kept (an empty list when it led to no decision).
            produced += (await eventually(partial(handled, outcomes, sent.id)))[0]
    finally:
        await redis.aclose()
    return produced


async def handled(outcomes: Outcomes, event_id: str) -> tuple[list[CloudEvent]] | None:
    found = await outcomes.get(event_id)
    return None if found is None else (found,)


def names(found: CloudEvent, request_ids: set[str]) -> bool:
    """Whether an announcement is about one of ``request_ids`` or lists one of them."""
    listed = {c["request_id"] for key in ("committed", "requests") for c in found.data.get(key, [])}
    return found.subject in request_ids or bool(listed & request_ids)


ANNOUNCEMENTS = ("request.scheduled", "request.backlogged", "request.tradeoff_required", "request.conflict_detected")


async def test_paused_work_reads_paused_on_the_board_and_in_its_backlog_notice(board: Board) -> None:
    await board.send(classified("exec-report", lane="executive", size="M", submitted_at=at(0)))
    await board.send(classified("board-slides", lane="executive", size="S", expedite=True,
                                justification="Board meets Friday", submitted_at=at(1)),
                     classified("page", lane="sales", size="M", submitted_at=at(2)))
    question = await board.question("board-slides")
    decided = await board.client.post(f"/v1/tradeoffs/{question.data['tradeoff_id']}/decision",
                                      json={"pause": "exec-report"}, headers=AUTH)
    assert decided.status_code == 200, decided.text
    assert (await board.client.post("/v1/work/page/pause", headers=AUTH)).status_code == 200
    await board.tap.wait_for(lambda es: {"exec-report", "page"} <= {
        e.subject for e in es if e.type == "request.backlogged"})
    assert sorted(await board.column("paused")) == ["exec-report", "page"]
    for request_id in ("exec-report", "page"):
        told = board.decisions(request_id, "request.backlogged")
        assert told and all(e.data.get("paused") is True for e in told), [e.data for e in told]
        [card] = [c for c in (await board.get("/v1/board"))["columns"]["paused"] if c["request_id"] == request_id]
        assert card["status"] == "paused"


@pytest.mark.parametrize("withdrawn_first", [True, False], ids=["withdrawn-first", "classified-first"])
async def test_a_withdrawn_request_is_never_scheduled_announced_or_counted_whatever_the_order(
        board: Board, withdrawn_first: bool) -> None:
    await board.send(classified("exec-report", lane="executive", size="M", submitted_at=at(0)))
    gone = {"webinar", "board-slides"}
    arrivals = [classified("webinar", lane="customer", colour="blue", size="L", objective="O2", rank=2,
                           submitted_at=at(1)),
                classified("board-slides", lane="executive", size="S", expedite=True,
                           justification="Board meets Friday", submitted_at=at(2))]
    # Made after the classifications, as intake withdraws while capacity still has them to read.
    withdrawals = [withdrawal(rid) for rid in sorted(gone)]
    if withdrawn_first:
        after = await settled(board, *withdrawals, *arrivals)
    else:
        await settled(board, *arrivals)
        await board.tap.wait_for(lambda es: any(e.type == "request.tradeoff_required" for e in es))
        before = [e for e in board.tap.events if names(e, gone)]
        after = await settled(board, *withdrawals)
    after += await settled(board, classified("later", lane="sales", size="S", submitted_at=at(3)))
    assert [e.type for e in after if names(e, gone)] == []
    await board.tap.wait_for(lambda es: any(e.subject == "later" for e in es))
    announced = [e for e in board.tap.events if names(e, gone) and e.type in ANNOUNCEMENTS]
    assert announced == ([] if withdrawn_first else [e for e in before if e.type in ANNOUNCEMENTS])

    async def nowhere() -> None:
        cards = {c["request_id"] for cards in (await board.get("/v1/board"))["columns"].values() for c in cards}
        assert cards == {"exec-report", "later"}
        assert (await board.get("/v1/backlog"))["depth"] == 0
        capacity = await board.get("/v1/capacity")
        assert (capacity["committed_points"], capacity["open_tradeoffs"]) == (5, [])  # exec-report, later
        assert capacity["lanes"]["customer"]["committed_points"] == 0 and "O2" not in capacity["objectives"]
        for t in (await board.get("/v1/tradeoffs"))["items"]:
            assert t["status"] == "closed" and not set(t["candidates"]) & gone, t
        [row] = (await board.get("/v1/reports/shares"))["cycles"]
        assert set(row["lanes"]) == {"executive", "sales"}

    await nowhere()
    redis = Redis.from_url(board.settings.redis_url)
    await redis.flushdb()
    await redis.aclose()
    await rebuild(board.settings)  # folds by time: each withdrawal before capacity's answers to the arrivals
    await nowhere()


async def test_wip_limits_gate_starts_not_commitment(settings_for: Callable[..., CapacitySettings]) -> None:
    """The default policy: 8 customer requests of 2 points are all committed (WIP total 5); starts are gated."""
    settings = settings_for(CapacitySettings)
    customer = [classified(f"c-{i}", lane="customer", colour="blue", size="S", submitted_at=at(i)) for i in range(8)]
    internal = [classified(f"{lane}-1", lane=lane, size="XS", submitted_at=at(10 + n))
                for n, lane in enumerate(("sales", "business_unit", "executive"))]
    async with running(create_app(settings)) as client, \
            EventTap(settings.kafka_bootstrap, Topics(settings.topic_prefix).decisions) as tap:
        board = Board(settings, client, tap)
        assert (await board.get("/v1/policy"))["wip_total"] == 5
        await board.send(*customer, *internal)
        assert len(await board.column("committed")) == 11 and await board.column("backlog") == []
        capacity = await board.get("/v1/capacity")
        assert (capacity["lanes"]["customer"]["committed_points"], capacity["customer_share"]) == (16, 0.8)
        for request_id in ("c-0", "c-1", "c-2", "sales-1", "business_unit-1"):
            answer = await client.post(f"/v1/work/{request_id}/start", headers=AUTH)
            assert answer.status_code == 200, answer.text
        lane_full = await client.post("/v1/work/c-3/start", headers=AUTH)
        team_full = await client.post("/v1/work/executive-1/start", headers=AUTH)  # the 6th start
        for refused, why in ((lane_full, "customer lane has 3"), (team_full, "WIP limit of 5")):
            assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
            assert why in refused.json()["detail"] and refused.json()["type"] == "/problems/wip-limit"
        assert (await board.get("/v1/bypass-attempts"))["items"] == []  # committed work: no bypass
        assert {"c-3", "executive-1"} <= set(await board.column("committed"))
        assert (await board.get("/v1/capacity"))["wip"]["total"] == {"in_progress": 5, "limit": 5}
        assert (await client.post("/v1/work/c-0/done", headers=AUTH)).status_code == 200
        assert (await client.post("/v1/work/executive-1/start", headers=AUTH)).status_code == 200


@pytest.mark.parametrize("path", ["/v1/reports/shares", "/v1/reports/shares.csv", "/v1/reports/shares.svg",
                                  "/v1/reports/shares.png"])
async def test_a_shares_range_out_of_bounds_is_a_clear_422(board: Board, path: str) -> None:
    for cycle_days in (7, 28, 1):
        answer = await board.client.put("/v1/policy", json={**POLICY, "cycle_days": cycle_days}, headers=AUTH)
        assert answer.status_code == 200
        for query in ({"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "2000-01-01", "to": "2200-12-31"},
                      {"from": "2026-12-01", "to": "2026-01-01"}):
            refused = await board.client.get(path, params=query)
            assert refused.status_code == 422, (cycle_days, query, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert any(word in refused.json()["detail"] for word in ("between", "after", "at most")), refused.text
    assert (await board.client.get(path, params={"from": "2026-01-01"})).status_code == 200


async def test_an_input_that_does_not_fit_its_event_model_is_dead_lettered_and_what_follows_it_is_handled(
        settings_for: Callable[..., CapacitySettings]) -> None:
    """Capacity reads each input into its model (``capacity.events``): a withdrawal missing who withdrew it is
    tried, then set aside for an operator, and the withdrawal behind it on the same partition still lands."""
    settings = settings_for(CapacitySettings, heat_shield_email="shield@example.com", handler_max_attempts=2,
                            handler_backoff_s=0.05)
    topics = Topics(settings.topic_prefix)
    async with running(create_app(settings)) as client, EventTap(settings.kafka_bootstrap, topics.decisions) as tap:
        board = Board(settings, client, tap)
        await board.send(classified("keep", lane="sales", size="S"))
        malformed = withdrawal("keep").model_dump(mode="json")
        del malformed["data"]["withdrawn_by"]
        malformed["id"] = "withdrawal-without-its-author"
        await publish_raw(settings.kafka_bootstrap, topics.requests, json.dumps(malformed).encode(), key=b"keep")
        await publish(settings.kafka_bootstrap, topics, withdrawal("keep"))

        async def gone() -> list[str] | None:
            columns = (await board.get("/v1/board"))["columns"]
            return None if any(c["request_id"] == "keep" for cards in columns.values() for c in cards) else ["gone"]

        async def set_aside() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (await client.get("/v1/dead-letters")).json()["items"]
            return items

        assert await eventually(gone)
        dead = await eventually(set_aside)
        assert [(d["topic"], "ValidationError" in str(d["error"]), d["attempts"]) for d in dead] == [
            (topics.requests, True, 2)]
        # The rebuild reads the same log, poison included, and skips it as the service did.
        rebuilt = await rebuild(settings)
        assert "keep" not in rebuilt.cards and "keep" in rebuilt.closed

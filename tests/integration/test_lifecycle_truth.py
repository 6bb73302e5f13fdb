"""What intake tells about a request is true: one status everywhere, the facts on the timeline, a key that
never rewrites a request, and only the own requester's details for a requester tool. Real broker and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from capacity.app import create_app as create_capacity
from capacity.config import CapacitySettings
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from shared.envelope import derived_id
from shared.events import CommittedItem, ConflictDetected, ForecastSlipped, Requester, StartForecast
from shared.topics import Topics
from tests.builders import POLICY, classified
from tests.support import (
    AUTH,
    CRM_KEY,
    EventTap,
    auth,
    event,
    eventually,
    publish,
    request_body,
    running,
)

pytestmark = pytest.mark.integration


async def _status(client: Any, request_id: str, wanted: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        found: dict[str, Any] = (await client.get(f"/v1/requests/{request_id}")).json()
        return found if found["status"] == wanted else None

    result: dict[str, Any] = await eventually(reached)
    return result


async def _column(client: Any, request_id: str, column: str) -> None:
    async def there() -> bool:
        board = (await client.get("/v1/board")).json()
        return request_id in [c["request_id"] for c in board["columns"][column]]

    await eventually(there)


async def test_paused_work_reads_paused_in_intake_and_on_the_board(
        settings_for: Callable[..., Any]) -> None:
    intake_settings = settings_for(IntakeSettings)
    capacity_settings = settings_for(CapacitySettings)
    topics = Topics(intake_settings.topic_prefix)
    async with running(create_intake(intake_settings)) as intake, \
            running(create_capacity(capacity_settings)) as capacity, \
            EventTap(intake_settings.kafka_bootstrap, topics.decisions) as tap:
        assert (await capacity.put("/v1/policy", json=POLICY)).status_code == 200
        request_id = (await intake.post("/v1/requests", json=request_body(), headers=AUTH)).json()["id"]
        await publish(intake_settings.kafka_bootstrap, topics, classified(request_id, size="M"))
        await _status(intake, request_id, "committed")
        paused = await capacity.post(f"/v1/work/{request_id}/pause")
        assert paused.status_code == 200
        # Capacity lists the paused card at the head of the backlog: once intake has that on the timeline
        # too, the status still reads paused.
        await tap.wait_for(lambda es: any(e.type == "request.backlogged" and e.subject == request_id
                                          for e in es))

        async def both_seen() -> dict[str, Any] | None:
            found: dict[str, Any] = (await intake.get(f"/v1/requests/{request_id}")).json()
            types = [e["type"] for e in found["timeline"]]
            return found if types[-2:] == ["request.paused", "request.backlogged"] else None

        found = await eventually(both_seen)
        assert found["status"] == "paused"
        assert found["timeline"][-1]["data"]["paused"] is True
        assert found["timeline"][-1]["summary"].startswith("Paused:")
        await _column(capacity, request_id, "paused")
        listed = (await intake.get("/v1/requests", params={"status": "paused"})).json()["items"]
        assert [r["id"] for r in listed] == [request_id]


@asynccontextmanager
async def two_account_pages(settings_for: Callable[..., Any]) -> AsyncIterator[tuple[Any, str, Topics, str, str]]:
    """Intake and capacity (the test policy), and two sales requests submitted: the intake client, the
    broker, the topics and the two request ids."""
    intake_settings = settings_for(IntakeSettings)
    capacity_settings = settings_for(CapacitySettings)
    async with running(create_intake(intake_settings)) as intake, \
            running(create_capacity(capacity_settings)) as capacity:
        assert (await capacity.put("/v1/policy", json=POLICY)).status_code == 200
        first, second = [(await intake.post("/v1/requests", json=request_body(title=f"Account page {n}"),
                                            headers=AUTH)).json()["id"] for n in (1, 2)]
        yield intake, intake_settings.kafka_bootstrap, Topics(intake_settings.topic_prefix), first, second


async def test_the_timeline_carries_each_events_data(settings_for: Callable[..., Any]) -> None:
    async with two_account_pages(settings_for) as (intake, bootstrap, topics, first, second):
        # Sales may use 4 points a cycle: the first M (3 points) is committed, the second waits.
        await publish(bootstrap, topics, classified(first, size="M"))
        committed = await _status(intake, first, "committed")
        await publish(bootstrap, topics, classified(second, size="M"))
        waiting = await _status(intake, second, "backlogged")
        scheduled = next(e for e in committed["timeline"] if e["type"] == "request.scheduled")
        assert scheduled["data"]["cycle"] and scheduled["data"]["points"] == 3
        backlogged = next(e for e in waiting["timeline"] if e["type"] == "request.backlogged")
        assert backlogged["data"]["position"] == 1
        assert backlogged["data"]["expected_start"] > scheduled["data"]["cycle_start"]
        classification = next(e for e in waiting["timeline"] if e["type"] == "request.classified")
        assert classification["data"]["lane"] == "sales" and "objective_id" in classification["data"]
        submitted = waiting["timeline"][0]
        assert submitted["data"]["request"]["title"] == "Account page 2"


async def test_a_forecast_slip_is_on_the_timeline_with_its_new_range_and_changes_no_status(
        settings_for: Callable[..., Any]) -> None:
    async with two_account_pages(settings_for) as (intake, bootstrap, topics, first, second):
        await publish(bootstrap, topics, classified(first, size="M"),
                      classified(second, size="M", submitted_at=datetime.now(UTC) + timedelta(seconds=1)))
        waiting = await _status(intake, second, "backlogged")
        told = next(e for e in waiting["timeline"] if e["type"] == "request.backlogged")["data"]
        later = date.fromisoformat(told["expected_start"]) + timedelta(weeks=3)
        slip = ForecastSlipped(request_id=second, title=told["title"], requester=Requester(**told["requester"]),
                               lane="sales", previous_p85=date.fromisoformat(told["expected_start"]),
                               start_forecast=StartForecast(likely=later, p85=later, p95=later + timedelta(weeks=1),
                                                            method="monte_carlo", history_items=30))
        await publish(bootstrap, topics, event(slip))

        async def slipped() -> dict[str, Any] | None:
            found: dict[str, Any] = (await intake.get(f"/v1/requests/{second}")).json()
            return found if any(e["type"] == "request.forecast_slipped" for e in found["timeline"]) else None

        found = await eventually(slipped)
        entry = next(e for e in found["timeline"] if e["type"] == "request.forecast_slipped")
        assert entry["data"]["start_forecast"]["p85"] == later.isoformat() and later.isoformat() in entry["summary"]
        assert found["status"] == "backlogged"


async def test_a_requester_tool_reads_no_other_persons_contact_details(settings_for: Callable[..., Any]) -> None:
    settings = settings_for(IntakeSettings)
    topics = Topics(settings.topic_prefix)
    async with running(create_intake(settings)) as intake:
        mine = (await intake.post("/v1/requests", json=request_body(), headers=auth(CRM_KEY))).json()["id"]
        other = Requester(id="u-9", name="Una Other", email="una@example.com", team="Product", type="business_unit")
        dave = Requester.model_validate(request_body()["requester"])
        listed = [CommittedItem(request_id=mine, title="Mine", lane="sales", points=5, requester=dave),
                  CommittedItem(request_id="theirs", title="Theirs", lane="business_unit", points=8,
                                requester=other)]
        collision = ConflictDetected(request_id=mine, conflict_id="c-1", cycle="2026-W50", requests=listed,
                                     stakeholders=[dave, other], observation="Both need large work.")
        await publish(settings.kafka_bootstrap, topics,
                      event(collision, event_id=derived_id(mine, "conflict")))

        async def seen(key: str) -> dict[str, Any] | None:
            found: dict[str, Any] = (await intake.get(f"/v1/requests/{mine}", headers=auth(key))).json()
            return found if any(e["type"] == "request.conflict_detected" for e in found["timeline"]) else None

        as_ops = await eventually(lambda: seen(AUTH["Authorization"].removeprefix("Bearer ")))
        as_tool = await eventually(lambda: seen(CRM_KEY))
        assert "una@example.com" in str(as_ops["timeline"])
        assert "una@example.com" not in str(as_tool) and "Una Other" not in str(as_tool)
        entry = next(e for e in as_tool["timeline"] if e["type"] == "request.conflict_detected")
        # Another tool's ask is counted, never shown: not its title, id, team or requester.
        assert [r["request_id"] for r in entry["data"]["requests"]] == [mine]
        assert entry["data"]["hidden_requests"] == 1
        assert not [word for word in ("Theirs", "theirs", "Product") if word in str(entry)]
        assert entry["data"]["stakeholders"] == [{"team": "Enterprise Sales", "type": "sales"}]


async def test_expedite_without_a_justification_is_refused_and_nothing_is_stored(
        settings_for: Callable[..., Any]) -> None:
    settings = settings_for(IntakeSettings)
    topics = Topics(settings.topic_prefix)
    async with running(create_intake(settings)) as intake, \
            EventTap(settings.kafka_bootstrap, topics.requests) as tap:
        for body in (request_body(expedite=True), request_body(expedite=True, justification="  ")):
            answer = await intake.post("/v1/requests", json=body, headers=AUTH)
            assert answer.status_code == 422
            assert answer.headers["content-type"] == "application/problem+json"
            assert ["body", "justification"] in [e["location"] for e in answer.json()["errors"]]
        justified = await intake.post("/v1/requests", headers=AUTH, json=request_body(
            expedite=True, justification="The board meets on Friday."))
        assert justified.status_code == 202
        await tap.wait_for(lambda es: any(e.subject == justified.json()["id"] for e in es))
        assert [e.subject for e in tap.events] == [justified.json()["id"]]
        assert [r["id"] for r in (await intake.get("/v1/requests")).json()["items"]] == [justified.json()["id"]]


async def test_a_key_reused_after_its_answer_expired_never_changes_the_request(
        settings_for: Callable[..., Any]) -> None:
    settings = settings_for(IntakeSettings)
    topics = Topics(settings.topic_prefix)
    headers = {**AUTH, "Idempotency-Key": "crm-reuse"}
    async with running(create_intake(settings)) as intake, \
            EventTap(settings.kafka_bootstrap, topics.requests) as tap:
        first = await intake.post("/v1/requests", json=request_body(), headers=headers)
        request_id = first.json()["id"]
        redis = Redis.from_url(settings.redis_url)
        await redis.delete(*[key async for key in redis.scan_iter(match="intake:idempotency:*")])  # the TTL passed
        await redis.aclose()
        other = await intake.post("/v1/requests", json=request_body(title="A different page"), headers=headers)
        assert other.status_code == 422
        assert other.json()["request_id"] == request_id
        same = await intake.post("/v1/requests", json=request_body(), headers=headers)
        assert same.status_code == 202 and same.headers["Idempotent-Replayed"] == "true"
        assert same.json() == first.json()
        found = (await intake.get(f"/v1/requests/{request_id}")).json()
        assert found["request"]["title"] == request_body()["title"]
        marker = await intake.post("/v1/requests", json=request_body(title="Marker request"), headers=AUTH)
        await tap.wait_for(lambda es: any(e.subject == marker.json()["id"] for e in es))
        assert len([e for e in tap.events if e.subject == request_id]) == 1

"""Requesters hear a range, and the team hears of work past its SLE: capacity and the notifier together on the
real broker and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from capacity.app import create_app as create_capacity
from capacity.config import CapacitySettings
from notifier.app import create_app as create_notifier
from notifier.config import NotifierSettings
from shared.topics import Topics
from tests.builders import POLICY
from tests.integration.test_capacity import Board
from tests.integration.test_flow import import_past, past, sales
from tests.support import AUTH, EventTap, eventually, running

pytestmark = pytest.mark.integration


@pytest.fixture
async def pair(settings_for: Callable[..., Any]) -> AsyncIterator[tuple[Board, httpx.AsyncClient]]:
    capacity_settings = settings_for(CapacitySettings, flow_check_s=1.0, flow_trials=2_000)
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(running(create_capacity(capacity_settings)))
        notifier = await stack.enter_async_context(running(create_notifier(settings_for(NotifierSettings))))
        tap = await stack.enter_async_context(EventTap(capacity_settings.kafka_bootstrap,
                                                       Topics(capacity_settings.topic_prefix).decisions))
        assert (await client.put("/v1/policy", json=POLICY, headers=AUTH)).status_code == 200
        yield Board(capacity_settings, client, tap), notifier


async def told(notifier: httpx.AsyncClient, request_id: str, about: str, count: int = 1) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await notifier.get("/v1/notifications", params={"request_id": request_id},
                                                          headers=AUTH)).json()["items"]
        mine = [i for i in items if i["about_event_type"] == about]
        return mine if len(mine) >= count else []

    mine: list[dict[str, Any]] = await eventually(found, timeout=30)
    return mine


async def test_the_backlog_notice_names_the_85_percent_date_and_work_past_its_sle_reaches_ops(
        pair: tuple[Board, httpx.AsyncClient]) -> None:
    board, notifier = pair
    await import_past(board, past("sales", 12, days_ago=3, every=1, cycle_time=0.00005))  # an SLE of seconds
    await board.send_in_turn(sales("now", 0), sales("later", 1))
    [notice] = await told(notifier, "later", "request.backlogged")
    assert "85% likely by" in notice["text"]
    assert (await board.client.post("/v1/work/now/start", headers=AUTH)).status_code == 200
    notices = await told(notifier, "now", "request.sle_at_risk", count=2)
    assert {n["audience"] for n in notices} == {"requester", "ops"}
    assert any("past the lane's service level expectation" in n["text"] for n in notices)

"""The shares report's past cycles say what each cycle held, under the policy then in force (story 7), on a real
Redis: work spanning cycles, finished later, or re-planned after a policy change does not rewrite a cycle that
has ended, and each cycle's record is a decision a rebuild folds again. What the service publishes is recorded
(``Sent``), as in ``test_capacity_runs``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from capacity.domain import Ledger, policy_to
from capacity.events import fold, read
from capacity.planning import Plan
from capacity.service import CapacityService
from capacity.shares import shares_report
from capacity.store import LedgerStore
from shared.events import EventData, PolicyUpdated, RequestDone
from shared.infra import connect_redis
from shared.outbox import Outcomes
from tests.builders import about_card, classified, withdrawn
from tests.integration.test_capacity_runs import Sent
from tests.support import event

pytestmark = pytest.mark.integration

W48, W49, W50 = date(2026, 11, 23), date(2026, 11, 30), date(2026, 12, 7)


def rows(ledger: Ledger, plan: Plan) -> dict[str, dict[str, Any]]:
    report = shares_report(ledger, W48, W50, {}, plan=plan)
    return {row["cycle"]: row for row in report["cycles"]}


def lane_points(row: dict[str, Any]) -> dict[str, int]:
    return {lane: found["points"] for lane, found in row["lanes"].items()}


async def test_a_cycle_that_ended_keeps_what_it_held_and_its_policy_after_work_moves_on_and_a_rebuild(
        redis_url: str) -> None:
    redis = connect_redis(redis_url)
    today = [W48]
    sent = Sent()
    service = CapacityService(LedgerStore(redis), Outcomes(redis, "capacity"), sent, source="/test",
                              heat_shield="shield@example.com", today=lambda: today[0])
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    # Business-unit work of 8 points (4 a cycle under its 20% cap) and customer work of 10.
    await service.apply_run([classified("microsite", lane="business_unit", effort=8, submitted_at=at),
                             classified("webinar", lane="customer", effort=10, submitted_at=at)])
    ledger, plan = await service.current()
    week48 = rows(ledger, plan)["2026-W48"]
    assert lane_points(week48) == {"business_unit": 4, "customer": 10}
    assert week48["lanes"]["business_unit"]["share"] == 0.2 and week48["customer_reserve"] == 0.5

    # A week on: the webinar was finished in week 48; the microsite runs on; ops doubles the capacity.
    def finish(_: Ledger, __: Plan) -> list[EventData]:
        return [about_card(RequestDone, "webinar", lane="customer", by="team")]

    await service.apply(finish)
    today[0] = W49
    await service.new_cycle()

    def double(ledger: Ledger, _: Plan) -> list[EventData]:
        doubled = replace(ledger.policy, version=ledger.policy.version + 1, capacity_points=40,
                          customer_reserve=0.3)
        return [PolicyUpdated(version=doubled.version, policy=policy_to(doubled), updated_by="ops")]

    await service.apply(double)

    def microsite_done(_: Ledger, __: Plan) -> list[EventData]:
        return [about_card(RequestDone, "microsite", lane="business_unit", by="team")]

    await service.apply(microsite_done)
    ledger, plan = await service.current()
    found = rows(ledger, plan)
    # Week 48 as it was: its own capacity and reserve, the microsite's 4 points, the webinar's 10.
    assert lane_points(found["2026-W48"]) == {"business_unit": 4, "customer": 10}
    assert (found["2026-W48"]["capacity_points"], found["2026-W48"]["customer_reserve"]) == (20, 0.5)
    assert found["2026-W48"]["lanes"]["business_unit"]["share"] == 0.2
    # Week 49 under the new policy: the microsite held the rest of its points (4 of 8; its cap now allows 8)
    # before it was done.
    assert lane_points(found["2026-W49"]) == {"business_unit": 4}
    assert (found["2026-W49"]["capacity_points"], found["2026-W49"]["customer_reserve"]) == (40, 0.3)
    records = [e.data["cycle_start"] for e in sent.events if e.type == "capacity.cycle_held"]
    assert records == sorted(records) and set(records) == {W48.isoformat(), W49.isoformat()}

    # A rebuild folds the published decisions again: the closed week comes back from the log alone.
    rebuilt = Ledger()
    for published in sent.events:
        data = read(published)
        if data is not None:
            fold(rebuilt, data)
    assert rows(rebuilt, plan)["2026-W48"] == found["2026-W48"]
    await redis.aclose()


async def test_a_withdrawn_request_gives_its_points_back_to_the_cycle_it_held_them_in(redis_url: str) -> None:
    redis = connect_redis(redis_url)
    service = CapacityService(LedgerStore(redis), Outcomes(redis, "capacity"), Sent(), source="/test",
                              heat_shield="shield@example.com", today=lambda: W48)
    at = datetime(2026, 11, 23, 9, tzinfo=UTC)
    await service.apply_run([classified("page", lane="sales", effort=4, submitted_at=at),
                             classified("later", lane="sales", effort=4, submitted_at=at + timedelta(minutes=1))])
    ledger, plan = await service.current()
    assert lane_points(rows(ledger, plan)["2026-W48"]) == {"sales": 4}
    await service.apply_run([event(withdrawn("page"))])
    ledger, plan = await service.current()
    row = rows(ledger, plan)["2026-W48"]
    assert lane_points(row) == {"sales": 4}  # the next page took the points the withdrawn one gave back
    assert "page" not in {h.request_id for h in ledger.cycles[W48].held}
    await redis.aclose()

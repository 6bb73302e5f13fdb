"""A run of board changes planned once (``CapacityService.apply_run``), on a real Redis: it lands where
handling them one at a time would, announces each new request once, and a redelivered run (or a run that
mixes old and new events) decides only what is new. What the service publishes is recorded (``Sent``), not
put on a broker: these tests are about its planning and its outcomes in Redis; on real Kafka, every request of
a steady stream decided and told exactly once is ``tests/e2e/test_pipeline_volume.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from capacity.domain import Ledger
from capacity.events import fold
from capacity.planning import Plan
from capacity.service import CapacityService
from capacity.store import LedgerStore
from shared.envelope import CloudEvent, envelope
from shared.events import EventData, RequestClassified, RequestWithdrawn
from shared.infra import connect_redis
from shared.outbox import Outcomes
from tests.builders import classified

pytestmark = pytest.mark.integration

FIRST_DECISIONS = ("request.scheduled", "request.backlogged")
T0 = datetime.now(UTC) - timedelta(hours=2)


class Sent:
    def __init__(self) -> None:
        self.events: list[CloudEvent] = []

    async def publish_all(self, events: Sequence[CloudEvent], origins: object = None) -> None:
        self.events.extend(events)


def board(redis: Redis, sent: Sent) -> CapacityService:
    return CapacityService(LedgerStore(redis), Outcomes(redis, "capacity"), sent,
                           source="/test", heat_shield="shield@example.com")


def arrivals(count: int, prefix: str = "r") -> list[CloudEvent]:
    """Unaligned requests across lanes and sizes, in the order they were submitted (and so planned)."""
    lanes, sizes = ["sales", "business_unit", "customer", "executive"], ["S", "M", "L"]
    return [classified(f"{prefix}-{i}", lane=lanes[i % 4], size=sizes[i % 3], submitted_at=T0 + timedelta(minutes=i))
            for i in range(count)]


def slots(plan: Plan) -> dict[str, tuple[object, ...]]:
    return {rid: (slot.start, slot.committed, slot.position) for rid, slot in plan.slots.items()}


async def one_at_a_time(service: CapacityService, events: Sequence[CloudEvent]) -> None:
    for event in events:
        def change(ledger: Ledger, _: Plan, event: CloudEvent = event) -> list[EventData]:
            fold(ledger, RequestClassified.model_validate(event.data))
            return []

        await service.apply(change, cause_id=event.id, new=event.subject)


async def test_a_run_lands_where_one_at_a_time_would_and_announces_each_arrival_once(redis_url: str) -> None:
    redis = connect_redis(redis_url)
    events = arrivals(24)
    single = board(redis, Sent())
    await one_at_a_time(single, events)
    _, expected = await single.current()
    await redis.flushdb()

    sent = Sent()
    together = board(redis, sent)
    produced = await together.apply_run(events)
    _, planned = await together.current()
    assert slots(planned) == slots(expected)
    firsts = sorted(e.subject for e in produced if e.type in FIRST_DECISIONS)
    assert firsts == sorted(e.subject for e in events)
    assert [e.id for e in sent.events] == [e.id for e in produced]
    await redis.aclose()


async def test_a_redelivered_run_decides_nothing_again_and_a_mixed_run_only_what_is_new(redis_url: str) -> None:
    redis = connect_redis(redis_url)
    sent = Sent()
    service = board(redis, sent)
    events = arrivals(6)
    await service.apply_run(events)
    before = len(sent.events)
    assert await service.apply_run(events) == []
    assert await service.apply_run(list(reversed(events[2:]))) == []
    assert len(sent.events) == before  # published once: the outcome left the outbox the first time

    late = arrivals(1, prefix="late")
    produced = await service.apply_run([events[0], *late, events[3]])
    assert {e.subject for e in produced if e.type in FIRST_DECISIONS} == {"late-0"}
    assert await Outcomes(redis, "capacity").seen([e.id for e in [*events, *late]]) == {e.id for e in [*events, *late]}
    ledger, _ = await service.current()
    assert sorted(ledger.cards) == sorted(e.subject for e in [*events, *late])
    await redis.aclose()


async def test_withdrawals_in_a_run_take_effect_in_their_order(redis_url: str) -> None:
    redis = connect_redis(redis_url)
    service = board(redis, Sent())
    events = arrivals(4)
    gone = envelope(RequestWithdrawn(request_id="r-1", withdrawn_by="u-1", reason="no longer needed"), source="/t")
    produced = await service.apply_run([*events[:2], gone, *events[2:]])
    ledger, planned = await service.current()
    assert "r-1" not in planned.slots
    assert "r-1" not in ledger.live_ids()
    assert not [e for e in produced if e.subject == "r-1" and e.type in FIRST_DECISIONS]
    assert set(planned.slots) == {"r-0", "r-2", "r-3"}
    await redis.aclose()

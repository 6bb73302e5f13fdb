"""A capacity decision through the service: load the ledger from Redis, plan, decide, save.

    python bench/bench_capacity_service.py [--open 1000] [--decisions 200] [--redis redis://127.0.0.1:6379/9]

Uses a real Redis (``make up`` starts one; database 9 is emptied first) and a
publisher that only counts, so the figures are capacity's own work. Prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from capacity.domain import Ledger
from capacity.events import fold
from capacity.planning import Plan
from capacity.service import CapacityService
from capacity.store import LedgerStore
from shared.envelope import CloudEvent, envelope
from shared.events import EventData, RequestClassified, RequestDetails
from shared.infra import connect_redis
from shared.outbox import Outcomes

LANES = ["customer", "sales", "business_unit", "executive", "legal"]


class CountingPublisher:
    def __init__(self) -> None:
        self.sent = 0

    async def publish_all(self, events: Sequence[CloudEvent], origins: object = None) -> None:
        self.sent += len(events)


def classified_data(i: int, submitted: datetime) -> RequestClassified:
    """Request ``i``: lanes, sizes and teams in turn, a quarter of them aligned with O1."""
    lane = LANES[i % 5]
    request = RequestDetails.model_validate({
        "title": f"Request {i}", "description": "bench", "work_type": "other", "size": ["S", "M", "L"][i % 3],
        "requester": {"id": f"u{i}", "name": "N", "email": "n@example.com", "team": f"t{i % 7}", "type": lane}})
    return RequestClassified(request_id=f"r-{i}", request=request, submitted_at=submitted, lane=lane, colour="grey",
                             objective_id="O1" if i % 4 == 0 else None,
                             objective_rank=1 if i % 4 == 0 else None, rationale="bench")


def classified(i: int, start: datetime) -> CloudEvent:
    return envelope(classified_data(i, start + timedelta(seconds=i)), source="/bench")


async def main(open_items: int, decisions: int, url: str) -> None:
    redis = connect_redis(url)
    await redis.flushdb()
    store = LedgerStore(redis)
    publisher = CountingPublisher()
    service = CapacityService(store, Outcomes(redis, "capacity"), publisher,
                              source="/bench", heat_shield="hs@example.com")
    start = datetime.now(UTC) - timedelta(days=1)

    async def decide(event: CloudEvent) -> None:
        def change(ledger: Ledger, _: Plan) -> list[EventData]:
            fold(ledger, RequestClassified.model_validate(event.data))
            return []

        await service.apply(change, cause_id=event.id, new=event.subject)

    for i in range(open_items):
        await decide(classified(i, start))
    timings = []
    for i in range(open_items, open_items + decisions):
        began = time.perf_counter()
        await decide(classified(i, start))
        timings.append(time.perf_counter() - began)
    timings.sort()
    print(f"capacity decision via the service (Redis ledger, {open_items} to {open_items + decisions} open items): "
          f"p50 {timings[len(timings) // 2] * 1000:.1f} ms, p99 {timings[int(len(timings) * 0.99)] * 1000:.1f} ms")
    await redis.flushdb()
    await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    asyncio.run(main(args.open, args.decisions, args.redis))

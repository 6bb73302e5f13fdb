"""Capacity's cost per event against the size of its history: 100 requests against 10,000.

    python bench/bench_capacity_history.py [--sizes 100,10000] [--open 50] [--events 200]

For each size it starts from an empty Redis of its own (``scripts/redis.sh``, in a temporary
directory), writes a history of that many requests (``--open`` of them still open, the rest
committed, started and done in past cycles, with one decided trade-off and one alert per 50
requests), then times ``--events`` new requests decided through the service (load the ledger if
another instance saved, plan, decide, save, record the outcome), as the consumer does. A publisher
that only counts stands in for Kafka, so the figures are capacity's own work. Prints p50/p99 per
event for each size and their ratio; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.bench_capacity_service import CountingPublisher
from bench.bench_capacity_service import classified_data as classified
from capacity.domain import Ledger
from capacity.events import fold
from capacity.planning import Plan
from capacity.service import CapacityService
from capacity.store import LedgerStore
from shared.envelope import CloudEvent, envelope
from shared.events import (
    CapacityAlert,
    EventData,
    RequestClassified,
    RequestDone,
    RequestScheduled,
    RequestStarted,
    TradeoffDecided,
    TradeoffRequired,
)
from shared.infra import connect_redis
from shared.outbox import Outcomes
from tests.infra import NativeRedis


def history(size: int, open_items: int, now: datetime) -> Ledger:
    """``size`` requests: the last ``open_items`` still open, the others done two years to a week ago."""
    ledger = Ledger()
    closed = size - open_items
    for i in range(size):
        submitted = now - timedelta(days=730 * (size - i) / size + 7)
        data = classified(i, submitted)
        fold(ledger, data)
        if i >= closed:
            continue
        request_id, requester = data.request_id, data.request.requester
        on_card = {"request_id": request_id, "title": data.request.title, "requester": requester, "lane": data.lane}
        cycle = date.fromordinal(submitted.date().toordinal() - submitted.weekday() + 7)
        moves: list[EventData] = [
            RequestScheduled(**on_card, cycle=cycle.isoformat(), cycle_start=cycle, points=3),
            RequestStarted(**on_card, by="bench"), RequestDone(**on_card, by="bench")]
        if i % 50 == 0:
            moves += [
                TradeoffRequired(**on_card, tradeoff_id=f"t-{i}", cycle=cycle.isoformat(), committed=[],
                                 addressed_to=["hs@example.com"], question="bench"),
                TradeoffDecided(request_id=request_id, tradeoff_id=f"t-{i}", decision="defer", decided_by="hs",
                                policy_version=1),
                CapacityAlert(alert_id=f"a-{i}", cycle=cycle.isoformat(), kind="share", observation="bench",
                              shares={})]
        for move in moves:
            fold(ledger, move)
    return ledger


async def measure(url: str, size: int, open_items: int, events: int) -> list[float]:
    redis = connect_redis(url)
    await redis.flushdb()
    store = LedgerStore(redis)
    now = datetime.now(UTC)
    async with redis.pipeline(transaction=False) as pipe:
        store.save(pipe, history(size, open_items, now))
        await pipe.execute()
    service = CapacityService(store, Outcomes(redis, "capacity"), CountingPublisher(),
                              source="/bench", heat_shield="hs@example.com")

    async def decide(event: CloudEvent) -> None:
        def change(ledger: Ledger, _: Plan) -> list[EventData]:
            fold(ledger, RequestClassified.model_validate(event.data))
            return []

        await service.apply(change, cause_id=event.id, new=event.subject)

    gc.collect()
    timings = []
    for i in range(size, size + events):
        event = envelope(classified(i, now - timedelta(hours=1)), source="/bench")
        began = time.perf_counter()
        await decide(event)
        timings.append(time.perf_counter() - began)
    await redis.flushdb()
    await redis.aclose()
    return sorted(timings)


def pct(timings: list[float], q: float) -> float:
    return timings[min(len(timings) - 1, int(q * len(timings)))] * 1000


async def main(sizes: list[int], open_items: int, events: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-capacity-history-") as workdir:
        server = NativeRedis(Path(workdir) / "redis")
        server.start()
        try:
            figures = {}
            for size in sizes:
                timings = await measure(server.base, size, min(open_items, size), events)
                figures[size] = pct(timings, 0.5)
                print(f"capacity, {size:>6} requests in history ({min(open_items, size)} open): "
                      f"p50 {pct(timings, 0.5):.1f} ms, p99 {pct(timings, 0.99):.1f} ms per event")
            smallest, largest = min(sizes), max(sizes)
            print(f"capacity per-event cost, {largest} against {smallest} requests of history: "
                  f"{figures[largest] / figures[smallest]:.2f}x (p50)")
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--open", type=int, default=50)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.sizes.split(",")], args.open, args.events))

"""Flow metrics and forecasts: how fast, and how well calibrated.

    python bench/bench_flow.py [--seed S] [--redis redis://127.0.0.1:6379/9]

Prints: the cost of folding one event into the flow history with 1,000 and with 50,000 events behind
it (it should not grow); the flow endpoint's work (numpy columns, figures per lane, work in progress by
age, a 90-day cumulative flow diagram, as JSON) over two years of history, 50,000 events, first after
a change and then again, and as another instance reads it from Redis (``make up`` starts one; database
9 is emptied): when it starts, and after a decision saved elsewhere; forecasting every item of a
1,000-item backlog at 10,000 trials per lane, with no simulation cached (the cost after a start or
finish in every lane) and cached (after any other change); and the back-test's 85% share on the
synthetic team of known throughput (60 quarters), which a calibrated forecaster keeps at 85% ± 3
points. Figures only: no assertion on time, since machines differ.
"""

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from capacity.domain import Card, Ledger
from capacity.flow.calibration import calibration
from capacity.flow.frame import frame_of
from capacity.flow.history import History, day_of
from capacity.flow.metrics import Window, ages, cfd, flow, sle_days
from capacity.flow.outlook import Settings, outlook
from capacity.flow.service import FlowService, FlowSettings
from capacity.flow.store import FlowStore
from capacity.flow.views import flow_view
from capacity.planning import Item, Policy, plan
from shared.infra import connect_redis
from tests.flow_team import team_history

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
LANES = ("customer", "customer", "sales", "business_unit", "executive", "legal")
EVENTS = ("request.backlogged", "request.scheduled", "request.started", "request.done")


def two_years(events: int, rng: random.Random) -> History:
    """Requests arriving evenly over two years, each backlogged, committed, started and finished (four
    events, or five with a pause), until ``events`` were folded."""
    history, folded, n = History(), 0, 0
    first = NOW - timedelta(days=730)
    while folded < events:
        at = first + timedelta(days=730 * folded / events)
        request_id, lane = f"r{n:06d}", rng.choice(LANES)
        moments = [at, at + timedelta(days=rng.uniform(0, 10))]
        moments.append(moments[-1] + timedelta(days=rng.uniform(0, 7)))
        moments.append(moments[-1] + timedelta(days=rng.expovariate(1 / 6)))
        for event_type, moment in zip(EVENTS, moments, strict=True):
            if moment < NOW:
                history.record(event_type, request_id, moment, lane=lane, points=3, submitted_at=at)
                folded += 1
        n += 1
    return history


def fold_cost_us(history: History, rng: random.Random, runs: int = 2_000) -> float:
    times = []
    for i in range(runs):
        request_id = f"bench-{rng.random()}-{i}"
        started = time.perf_counter()
        history.record("request.started", request_id, NOW, lane="sales", points=3, submitted_at=NOW)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def flow_ms(history: History) -> tuple[float, float]:
    def once() -> float:
        started = time.perf_counter()
        frame = frame_of(history.passages.values())
        now = day_of(NOW)
        window, sle = Window(now, 182, 7), sle_days(history, now, 182)
        body = {**flow(frame, window, sle), "work_in_progress": ages(frame, window, sle),
                "cfd": cfd(frame, now - 89, now)}
        json.dumps(body)
        return (time.perf_counter() - started) * 1000

    return once(), statistics.median(once() for _ in range(5))


async def from_redis_ms(history: History, url: str) -> tuple[float, float, float]:
    """The endpoint's view as another instance builds it from Redis: when it starts (the whole history
    read), after one more decision was saved elsewhere (it reads what changed), and again from its copy."""
    redis = connect_redis(url)
    try:
        await redis.flushdb()
        writer, reader = FlowStore(redis), FlowStore(redis)
        flow_service = FlowService(reader, FlowSettings(), now=lambda: NOW)
        ledger = Ledger(policy=Policy())

        async def save() -> None:
            async with redis.pipeline(transaction=True) as pipe:
                writer.save(pipe, history)
                await pipe.execute()

        async def view() -> float:
            started = time.perf_counter()
            found, frame = await reader.frame()
            json.dumps(flow_view(flow_service, found, frame, ledger, lane=None, days=90, only=None))
            return (time.perf_counter() - started) * 1000

        history.dirty.update(history.passages)
        await save()
        cold = await view()
        history.record("request.started", "bench-one-more", NOW, lane="sales", points=3, submitted_at=NOW)
        await save()
        after, again = await view(), await view()
        await redis.flushdb()
        return cold, after, again
    finally:
        await redis.aclose()


def backlog_board(count: int, rng: random.Random) -> Ledger:
    ledger = Ledger(policy=Policy())
    for n in range(count):
        lane = rng.choice(LANES)
        item = Item(request_id=f"b{n:05d}", lane=lane, team=lane, objective_id=None, objective_rank=None,
                    score=0.0, points=rng.choice((1, 2, 3, 5)), submitted_at=NOW - timedelta(minutes=n))
        ledger.put(Card(item, f"B{n}", {"id": "u", "name": "Pat", "email": "p@example.com", "team": lane,
                                         "type": lane}, "orange"))
    return ledger


def forecast_ms(history: History, count: int, rng: random.Random) -> tuple[float, float, int]:
    """Median of three: every lane simulated afresh, then with the simulations kept."""
    ledger = backlog_board(count, rng)
    planned = plan(ledger.items(), ledger.policy, date(2026, 11, 26))
    cold, warm, simulated = [], [], 0
    for _ in range(3):
        cache: dict[tuple[object, ...], object] = {}
        started = time.perf_counter()
        found = outlook(history, ledger, planned, day_of(NOW), Settings(trials=10_000), cache)  # type: ignore[arg-type]
        cold.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        outlook(history, ledger, planned, day_of(NOW), Settings(trials=10_000), cache)  # type: ignore[arg-type]
        warm.append((time.perf_counter() - started) * 1000)
        simulated = sum(f.method == "monte_carlo" for f in found.values())
    return statistics.median(cold), statistics.median(warm), simulated


def calibrated() -> tuple[float, int, float, float]:
    hits = judged = 0
    brier = 0.0
    started = time.perf_counter()
    for seed in (11, 12, 13):
        history, end = team_history(cycles=13 * 20, seed=seed)
        result = calibration(frame_of(history.passages.values()), history, now=end, cycle_days=7,
                             history_cycles=26, cycles=13 * 20 - 14, trials=2_000)
        [sales] = [row for row in result["lanes"] if row["lane"] == "sales"]
        hits += round(sales["started_by"]["p85"] * sales["judged"])
        judged += sales["judged"]
        brier += sales["brier"] * sales["judged"]
    return hits / judged, judged, brier / judged, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    small, history = two_years(1_000, rng), two_years(50_000, rng)
    print(f"flow history: one event folded in {fold_cost_us(small, rng):.1f} µs with 1,000 events behind it, "
          f"{fold_cost_us(history, rng):.1f} µs with 50,000 ({len(history.passages):,} requests)")
    history = two_years(50_000, random.Random(args.seed))
    first, again = flow_ms(history)
    print(f"flow over two years (50,000 events): {first:.1f} ms after a change, {again:.1f} ms again")
    cold, after, warm = asyncio.run(from_redis_ms(history, args.redis))
    print(f"flow over two years read from Redis by another instance: {cold:.1f} ms when it starts, {after:.1f} ms "
          f"after a decision saved elsewhere, {warm:.1f} ms again")
    cold, warm, simulated = forecast_ms(history, 1_000, rng)
    print(f"forecast of a 1,000-item backlog (10,000 trials a lane, {simulated} items by Monte Carlo): "
          f"{cold:.1f} ms simulating every lane, {warm:.1f} ms with the lanes' simulations cached")
    share, judged, brier, seconds = calibrated()
    print(f"calibration on the synthetic team (60 quarters, {judged:,} forecasts judged): 85% dates came true "
          f"{share:.1%} of the time (target 85% ± 3), Brier {brier:.3f} (0.142 if perfectly calibrated), "
          f"{seconds:.1f} s")


if __name__ == "__main__":
    main()

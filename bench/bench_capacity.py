"""How fast the capacity planner decides, on synthetic backlogs.

    python bench/bench_capacity.py [--runs N] [--seed S] [--gc-off]

For two teams (the default 20 points a week, where most of a 1,000-item backlog lies beyond the
horizon, and 200 points a week, where all of it is placed, the costly case) it prints p50/p99 of
one decision on a new request against 1,000 open items: a full ``plan``, ``place_new`` when the
request sorts last (an unaligned one, the usual case) and when it sorts first (it then replans in
full). Then the time to replan 10,000 open items. Figures only: no assertion on time, since
machines differ.
"""

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial

from capacity.planning import CUSTOMER, INTERNAL_LANES, Item, Policy, place_new, plan

TODAY = date(2026, 11, 26)
LANES = (CUSTOMER, CUSTOMER, *INTERNAL_LANES)  # a third of the requests are the team's own customer work
SIZES = (1, 2, 3, 3, 5, 8)


def backlog(count: int, rng: random.Random) -> list[Item]:
    """Open work submitted over the last three weeks (none aged yet), half of it aligned, four items committed."""
    start = datetime(2026, 11, 2, tzinfo=UTC)
    items = []
    for n in range(count):
        aligned = rng.random() < 0.5
        items.append(Item(
            request_id=f"r{n:05d}", lane=rng.choice(LANES), team=f"team-{rng.randrange(12)}",
            objective_id=f"O{rng.randint(1, 5)}" if aligned else None,
            objective_rank=rng.randint(1, 5) if aligned else None, score=rng.random() if aligned else 0.0,
            points=rng.choice(SIZES), submitted_at=start + timedelta(minutes=rng.randrange(3 * 7 * 24 * 60)),
            due_date=TODAY + timedelta(days=rng.randrange(120)) if rng.random() < 0.3 else None,
            state="committed" if n < 4 else "open"))
    return items


def newcomer(rng: random.Random, *, aligned: bool) -> Item:
    """A request submitted just now: unaligned it sorts last; aligned with objective 1 it sorts near the top."""
    return Item(request_id=f"new-{rng.randrange(10**9)}", lane=rng.choice(LANES), team="team-new",
                objective_id="O1" if aligned else None, objective_rank=1 if aligned else None,
                score=0.9 if aligned else 0.0, points=rng.choice(SIZES),
                submitted_at=datetime(2026, 11, 26, 9, tzinfo=UTC))


def team(points: int) -> Policy:
    """The default shares of a team of ``points`` a week, WIP limits scaled with it."""
    scale = max(1, points // 20)
    return Policy(capacity_points=points, wip_total=5 * scale,
                  wip_limits={lane: limit * scale for lane, limit in Policy().wip_limits.items()})


def timed(runs: int, decide: Callable[[], object]) -> str:
    decide()  # warm up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        decide()
        samples.append(time.perf_counter() - started)
    if runs < 100:
        return f"median {statistics.median(samples) * 1e3:.1f} ms, max {max(samples) * 1e3:.1f} ms"
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1e3:.3f} ms, p99 {cuts[98] * 1e3:.3f} ms, max {max(samples) * 1e3:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gc-off", action="store_true", help="to see what garbage collection adds to the tail")
    args = parser.parse_args()
    if args.gc_off:
        gc.disable()
    rng = random.Random(args.seed)
    items = backlog(1_000, rng)
    last, first = newcomer(rng, aligned=False), newcomer(rng, aligned=True)
    for policy in (team(20), team(200)):
        current = plan(items, policy, TODAY)
        beyond = sum(1 for slot in current.slots.values() if not slot.points_by_cycle)
        print(f"{policy.capacity_points} points a week, 1,000 open items: {beyond} beyond the "
              f"{policy.horizon_cycles}-cycle horizon")
        print(f"  full plan of 1,000 + 1:         {timed(args.runs, partial(plan, [*items, last], policy, TODAY))}")
        print(f"  place_new, sorts last:          "
              f"{timed(args.runs, partial(place_new, current, items, last, policy, TODAY))}")
        print(f"  place_new, sorts first (full):  "
              f"{timed(args.runs, partial(place_new, current, items, first, policy, TODAY))}")

    many = backlog(10_000, rng)
    for policy in (team(20), team(2_000)):
        placed = sum(1 for slot in plan(many, policy, TODAY).slots.values() if slot.points_by_cycle)
        print(f"replan 10,000 open items, {policy.capacity_points} points a week ({placed:,} placed), 20 runs: "
              f"{timed(20, partial(plan, many, policy, TODAY))}")

if __name__ == "__main__":
    main()

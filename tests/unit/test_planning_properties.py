"""Properties of the capacity planner over random policies and backlogs (``capacity.planning``)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.planning import (
    Item,
    Plan,
    Policy,
    State,
    cycle_start,
    invariant_violations,
    lane_budgets,
    place_new,
    plan,
    priority,
)
from capacity.planning.signals import collisions, share_alerts

TODAY = date(2026, 11, 26)
LANES = ("customer", "sales", "business_unit", "executive", "legal")
FIRST, LAST = datetime(2026, 9, 1), datetime(2026, 11, 26)
SUBMITTED = st.datetimes(FIRST, LAST, timezones=st.sampled_from([UTC, timezone(timedelta(hours=-8))])) | st.datetimes(
    FIRST, LAST)  # naive ones too: the planner takes them as UTC

settings.register_profile("planning", max_examples=200, deadline=None, database=None)
settings.load_profile("planning")


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Any policy a team could publish, including the degenerate ones (nothing reserved, a lane without a cap)."""
    internal = LANES[1:]
    caps = draw(st.dictionaries(st.sampled_from(internal), st.floats(0, 0.7), max_size=4))
    return Policy(
        cycle_days=draw(st.sampled_from([7, 7, 14, 1])),
        capacity_points=draw(st.integers(0, 30)),
        customer_reserve=draw(st.sampled_from([0.0, 0.25, 0.5, 0.7, 1.0]) | st.floats(0, 1)),
        lane_caps=caps,
        wip_limits=draw(st.dictionaries(st.sampled_from(LANES), st.integers(0, 4), max_size=5)),
        wip_total=draw(st.integers(0, 8)),
        horizon_cycles=draw(st.integers(1, 8)),
        max_wait_cycles=draw(st.integers(0, 6)),
        large_points=draw(st.integers(1, 8)),
    )


ANY_STATE: tuple[State, ...] = ("open", "open", "paused", "committed", "in_progress", "done")
WAITING: tuple[State, ...] = ("open", "open", "paused")
T = TypeVar("T")


@st.composite
def items(draw: st.DrawFn, *, states: tuple[State, ...] = ANY_STATE, prefix: str = "r") -> Item:
    aligned = draw(st.booleans())
    return Item(
        request_id=f"{prefix}{draw(st.integers(0, 10**6))}",
        lane=draw(st.sampled_from(LANES)),
        team=draw(st.sampled_from(["sales-emea", "atlas-product", "brand", "exec-office"])),
        objective_id=draw(st.sampled_from(["O1", "O2", "O3"])) if aligned else None,
        objective_rank=draw(st.none() | st.integers(1, 3)) if aligned else None,
        score=draw(st.floats(0, 1)) if aligned else 0.0,
        points=draw(st.integers(0, 12)),
        submitted_at=draw(SUBMITTED),
        due_date=draw(st.none() | st.dates(date(2026, 11, 1), date(2027, 2, 1))),
        expedite=draw(st.booleans()),
        state=draw(st.sampled_from(states)),
        head_of_backlog=draw(st.booleans()),
    )


def backlogs(states: tuple[State, ...] = ANY_STATE) -> st.SearchStrategy[list[Item]]:
    return st.lists(items(states=states), max_size=25, unique_by=lambda item: item.request_id)


@given(policies(), backlogs())
def test_every_plan_keeps_the_rules(rules: Policy, work: list[Item]) -> None:
    result = plan(work, rules, TODAY)
    assert invariant_violations(work, result, rules) == []
    for found in collisions(work, result, rules):
        assert len(found.teams) >= 2 and found.points_available < found.points_needed


@given(policies(), backlogs())
def test_customer_work_waits_only_when_the_current_cycle_has_no_room_it_could_use(rules: Policy,
                                                                                  work: list[Item]) -> None:
    """Whenever customer work waits in the backlog (not paused), the reserve is fillable by it: the
    current cycle has less room left than its first share, or the horizon too little for all of it."""
    result = plan(work, rules, TODAY)
    days = [result.current_cycle + timedelta(days=n * rules.cycle_days) for n in range(max(1, rules.horizon_cycles))]
    room = [max(0, rules.capacity_points - sum(result.load.get(day, {}).values())) for day in days]
    reserve = rules.capacity_points - Restated(rules).allowance
    by_id = {item.request_id: item for item in work}
    for rid in result.backlog:
        item = by_id[rid]
        if item.lane == "customer" and item.state == "open":
            first_share = min(item.points, reserve if reserve > 0 else rules.capacity_points)
            could_use = 0 < first_share <= room[0] and item.points <= sum(room)
            assert not could_use, (rid, item.points, room)


@given(policies(), backlogs())
def test_wip_limits_never_hold_commitment_back(rules: Policy, work: list[Item]) -> None:
    unlimited = replace(rules, wip_total=10**6, wip_limits={})
    assert plan(work, rules, TODAY) == plan(work, unlimited, TODAY)


@given(policies(), backlogs())
def test_the_plan_is_the_rules_applied_one_request_at_a_time(rules: Policy, work: list[Item]) -> None:
    result = plan(work, rules, TODAY)
    assert {rid: slot.points_by_cycle for rid, slot in result.slots.items()} == Restated(rules).plan(work)


@given(policies(), backlogs(), st.randoms(use_true_random=False))
def test_the_plan_depends_on_the_requests_not_on_their_order(rules: Policy, work: list[Item],
                                                           rng: random.Random) -> None:
    first = plan(work, rules, TODAY)
    shuffled = rng.sample(work, len(work))
    assert plan(work, rules, TODAY) == first == plan(shuffled, rules, TODAY)
    assert collisions(shuffled, first, rules) == collisions(work, first, rules)
    assert share_alerts(shuffled, first, rules) == share_alerts(work, first, rules)


@given(policies(), backlogs())
def test_aged_work_is_never_queued_behind_younger_work(rules: Policy, work: list[Item]) -> None:
    result = plan(work, rules, TODAY)
    by_id = {item.request_id: item for item in work}
    # Among work placed within the horizon (what is not comes last, whatever its tier).
    tiers = [tier(by_id[rid], result.current_cycle, rules) for rid in result.backlog
             if result.slots[rid].points_by_cycle]
    assert tiers == sorted(tiers)  # paused-to-the-head first, then aged work, then the rest


@given(policies(), backlogs(states=WAITING))
def test_earlier_work_of_the_same_lane_and_size_never_starts_later(rules: Policy, work: list[Item]) -> None:
    result = plan(work, rules, TODAY)
    ordered = sorted(work, key=lambda item: priority(item, result.current_cycle, rules))
    for n, earlier in enumerate(ordered):
        for later in ordered[n + 1:]:
            if (earlier.lane, earlier.points) == (later.lane, later.points):
                assert result.slots[earlier.request_id].start <= result.slots[later.request_id].start


@given(policies(), backlogs(), st.sampled_from(LANES), st.booleans())
def test_neither_lane_nor_expedite_changes_the_order(rules: Policy, work: list[Item], lane: str,
                                                    expedite: bool) -> None:
    current = plan(work, rules, TODAY).current_cycle
    relabelled = [replace(item, lane=lane, expedite=expedite) for item in work]
    assert [priority(item, current, rules) for item in relabelled] == [priority(item, current, rules)
                                                                        for item in work]


@given(policies(), backlogs())
def test_executives_get_what_sales_would_under_the_same_policy(rules: Policy, work: list[Item]) -> None:
    swap = {"executive": "sales", "sales": "executive"}
    same = replace(rules, lane_caps=as_sales(rules.lane_caps), wip_limits=as_sales(rules.wip_limits))
    swapped = [replace(item, lane=swap.get(item.lane, item.lane)) for item in work]
    assert placements(plan(swapped, same, TODAY)) == placements(plan(work, same, TODAY))


@given(policies(), backlogs(), items(states=("done",), prefix="done-"))
def test_adding_done_work_changes_nothing(rules: Policy, work: list[Item], shipped: Item) -> None:
    result = plan(work, rules, TODAY)
    assert plan([*work, shipped], rules, TODAY) == result
    assert collisions([*work, shipped], result, rules) == collisions(work, result, rules)
    assert share_alerts([*work, shipped], result, rules) == share_alerts(work, result, rules)


@given(policies(), backlogs(), items(states=WAITING, prefix="new-"))
def test_placing_a_new_request_gives_the_full_plan(rules: Policy, work: list[Item], new: Item) -> None:
    assert place_new(plan(work, rules, TODAY), work, new, rules, TODAY) == plan([*work, new], rules, TODAY)


@given(policies(), backlogs(states=WAITING))
def test_committing_what_the_plan_commits_keeps_this_cycle_and_raises_no_alert(rules: Policy,
                                                                              work: list[Item]) -> None:
    before = plan(work, rules, TODAY)
    moved = [replace(i, state="committed") if before.slots[i.request_id].committed else i for i in work]
    after = plan(moved, rules, TODAY)
    assert after.load.get(after.current_cycle) == before.load.get(before.current_cycle)
    assert share_alerts(moved, after, rules) == []


def tier(item: Item, current_cycle: date, rules: Policy) -> int:
    """0 paused back to the head, 1 waited past the ageing bound, 2 the rest."""
    submitted = item.submitted_at if item.submitted_at.tzinfo else item.submitted_at.replace(tzinfo=UTC)
    epoch = date(2024, 1, 1)
    waited = ((current_cycle - epoch).days // rules.cycle_days
              - (submitted.astimezone(UTC).date() - epoch).days // rules.cycle_days)
    return 0 if item.head_of_backlog else 1 if waited >= rules.max_wait_cycles else 2


def as_sales(limits: Mapping[str, T]) -> dict[str, T]:
    """The same limits, with the executive lane given exactly what the sales lane gets (or nothing, alike)."""
    same = {lane: limit for lane, limit in limits.items() if lane != "executive"}
    if "sales" in same:
        same["executive"] = same["sales"]
    return same


def placements(result: Plan) -> dict[str, tuple[object, ...]]:
    return {rid: (s.start, s.committed, s.position, s.points_by_cycle) for rid, s in result.slots.items()}


class Restated:
    """The placement rules said plainly, with none of the planner's shortcuts: the oracle for ``plan``.

    Every start from the earliest on is tried until one places all the points within the horizon; work
    with more points than its lane's most in a cycle times the horizon starts at the first start giving it
    its full share and runs on past the horizon. WIP limits play no part: they gate starting work, not
    commitment.
    """

    def __init__(self, rules: Policy) -> None:
        self.rules, self.budgets = rules, lane_budgets(rules)
        self.capacity = rules.capacity_points
        self.allowance = min(self.capacity, max(0, math.floor((1 - rules.customer_reserve) * self.capacity + 1e-9)))
        self.used: Counter[tuple[int, str]] = Counter()

    def plan(self, work: list[Item]) -> dict[str, tuple[tuple[date, int], ...]]:
        current = cycle_start(TODAY, self.rules)
        ordered = sorted((i for i in work if i.state != "done"), key=lambda i: priority(i, current, self.rules))
        placed = {i.request_id: self.hold(i.lane, max(i.points, 0)) for i in ordered
                  if i.state in ("committed", "in_progress")}
        placed |= {i.request_id: self.place(i.lane, max(i.points, 0), 0)
                   for i in ordered if i.state in ("open", "paused")}
        return {rid: tuple((current + timedelta(days=c * self.rules.cycle_days), p) for c, p in takes)
                for rid, takes in placed.items()}

    def hold(self, lane: str, points: int) -> list[tuple[int, int]]:
        if self.most(lane) <= 0:  # a lane that can get nothing: a point a cycle by force
            return self.book(lane, [(0, min(points, 1))])
        now = min(points, max(self.need(lane, points), self.room(0, lane)))
        takes, cycle = [(0, now)], 1
        while sum(p for _, p in takes) < points:
            if self.room(cycle, lane):
                takes.append((cycle, min(self.room(cycle, lane), points - sum(p for _, p in takes))))
            cycle += 1
        return self.book(lane, takes)

    def place(self, lane: str, points: int, not_before: int) -> list[tuple[int, int]]:
        horizon = max(1, self.rules.horizon_cycles)
        for start in range(not_before, horizon):
            if points == 0:
                return self.book(lane, [(start, 0)])
            if self.room(start, lane) < self.need(lane, points) or self.need(lane, points) == 0:
                continue
            if self.most(lane) > 0 and points > self.most(lane) * horizon:  # too big for the horizon alone
                return self.hold_from(start, lane, points)
            takes = [(c, self.room(c, lane)) for c in range(start, horizon) if self.room(c, lane)]
            if sum(p for _, p in takes) >= points:
                cut = [(c, min(p, points - sum(q for _, q in takes[:n]))) for n, (c, p) in enumerate(takes)]
                return self.book(lane, [(c, p) for c, p in cut if p > 0])
        return []

    def hold_from(self, start: int, lane: str, points: int) -> list[tuple[int, int]]:
        takes: list[tuple[int, int]] = []
        cycle = start
        while sum(p for _, p in takes) < points:
            if self.room(cycle, lane):
                takes.append((cycle, min(self.room(cycle, lane), points - sum(p for _, p in takes))))
            cycle += 1
        return self.book(lane, takes)

    def book(self, lane: str, takes: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for cycle, points in takes:
            self.used[cycle, lane] += points
        return takes

    def room(self, cycle: int, lane: str) -> int:
        total = sum(p for (c, _), p in self.used.items() if c == cycle)
        internal = sum(p for (c, other), p in self.used.items() if c == cycle and other != "customer")
        free = min(self.capacity - total, self.budget(lane) - self.used[cycle, lane])
        return max(0, free if lane == "customer" else min(free, self.allowance - internal))

    def budget(self, lane: str) -> int:
        return self.budgets.get(lane, self.allowance)

    def most(self, lane: str) -> int:
        most = min(self.budget(lane), self.capacity)
        return max(0, most if lane == "customer" else min(most, self.allowance))

    def need(self, lane: str, points: int) -> int:
        reserve = self.capacity - self.allowance
        return min(points, reserve if lane == "customer" and reserve > 0 else self.most(lane))

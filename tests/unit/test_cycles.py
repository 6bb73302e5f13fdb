from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from capacity.cycles import CycleHeld, held_now
from capacity.domain import Card, Ledger
from capacity.planning import Item, Policy, invariant_violations, plan
from capacity.planning.signals import collisions

W48 = date(2026, 11, 23)


def card(request_id: str, lane: str, points: int, state: str) -> Card:
    item = Item(request_id=request_id, lane=lane, team=lane, objective_id=None, objective_rank=None, score=0.0,
                points=points, submitted_at=datetime(2026, 11, 23, 9, tzinfo=UTC), state=state,  # type: ignore[arg-type]
                committed_cycle=W48)
    return Card(item, request_id.title(), {"id": "u", "name": "Pat", "email": "p@example.com", "team": lane,
                                           "type": lane}, "orange")


def test_a_cycles_first_record_counts_the_work_already_finished_in_it_at_most_its_lane_share() -> None:
    ledger = Ledger(policy=Policy())
    for c in (card("launch-kit", "sales", 8, "done"), card("banner", "customer", 2, "committed")):
        ledger.put(c)
    [record] = held_now(ledger, plan(ledger.live_items(), ledger.policy, W48))
    assert isinstance(record, CycleHeld) and record.cycle_start == W48
    assert {h.request_id: h.points for h in record.held} == {"launch-kit": 4, "banner": 2}  # sales: 4 a cycle
    ledger.cycles[W48] = record
    assert held_now(ledger, plan(ledger.live_items(), ledger.policy, W48)) == []  # nothing changed since


def test_committed_work_spread_over_cycles_plans_only_what_it_has_left_so_its_end_and_whats_behind_it_hold() -> None:
    # A 12-point sales card committed in W48 takes sales' 4 points a cycle: W48, W49, W50. The 4-point sales
    # request behind it waits for W51, and must keep hearing W51 as the weeks pass, not a week later each week.
    ledger = Ledger(policy=Policy())
    ledger.put(card("launch-kit", "sales", 12, "in_progress"))
    waiting = card("one-pager", "sales", 4, "open")
    ledger.put(replace(waiting, item=replace(waiting.item, committed_cycle=None)))
    for week in range(3):
        today = W48 + timedelta(weeks=week)
        planned = plan(ledger.live_items(), ledger.policy, today)
        assert [p for _, p in planned.slots["launch-kit"].points_by_cycle] == [4] * (3 - week)
        assert planned.slots["one-pager"].start == W48 + timedelta(weeks=3)
        for record in held_now(ledger, planned):
            assert isinstance(record, CycleHeld)
            ledger.cycles[record.cycle_start] = record
    # Its points used and still not done (the estimate was short): it holds a point a cycle until it is.
    late = plan(ledger.live_items(), ledger.policy, W48 + timedelta(weeks=3))
    assert late.slots["launch-kit"].points_by_cycle == ((W48 + timedelta(weeks=3), 1),)
    assert invariant_violations(ledger.live_items(), late, ledger.policy) == []


def test_work_under_way_collides_by_the_points_it_has_left_not_its_whole_estimate() -> None:
    # A 12-point sales launch (4 a week from W48, due 2027-W01) and a 5-point customer page from another team,
    # due the same week: the plan finishes both weeks before. Read a week later, the launch has 8 points left.
    ledger = Ledger(policy=Policy())
    launch = card("launch-kit", "sales", 12, "in_progress")
    ledger.put(replace(launch, item=replace(launch.item, due_date=date(2027, 1, 4))))
    page = card("pricing-page", "customer", 5, "open")
    ledger.put(replace(page, item=replace(page.item, committed_cycle=None, due_date=date(2027, 1, 4))))
    for week in range(2):
        today = W48 + timedelta(weeks=week)
        planned = plan(ledger.live_items(), ledger.policy, today)
        assert collisions(ledger.live_items(), planned, ledger.policy) == []
        for record in held_now(ledger, planned):
            assert isinstance(record, CycleHeld)
            ledger.cycles[record.cycle_start] = record


def test_work_pushed_back_within_its_cycle_has_used_what_the_cycles_last_planning_gave_it() -> None:
    # The webinar gets all 20 points of W48; then objective work committed later takes 10 of them, moving 10 of
    # the webinar's to W49. W48 held 20 of its points at most, but used 10: W49 still owes it 10.
    ledger = Ledger(policy=Policy())
    ledger.put(card("webinar", "customer", 20, "committed"))
    for record in held_now(ledger, plan(ledger.live_items(), ledger.policy, W48)):
        assert isinstance(record, CycleHeld)
        ledger.cycles[record.cycle_start] = record
    outage = card("outage-report", "customer", 10, "committed")
    ledger.put(replace(outage, item=replace(outage.item, objective_id="O1", objective_rank=1, score=0.9)))
    planned = plan(ledger.live_items(), ledger.policy, W48)
    assert planned.slots["webinar"].points_by_cycle == ((W48, 10), (W48 + timedelta(weeks=1), 10))
    for record in held_now(ledger, planned):
        assert isinstance(record, CycleHeld)
        ledger.cycles[record.cycle_start] = record
    assert {h.request_id: (h.points, h.last) for h in ledger.cycles[W48].held} == {
        "webinar": (20, 10), "outage-report": (10, 10)}  # the report keeps the most; planning reads the last
    next_week = plan(ledger.live_items(), ledger.policy, W48 + timedelta(weeks=1))
    assert next_week.slots["webinar"].points_by_cycle == ((W48 + timedelta(weeks=1), 10),)

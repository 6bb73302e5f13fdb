"""The capacity planner's rules, one example each (``capacity.planning``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from capacity.planning import (
    Item,
    Plan,
    Policy,
    Slot,
    cycle_label,
    cycle_start,
    invariant_violations,
    lane_budgets,
    place_new,
    plan,
    points_for,
    priority,
)
from capacity.planning.signals import Alert, Collision, collisions, share_alerts

TODAY = date(2026, 11, 26)  # a Thursday in 2026-W48
W48, W49, W50, W51 = (date(2026, 11, 23) + timedelta(weeks=n) for n in range(4))
MONDAY_9AM = datetime(2026, 11, 23, 9, tzinfo=UTC)
ROOMY_WIP: dict[str, Any] = {"wip_total": 50, "wip_limits": dict.fromkeys(
    ("customer", "sales", "business_unit", "executive", "legal"), 10)}


def work(request_id: str, lane: str = "sales", *, points: int = 3, objective: str | None = None,
         rank: int | None = None, minutes: int = 0, weeks_ago: int = 0, **more: Any) -> Item:
    """A request as the classifier hands it over: submitted this week unless ``weeks_ago`` says otherwise."""
    return Item(request_id=request_id, lane=lane, team=more.pop("team", f"{lane}-team"), objective_id=objective,
                objective_rank=rank, score=more.pop("score", 0.5 if objective else 0.0), points=points,
                submitted_at=MONDAY_9AM - timedelta(weeks=weeks_ago) + timedelta(minutes=minutes), **more)


def committed(request_id: str, lane: str, points: int, **more: Any) -> Item:
    return work(request_id, lane, points=points, state="committed", committed_cycle=W48, **more)


def policy(**overrides: Any) -> Policy:
    """The default policy (20 points a week, half reserved for customer work), WIP limits out of the way."""
    return Policy(**{**ROOMY_WIP, **overrides})


def planned(items: list[Item], rules: Policy | None = None) -> Plan:
    """Plan ``items`` for this week, and check the plan keeps every rule on the way."""
    rules = rules or policy()
    result = plan(items, rules, TODAY)
    assert invariant_violations(items, result, rules) == []
    return result


def order(items: list[Item], rules: Policy | None = None) -> list[str]:
    rules = rules or Policy()
    return [item.request_id for item in sorted(items, key=lambda item: priority(item, W48, rules))]


# Cycles, budgets and points


def test_weekly_cycles_are_iso_weeks_starting_monday() -> None:
    assert cycle_start(TODAY, Policy()) == W48
    assert cycle_label(W48, Policy()) == "2026-W48"


def test_longer_cycles_count_from_the_first_monday_of_2024_and_carry_their_start_date() -> None:
    fortnight = Policy(cycle_days=14)
    assert cycle_start(date(2024, 1, 14), fortnight) == date(2024, 1, 1)
    assert cycle_start(date(2024, 1, 15), fortnight) == date(2024, 1, 15)
    assert cycle_label(date(2024, 1, 15), fortnight) == "2024-01-15"


def test_lane_budgets_round_each_cap_down_and_leave_the_customer_lane_everything() -> None:
    assert lane_budgets(Policy()) == {"customer": 20, "sales": 4, "business_unit": 4, "executive": 3, "legal": 2}
    assert lane_budgets(Policy(capacity_points=100, lane_caps={"sales": 0.29}))["sales"] == 29


def test_a_lane_the_policy_gives_no_cap_is_bound_by_the_reserve_alone() -> None:
    assert lane_budgets(Policy(lane_caps={"sales": 0.2}))["legal"] == 10


def test_points_come_from_effort_then_size_then_the_default() -> None:
    rules = Policy()
    assert points_for(7, "XS", rules) == 7
    assert points_for(None, "L", rules) == 5
    assert points_for(None, "XXL", rules) == points_for(None, None, rules) == rules.default_points


# The order of the backlog


def test_unaligned_sales_request_waits_behind_okr_work() -> None:
    dave = work("dave-landing-page", points=4)
    launch = work("launch-page", points=4, objective="O1", rank=1, minutes=30)
    result = planned([dave, launch])
    assert result.slots["launch-page"].committed
    assert result.slots["dave-landing-page"] == Slot("dave-landing-page", W49, False, 1, ((W49, 4),))


def test_aligned_work_goes_by_objective_rank_then_score_then_unranked_then_unaligned() -> None:
    items = [work("unaligned"), work("no-rank", objective="O9", minutes=1),
             work("o2", objective="O2", rank=2, score=0.9, minutes=2),
             work("o1-weak", objective="O1", rank=1, score=0.2, minutes=3),
             work("o1-strong", objective="O1", rank=1, score=0.8, minutes=4)]
    assert order(items) == ["o1-strong", "o1-weak", "o2", "no-rank", "unaligned"]


def test_executive_rank_buys_no_place_in_the_queue() -> None:
    dave = work("dave-page", "sales")
    slides = work("board-slides", "executive", minutes=10, expedite=True)
    result = planned([slides, dave], policy(customer_reserve=0.85))  # internal lanes share 3 points
    assert result.slots["dave-page"].committed
    assert result.backlog == ("board-slides",) and result.slots["board-slides"].start == W49


def test_expedite_alone_does_not_move_a_request_up() -> None:
    slides = work("board-slides", "executive")
    assert priority(replace(slides, expedite=True), W48, Policy()) == priority(slides, W48, Policy())


def test_paused_work_returns_to_the_head_of_the_backlog() -> None:
    items = [committed("in-flight", "sales", 4), work("okr-1", points=4, objective="O1", rank=1),
             work("okr-2", points=4, objective="O1", rank=1, minutes=1),
             work("paused-page", points=4, minutes=50, state="paused", head_of_backlog=True)]
    result = planned(items)
    assert result.backlog == ("paused-page", "okr-1", "okr-2")
    assert [result.slots[rid].start for rid in result.backlog] == [W49, W50, W51]


def test_work_waiting_past_the_ageing_bound_goes_first() -> None:
    items = [work("fresh-okr", points=4, objective="O1", rank=1),
             work("three-weeks", points=4, weeks_ago=3), work("four-weeks", points=4, weeks_ago=4)]
    result = planned(items, policy(max_wait_cycles=4))
    assert result.slots["four-weeks"].committed
    assert result.backlog == ("fresh-okr", "three-weeks")


def test_aged_work_is_served_oldest_first_whatever_its_alignment() -> None:
    items = [work("aged-okr", objective="O1", rank=1, weeks_ago=5), work("older-unaligned", weeks_ago=6)]
    assert order(items) == ["older-unaligned", "aged-okr"]


# Capacity by policy


def test_customer_webinar_commits_inside_the_reserve() -> None:
    internal = [committed("s", "sales", 4), committed("b", "business_unit", 4), committed("e", "executive", 2)]
    webinar = work("webinar-series", "customer", points=8, objective="O2", rank=2)
    result = planned([*internal, webinar])
    assert result.slots["webinar-series"] == Slot("webinar-series", W48, True, None, ((W48, 8),))
    assert result.load[W48] == {"sales": 4, "business_unit": 4, "executive": 2, "customer": 8}
    assert share_alerts([*internal, webinar], result, policy()) == []


def test_lane_at_its_cap_backlogs_further_requests_with_expected_starts() -> None:
    result = planned([work("first", points=4), work("second", points=4, minutes=1), work("third", points=4, minutes=2)])
    assert result.slots["first"].committed
    assert result.backlog == ("second", "third")
    assert [(result.slots[rid].position, result.slots[rid].start) for rid in result.backlog] == [(1, W49), (2, W50)]


def test_reserve_is_never_used_by_internal_lanes_even_when_idle() -> None:
    rules = policy(lane_caps=dict.fromkeys(("sales", "business_unit", "executive", "legal"), 0.5))
    lanes = ("sales", "business_unit", "executive", "legal")
    result = planned([work(f"{lane}-{n}", lane, points=5, minutes=n) for lane in lanes for n in range(5)], rules)
    assert all(sum(row.values()) == 10 for row in result.load.values())
    assert all("customer" not in row for row in result.load.values())


def test_big_work_spans_cycles_within_the_lane_budget() -> None:
    result = planned([work("microsite", points=10)])
    assert result.slots["microsite"] == Slot("microsite", W48, True, None, ((W48, 4), (W49, 4), (W50, 2)))


def test_big_work_never_starts_with_a_sliver_but_small_work_may_use_it() -> None:
    result = planned([committed("in-flight", "sales", 3), work("big", points=8), work("small", points=1, minutes=1)])
    assert result.slots["big"].points_by_cycle == ((W49, 4), (W50, 4))
    assert result.slots["small"].points_by_cycle == ((W48, 1),)


def test_a_smaller_request_takes_the_room_a_bigger_one_could_not_use() -> None:
    items = [committed("in-flight", "sales", 2), work("bigger", points=3), work("smaller", points=2, minutes=1)]
    result = planned(items, policy(horizon_cycles=1))
    assert result.slots["bigger"] == Slot("bigger", W49, False, 1, ())
    assert result.slots["smaller"].points_by_cycle == ((W48, 2),)


def test_customer_work_bigger_than_the_reserve_starts_with_the_reserve() -> None:
    internal = [committed("s", "sales", 4), committed("b", "business_unit", 4), committed("e", "executive", 2)]
    result = planned([*internal, work("academy", "customer", points=15)])
    assert result.slots["academy"].points_by_cycle == ((W48, 10), (W49, 5))


def test_work_that_does_not_fit_within_the_horizon_waits_beyond_it_with_no_points() -> None:
    result = planned([work(f"page-{n}", points=4, minutes=n) for n in range(4)], policy(horizon_cycles=3))
    assert result.slots["page-3"] == Slot("page-3", W51, False, 3, ())


def test_committed_work_in_a_lane_closed_since_holds_a_point_a_cycle_and_customer_work_the_rest() -> None:
    closed = policy(lane_caps={**Policy().lane_caps, "business_unit": 0.0})
    for rules in (closed, policy(customer_reserve=1.0)):
        result = planned([committed("microsite", "business_unit", 40), work("webinar", "customer", points=19)], rules)
        assert result.slots["microsite"].points_by_cycle == ((W48, 1),)
        assert result.slots["webinar"].points_by_cycle == ((W48, 19),)  # not pushed out by 40 forced points


def test_work_too_big_for_the_horizon_even_alone_starts_with_its_full_share_and_runs_past_it() -> None:
    # Sales gets 4 points a week: over a 3-week horizon 12. A 14-point ask would otherwise never be placed, its
    # expected start always one horizon away; it starts when it gets its 4 and takes 4, 4, 4 and 2.
    result = planned([work("rollout", points=14)], policy(horizon_cycles=3))
    assert result.slots["rollout"] == Slot("rollout", W48, True, None, ((W48, 4), (W49, 4), (W50, 4), (W51, 2)))
    # Behind sales work that holds this week, it starts next week; work that fits waits behind it in order.
    queued = [work("page", points=4), work("rollout", points=14, minutes=1), work("flyer", points=4, minutes=2)]
    result = planned(queued, policy(horizon_cycles=3))
    assert result.slots["rollout"].points_by_cycle == ((W49, 4), (W50, 4), (W51, 4), (W51 + timedelta(weeks=1), 2))
    assert result.slots["flyer"] == Slot("flyer", W51, False, 2, ())  # expected after the horizon
    # Placing it as the newest arrival gives the same plan as planning everything again.
    first = plan(queued[:1], policy(horizon_cycles=3), TODAY)
    assert place_new(first, queued[:1], queued[1], policy(horizon_cycles=3), TODAY) == plan(
        queued[:2], policy(horizon_cycles=3), TODAY)


# WIP limits gate starting work, not commitment


def test_wip_limits_do_not_hold_commitment_back() -> None:
    result = planned([work("first", points=1), work("second", points=1, minutes=1)], Policy())
    assert result.slots["first"].committed and result.slots["second"].committed


def test_customer_work_fills_the_reserve_past_the_default_wip_total() -> None:
    """Issue 11, item 5: eight customer requests of 2 points fit a 20-point cycle; WIP (5) is about starts."""
    result = planned([work(f"c{n}", "customer", points=2, minutes=n) for n in range(8)], Policy())
    assert result.backlog == () and result.load[W48] == {"customer": 16}


# Committed work


def test_work_committed_to_a_past_cycle_carries_over_into_the_current_one() -> None:
    late = work("late-report", "legal", points=2, state="in_progress", committed_cycle=W48 - timedelta(weeks=2))
    assert planned([late]).slots["late-report"] == Slot("late-report", W48, True, None, ((W48, 2),))


def test_committed_big_work_keeps_spanning_cycles_and_raises_no_alert() -> None:
    items = [committed("microsite", "sales", 8)]
    result = planned(items)
    assert result.slots["microsite"].points_by_cycle == ((W48, 4), (W49, 4))
    assert share_alerts(items, result, policy()) == []


def test_forced_commit_over_the_cap_raises_a_share_alert_with_a_plain_observation() -> None:
    items = [committed("exec-report", "executive", 3), committed("board-slides", "executive", 3, minutes=5)]
    result = planned(items)
    assert result.load[W48] == {"executive": 6}
    [alert] = share_alerts(items, result, policy())
    assert alert == Alert("lane_over_cap", W48, "executive",
                          "About 30% of this cycle goes to executive requests against a cap of 15%; "
                          "the customer share is 0% against a reserve of 50%.",
                          {"customer": 0.0, "sales": 0.0, "business_unit": 0.0, "executive": 0.3, "legal": 0.0})


def test_internal_work_crowding_out_the_reserve_is_told_with_the_numbers() -> None:
    items = [committed("bu-1", "business_unit", 4), committed("bu-2", "business_unit", 4, minutes=1),
             committed("sales-1", "sales", 4, minutes=2), committed("webinar", "customer", 7, minutes=3)]
    alerts = share_alerts(items, planned(items), policy())
    assert [(a.kind, a.lane) for a in alerts] == [("reserve_crowded_out", None), ("lane_over_cap", "business_unit")]
    assert alerts[0].observation == ("About 40% of this cycle goes to business-unit requests and 60% to internal "
                                     "requests in all; the customer share is 35% against a reserve of 50%.")
    assert alerts[0].shares["customer"] == pytest.approx(0.35)


def test_committed_work_past_a_wip_limit_leaves_room_to_commit_more() -> None:
    items = [committed("a", "sales", 1), committed("b", "sales", 1, minutes=1), work("c", points=1, minutes=2)]
    result = planned(items, Policy())
    assert all(result.slots[rid].committed for rid in ("a", "b", "c"))


# Collisions


def launch_week(event_due: date = TODAY, launch_due: date = TODAY, **launch: Any) -> list[Item]:
    """Story 4: sales' biggest sponsored event and a product launch, each large work."""
    event = work("sponsored-event", "sales", team="sales-emea", points=8, due_date=event_due)
    product = work("atlas-launch", "business_unit", team=launch.pop("team", "atlas-product"), points=8, minutes=1,
                   due_date=launch_due, **launch)
    return [event, product]


def test_two_teams_large_work_due_the_same_cycle_collides() -> None:
    items = launch_week()
    assert collisions(items, planned(items), policy()) == [
        Collision(W48, ("sponsored-event", "atlas-launch"), ("atlas-product", "sales-emea"), 16, 8)]


def test_large_work_of_a_single_team_is_no_collision() -> None:
    items = launch_week(team="sales-emea")
    assert collisions(items, planned(items), policy()) == []


def test_large_work_that_all_finishes_by_its_due_cycle_is_no_collision() -> None:
    items = launch_week(W49, W49 + timedelta(days=2))
    assert collisions(items, planned(items), policy()) == []


def test_large_work_due_in_different_cycles_is_no_collision() -> None:
    items = launch_week(TODAY, W50)
    assert collisions(items, planned(items), policy()) == []


def test_overdue_large_work_is_no_longer_reported_as_a_collision() -> None:
    last_week = TODAY - timedelta(weeks=1)
    items = launch_week(last_week, last_week)
    assert collisions(items, planned(items), policy()) == []


def test_a_due_date_in_the_first_days_of_the_calendar_is_overdue_work_not_a_crash() -> None:
    # With fortnights the cycle holding 1 January of year 1 would start before date.min.
    items = launch_week(date(1, 1, 1), date(1, 1, 1))
    fortnights = Policy(cycle_days=14)
    assert collisions(items, planned(items, fortnights), fortnights) == []


def test_committed_launch_still_collides_with_an_event_that_cannot_fit_beside_it() -> None:
    items = launch_week(state="committed")
    [found] = collisions(items, planned(items), policy())
    assert set(found.request_ids) == {"sponsored-event", "atlas-launch"}
    assert found.points_available < found.points_needed


def test_done_work_joins_no_collision() -> None:
    items = launch_week(state="done")
    assert collisions(items, planned(items), policy()) == []


# Sound plans and the incremental path


def test_done_work_takes_no_capacity_and_gets_no_slot() -> None:
    items = [work("open", points=4)]
    assert planned([*items, work("shipped", points=4, state="done")]) == planned(items)


def test_a_request_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        plan([work("twice"), work("twice", minutes=1)], Policy(), TODAY)


def test_place_new_gives_the_full_plan_for_a_request_that_sorts_last() -> None:
    items = [work(f"page-{n}", points=3, minutes=n) for n in range(5)]
    new = work("new-page", points=4, minutes=60)
    assert place_new(planned(items), items, new, policy(), TODAY) == plan([*items, new], policy(), TODAY)


def test_place_new_replans_in_full_for_a_request_that_sorts_earlier() -> None:
    items = [work(f"page-{n}", points=3, minutes=n) for n in range(5)]
    new = work("okr-page", points=4, objective="O1", rank=1, minutes=60)
    assert place_new(planned(items), items, new, policy(), TODAY) == plan([*items, new], policy(), TODAY)


def test_invariant_violations_say_what_a_broken_plan_gets_wrong() -> None:
    items = [work("first", points=4), work("second", points=4, minutes=1)]
    good = planned(items)
    crammed = replace(good.slots["second"], start=W48, committed=True, position=None, points_by_cycle=((W48, 4),))
    broken = replace(good, slots={**good.slots, "second": crammed}, load={W48: {"sales": 8}})
    problems = invariant_violations(items, broken, policy())
    assert "2026-W48: sales holds 8 points against a budget of 4" in problems
    assert "the backlog does not list the waiting items in position order" in problems
    assert invariant_violations([*items, work("missing")], good, policy()) == ["missing is not done but has no slot"]


def test_paused_work_waits_out_the_cycle_it_was_paused_in_then_comes_first() -> None:
    paused = Item(request_id="paused", lane="sales", team="Sales", objective_id=None, objective_rank=None,
                  score=0.0, points=2, submitted_at=datetime(2026, 11, 2, tzinfo=UTC), state="paused",
                  head_of_backlog=True, not_before=date(2026, 11, 30))
    newer = replace(paused, request_id="newer", state="open", head_of_backlog=False, not_before=None,
                    submitted_at=datetime(2026, 11, 20, tzinfo=UTC))
    same_week = plan([paused, newer], Policy(), date(2026, 11, 25))
    assert not same_week.slots["paused"].committed
    assert same_week.slots["paused"].start == date(2026, 11, 30)
    next_week = plan([paused, newer], Policy(), date(2026, 12, 1))
    assert next_week.slots["paused"].committed and next_week.slots["paused"].start == date(2026, 11, 30)


def test_work_that_does_not_fit_within_the_horizon_is_listed_last() -> None:
    # Sales may take 4 points a cycle. With this week's 4 held, 8 points need weeks 49 and 50: past a
    # two-week horizon, while 4 fit in week 49.
    policy = Policy(horizon_cycles=2)
    items = [committed("held", "sales", 4), work("big", points=8), work("c", points=4, minutes=2)]
    result = plan(items, policy, TODAY)
    assert result.backlog == ("c", "big")
    assert (result.slots["c"].position, result.slots["c"].start) == (1, W49)
    assert (result.slots["big"].position, result.slots["big"].points_by_cycle) == (2, ())
    assert invariant_violations(items, result, policy) == []
    newer = work("d", "customer", points=1, minutes=3)  # fits now: committed, the misfit still last
    grown = place_new(result, items, newer, policy, TODAY)
    assert grown == plan([*items, newer], policy, TODAY) and grown.backlog == ("c", "big")


def test_a_pause_is_not_undone_in_its_own_cycle_when_the_cycles_change_length() -> None:
    paused = work("p", state="paused", head_of_backlog=True, not_before=date(2026, 11, 23))  # paused in W47
    fortnights = Policy(cycle_days=14)  # the cycle holding 18 November now runs from 16 November
    result = plan([paused], fortnights, date(2026, 11, 18))
    assert not result.slots["p"].committed and result.slots["p"].start == date(2026, 11, 30)

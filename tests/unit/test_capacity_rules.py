from datetime import UTC, date, datetime, timedelta

from capacity.domain import OpenItem, Policy, cycle_label, cycle_start, forecast, moved, points_for, reason

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MONDAY = date(2026, 11, 23)


def item(request_id: str, *, objective: str | None = None, rank: int | None = None, points: int = 3,
         minutes: int = 0, lane: str = "sales") -> OpenItem:
    return OpenItem(request_id=request_id, title=request_id, requester={}, lane=lane, colour="orange",
                    objective_id=objective, objective_rank=rank, score=1.0 if objective else 0.0,
                    points=points, submitted_at=T0 + timedelta(minutes=minutes))


def test_unaligned_sales_request_waits_behind_okr_work() -> None:
    placements = forecast([item("sales-page", minutes=0), item("webinar", objective="O2", rank=2, minutes=5)],
                          Policy(), MONDAY)
    assert [p.request_id for p in placements] == ["webinar", "sales-page"]
    assert [p.position for p in placements] == [1, 2]


def test_aligned_work_goes_in_objective_rank_order() -> None:
    placements = forecast([item("o3", objective="O3", rank=3), item("o1", objective="O1", rank=1, minutes=9)],
                          Policy(), MONDAY)
    assert [p.request_id for p in placements] == ["o1", "o3"]


def test_executive_rank_buys_no_place_in_the_queue() -> None:
    placements = forecast([item("sales", minutes=0), item("vp-slides", lane="executive", minutes=1)],
                          Policy(), MONDAY)
    assert [p.request_id for p in placements] == ["sales", "vp-slides"]


def test_work_beyond_a_cycle_capacity_is_expected_in_a_later_cycle() -> None:
    policy = Policy(capacity_points=5)
    placements = forecast([item("a", points=3), item("b", points=3, minutes=1), item("c", points=2, minutes=2)],
                          policy, MONDAY)
    assert [p.cycle for p in placements] == ["2026-W48", "2026-W49", "2026-W49"]


def test_weekly_cycles_are_iso_weeks_starting_monday() -> None:
    policy = Policy()
    assert cycle_start(date(2026, 11, 26), policy) == MONDAY
    assert cycle_label(MONDAY, policy) == "2026-W48"


def test_points_come_from_effort_then_size_then_the_default() -> None:
    policy = Policy()
    assert points_for(7, "XS", policy) == 7
    assert points_for(None, "L", policy) == 5
    assert points_for(None, None, policy) == policy.default_points


def test_only_items_whose_expected_start_changed_are_reported() -> None:
    policy = Policy(capacity_points=3)
    before = {p.request_id: p for p in forecast([item("a"), item("b", minutes=1)], policy, MONDAY)}
    after = forecast([item("new", objective="O1", rank=1), item("a"), item("b", minutes=1)], policy, MONDAY)
    assert {p.request_id for p in moved(before, after)} == {"new", "a", "b"}
    assert moved(before, forecast([item("a"), item("b", minutes=1)], policy, MONDAY)) == []


def test_the_reason_says_why_without_blame() -> None:
    assert "queued after the objective work" in reason(item("x"))
    assert "objective O2" in reason(item("y", objective="O2", rank=2))

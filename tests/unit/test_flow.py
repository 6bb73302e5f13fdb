from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from capacity.domain import Card, Ledger
from capacity.events import fold
from capacity.flow.calibration import calibration
from capacity.flow.forecast import by_horizon, forecast_lane, lane_model
from capacity.flow.frame import CYCLE_EPOCH, frame_of
from capacity.flow.history import History, Passage, day_of
from capacity.flow.metrics import Window, ages, cfd, flow, sle_days
from capacity.flow.outlook import Settings, outlook
from capacity.flow.service import fold_event
from capacity.flow.views import end_of_quarter
from capacity.flow.watch import at_risk, dress, slipped
from capacity.planning import Item, Policy, plan
from shared.events import RequestBacklogged, Requester, RequestStarted
from tests.builders import about_card, withdrawn
from tests.flow_team import team_history

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # a cycle's first day
T0 = MONDAY - timedelta(days=400)


def finished(lane: str, count: int, *, every: float = 3.0, cycle_time: float = 4.0) -> dict[str, Passage]:
    """``count`` items of ``lane`` started ``every`` days apart, up to a week ago, each done ``cycle_time`` later."""
    end = day_of(MONDAY) - 7 - cycle_time
    return {f"{lane}-{i}": Passage(f"{lane}-{i}", lane, 3, end - i * every - 2, end - i * every - 1,
                                   end - i * every, end - i * every + cycle_time) for i in range(count)}


def card(request_id: str, lane: str, *, minutes: int = 0, state: str = "open") -> Card:
    item = Item(request_id=request_id, lane=lane, team=lane, objective_id=None, objective_rank=None, score=0.0,
                points=3, submitted_at=T0 + timedelta(minutes=minutes), state=state)  # type: ignore[arg-type]
    return Card(item, request_id.title(), {"id": "u", "name": "Pat", "email": f"{request_id}@example.com",
                                           "team": lane, "type": lane}, "orange")


def board(*cards: Card) -> Ledger:
    ledger = Ledger(policy=Policy(capacity_points=2))  # too small to commit anything: all of it waits
    for c in cards:
        ledger.put(c)
    return ledger


def test_each_passage_time_is_set_once_so_a_replayed_event_changes_nothing() -> None:
    history = History()
    begun = history.record("request.backlogged", "r1", MONDAY, lane="sales", points=3, submitted_at=T0)
    assert begun is not None and begun.submitted == day_of(T0)
    assert history.record("request.started", "r1", MONDAY + timedelta(days=1)) is not None
    assert history.record("request.started", "r1", MONDAY + timedelta(days=2)) is None
    assert history.record("request.done", "r1", MONDAY + timedelta(days=3)) is not None
    assert history.record("request.done", "r1", MONDAY + timedelta(days=9)) is None
    [tally] = [t for t in history.days("sales").values() if t.finishes]
    assert tally.cycle_times == [2.0]
    assert sum(t.starts for t in history.days("sales").values()) == 1


def test_a_request_unknown_to_the_board_begins_no_passage_until_capacity_decides_about_it() -> None:
    history = History()
    assert history.record("request.classified", "r1", MONDAY, lane="sales", points=3, submitted_at=T0) is None
    assert history.record("request.withdrawn", "r1", MONDAY) is None


def test_flow_figures_give_wip_throughput_percentiles_and_the_lane_sle() -> None:
    passages = finished("sales", 20, cycle_time=4.0)
    passages["going"] = Passage("going", "sales", 3, day_of(MONDAY) - 30, None, day_of(MONDAY) - 20)
    history = History(passages)
    now = day_of(MONDAY) + 0.5
    sle = sle_days(history, now, 182)
    figures = flow(frame_of(passages.values()), Window(now, 182, 7), sle)
    sales = next(row for row in figures["lanes"] if row["lane"] == "sales")
    assert sales["wip"] == 1 and sales["finished"] == 20
    assert sales["cycle_time_days"] == {"p50": 4.0, "p85": 4.0, "p95": 4.0}
    assert sales["lead_time_days"]["p50"] == 6.0
    assert sales["sle"]["statement"] == "85% of sales work finishes within 4 days."
    assert sle["legal"] is None  # no history, no SLE
    [old] = ages(frame_of(passages.values()), Window(now, 182, 7), sle)
    assert old["request_id"] == "going" and old["past_sle"] and old["age_days"] == 20.5


def test_the_cumulative_flow_counts_each_stage_by_the_end_of_each_day() -> None:
    passages = {"a": Passage("a", "sales", 3, 100.2, 101.5, 102.5, 104.5),
                "b": Passage("b", "sales", 3, 101.2)}
    found = cfd(frame_of(passages.values()), 100, 105)
    assert found["arrived"] == [1, 2, 2, 2, 2, 2]
    assert found["committed"] == [0, 1, 1, 1, 1, 1]
    assert found["started"] == [0, 0, 1, 1, 1, 1]
    assert found["done"] == [0, 0, 0, 0, 1, 1]


def test_the_forecaster_is_calibrated_on_a_synthetic_team_of_known_throughput() -> None:
    hits = judged = 0
    for seed in (11, 12, 13):  # three teams of twenty quarters each
        history, end = team_history(cycles=13 * 20, seed=seed)
        frame = frame_of(history.passages.values())
        result = calibration(frame, history, now=end, cycle_days=7, history_cycles=26, cycles=13 * 20 - 14,
                             trials=2_000)
        [sales] = [row for row in result["lanes"] if row["lane"] == "sales"]
        hits += round(sales["started_by"]["p85"] * sales["judged"])
        judged += sales["judged"]
    assert judged > 10_000
    assert hits / judged == pytest.approx(0.85, abs=0.03)


def test_items_further_down_a_lane_queue_start_later_and_ranges_widen() -> None:
    history, end = team_history(cycles=52, seed=3)
    model = lane_model(history, "sales", end, 7, 26)
    found = forecast_lane(model, [f"w{i}" for i in range(40)], [], trials=10_000)
    first, last = found["w0"].start, found["w39"].start
    assert first is not None and last is not None
    assert first[0] <= first[1] <= first[2] and last[0] < last[1] < last[2]
    assert last[0] > first[2]
    assert last[2] - last[0] > first[2] - first[0]
    assert all(f.done[1] >= f.start[1] for f in found.values() if f.start is not None)


def test_a_lane_is_forecast_from_its_own_throughput_not_the_teams() -> None:
    quick = finished("customer", 60, every=1.0)
    slow = finished("legal", 12, every=14.0)
    history = History({**quick, **slow})
    now = day_of(MONDAY)
    customer = forecast_lane(lane_model(history, "customer", now, 7, 26), ["c"] * 1 + [f"c{i}" for i in range(9)], [])
    legal = forecast_lane(lane_model(history, "legal", now, 7, 26), [f"l{i}" for i in range(10)], [])
    assert customer["c8"].start is not None and legal["l8"].start is not None
    assert legal["l8"].start[1] > customer["c8"].start[1] + 30


def test_how_many_of_a_backlog_start_by_a_date_grows_with_the_horizon_and_shrinks_with_confidence() -> None:
    history, end = team_history(cycles=52, seed=5)
    model = lane_model(history, "sales", end, 7, 26)
    quarter = by_horizon(model, end + 91)
    month = by_horizon(model, end + 30)
    assert quarter["started"][0] >= quarter["started"][1] >= quarter["started"][2]
    assert month["started"][0] < quarter["started"][0]
    assert 30 <= quarter["started"][0] <= 13 * 4.5


def test_with_fewer_than_ten_finished_items_the_forecast_says_so_and_uses_the_points_estimate() -> None:
    history = History(finished("legal", 9))
    ledger = board(card("l1", "legal"))
    found = outlook(history, ledger, plan(ledger.items(), ledger.policy, MONDAY.date()), day_of(MONDAY),
                    Settings(trials=2_000), {})
    assert found["l1"].method == "points" and found["l1"].history_items == 9
    assert "fewer than 10" in str(found["l1"].as_json()["note"])


def test_a_backlog_announcement_carries_the_85_percent_start_beside_the_likely_one() -> None:
    history = History(finished("sales", 30, every=2.0))
    ledger = board(card("s1", "sales"), card("s2", "sales", minutes=1))
    planned = plan(ledger.items(), ledger.policy, MONDAY.date())
    found = outlook(history, ledger, planned, day_of(MONDAY), Settings(trials=2_000), {})
    asker = Requester.model_validate(ledger.cards["s2"].requester)
    notice = RequestBacklogged(request_id="s2", title="S2", requester=asker, lane="sales", objective_id=None,
                               position=2, expected_start_cycle="2026-W49", expected_start=date(2026, 11, 30),
                               points=3, reason="")
    [dressed] = dress([notice], found)
    assert isinstance(dressed, RequestBacklogged) and dressed.start_forecast is not None
    assert dressed.start_forecast.method == "monte_carlo"
    assert dressed.start_forecast.likely <= dressed.start_forecast.p85 <= dressed.start_forecast.p95


def test_a_slip_of_more_than_a_cycle_is_announced_once() -> None:
    history = History(finished("sales", 30, every=2.0))
    ledger = board(*(card(f"s{i}", "sales", minutes=i) for i in range(12)))
    planned = plan(ledger.items(), ledger.policy, MONDAY.date())
    history.record("request.backlogged", "s11", MONDAY, lane="sales", points=3, submitted_at=T0,
                   told_at=MONDAY.date().isoformat())  # told it would start this week, which no longer holds
    found = outlook(history, ledger, planned, day_of(MONDAY), Settings(trials=2_000), {})
    [slip] = slipped(ledger, history, found, set())
    assert slip.request_id == "s11" and slip.previous_p85 == MONDAY.date()  # type: ignore[attr-defined]
    history.record(slip.event_type, "s11", MONDAY, lane="sales", points=3, submitted_at=T0,
                   told_at=slip.start_forecast.p85.isoformat())  # type: ignore[attr-defined]
    assert slipped(ledger, history, found, set()) == []


def test_committed_work_is_not_told_it_waits_its_turn() -> None:
    history = History(finished("sales", 30, every=2.0))
    # Twelve committed in a lane that starts about one every two days: the last one's 85% start is weeks out.
    ledger = board(*(card(f"s{i}", "sales", minutes=i, state="committed") for i in range(12)))
    planned = plan(ledger.items(), ledger.policy, MONDAY.date())
    history.record("request.backlogged", "s11", MONDAY, lane="sales", points=3, submitted_at=T0,
                   told_at=MONDAY.date().isoformat())
    found = outlook(history, ledger, planned, day_of(MONDAY), Settings(trials=2_000), {})
    forecast = found["s11"].start_forecast()
    assert forecast is not None and forecast.p85 > MONDAY.date() + timedelta(days=7)
    assert slipped(ledger, history, found, set()) == []


def test_a_paused_cards_announcement_tells_nobody_so_it_is_no_date_people_were_told() -> None:
    ledger, history = board(card("p", "sales", state="paused")), History()
    asker = Requester.model_validate(ledger.cards["p"].requester)
    announced = RequestBacklogged(request_id="p", title="P", requester=asker, lane="sales", objective_id=None,
                                  position=1, expected_start_cycle="2026-W52",
                                  expected_start=date(2026, 12, 21), points=3, reason="", paused=True)
    fold_event(history, ledger, announced, MONDAY)
    assert history.passages["p"].told_p85 is None
    fold_event(history, ledger, announced.model_copy(update={"paused": False}), MONDAY)
    assert history.passages["p"].told_p85 is not None


def test_paused_work_is_told_no_slip_and_its_forecast_starts_no_sooner_than_its_pause_allows() -> None:
    history = History(finished("sales", 30, every=2.0))
    back = date(2026, 12, 14)  # the pause said it may be committed again from this cycle
    paused = card("p", "sales", state="paused")
    ledger = board(Card(replace(paused.item, not_before=back), paused.title, paused.requester, paused.colour),
                   *(card(f"s{i}", "sales", minutes=i + 1) for i in range(11)))
    history.record("request.backlogged", "p", MONDAY - timedelta(days=14), lane="sales", points=3,
                   submitted_at=T0, told_at=(MONDAY - timedelta(days=14)).date().isoformat())
    found = outlook(history, ledger, plan(ledger.items(), ledger.policy, MONDAY.date()), day_of(MONDAY),
                    Settings(trials=2_000), {})
    forecast = found["p"].start_forecast()
    assert forecast is not None and forecast.method == "monte_carlo"
    assert back <= forecast.likely <= forecast.p85 <= forecast.p95
    done = found["p"].done
    assert done is not None and all(d >= s for d, s in zip(done, found["p"].start or (), strict=True))
    assert [e.request_id for e in slipped(ledger, history, found, set())] == []  # type: ignore[attr-defined]


def test_work_in_progress_past_its_lane_sle_is_flagged_once() -> None:
    passages = finished("sales", 20, cycle_time=4.0)
    passages["old"] = Passage("old", "sales", 3, day_of(MONDAY) - 12, None, day_of(MONDAY) - 10)
    history = History(passages)
    ledger = board(card("old", "sales", state="in_progress"))
    sle = sle_days(history, day_of(MONDAY), 182)
    [risk] = at_risk(ledger, history, sle, day_of(MONDAY))
    assert risk.request_id == "old" and risk.sle_days == 4.0 and risk.age_days == 10.0  # type: ignore[attr-defined]
    history.record(risk.event_type, "old", MONDAY)
    assert at_risk(ledger, history, sle, day_of(MONDAY)) == []


def test_the_default_horizon_is_the_end_of_the_quarter() -> None:
    assert end_of_quarter(date(2026, 12, 1)) == date(2026, 12, 31)
    assert end_of_quarter(date(2026, 4, 1)) == date(2026, 6, 30)


def test_a_withdrawn_request_leaves_the_work_in_progress_and_the_queues() -> None:
    ledger, history = board(card("w", "sales")), History()
    fold_event(history, ledger, about_card(RequestStarted, "w", by="ops"), MONDAY)
    assert history.passages["w"].in_progress
    fold(ledger, withdrawn("w"))
    fold_event(history, ledger, withdrawn("w"), MONDAY + timedelta(days=1))
    assert history.passages["w"].withdrawn and not history.passages["w"].in_progress
    assert frame_of(history.passages.values()).request_ids == ()
    assert day_of(datetime(2024, 1, 1, tzinfo=UTC)) == CYCLE_EPOCH  # cycles count from where the planner's do


def test_a_lane_is_forecast_no_faster_than_its_share_of_the_policy_now_allows() -> None:
    history = History(finished("sales", 60, every=1.0))  # seven a week, under a generous share
    generous = board(*(card(f"s{i}", "sales", minutes=i) for i in range(20)))
    generous.policy = Policy(capacity_points=200)  # sales may use 40 points a cycle: the history binds
    narrow = board(*(card(f"s{i}", "sales", minutes=i) for i in range(20)))
    narrow.policy = Policy(capacity_points=20, lane_caps={"sales": 0.1, "business_unit": 0.2, "executive": 0.15,
                                                           "legal": 0.1})  # 2 points: one 3-point item a cycle
    found = {}
    for name, ledger in (("generous", generous), ("narrow", narrow)):
        planned = plan(ledger.items(), ledger.policy, MONDAY.date())
        found[name] = outlook(history, ledger, planned, day_of(MONDAY), Settings(trials=2_000), {})
    last = "s19"
    wide, tight = found["generous"][last].start, found["narrow"][last].start
    assert wide is not None and tight is not None
    assert (tight[0] - wide[0]).days > 7 * 10  # about 19 cycles at one a cycle, against three at seven

"""The dashboard's pure parts: colours people can read, the snapshot's verdicts, the chart and the CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from capacity import shares, views
from capacity.dashboard.charts import PALETTE, Line, Rect, Text, hex_of, ink, shares_chart, to_png, to_svg
from capacity.dashboard.exports import CSV_COLUMNS, shares_csv
from capacity.dashboard.snapshot import dashboard
from capacity.domain import Card, Ledger
from capacity.events import fold
from capacity.objectives import NO_TITLES, Titles
from capacity.planning import Item, Policy, State, plan
from tests.builders import classification

TODAY = date(2026, 11, 25)
T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)
COLOURS = {"customer": "blue", "sales": "orange", "business_unit": "green", "executive": "yellow", "legal": "grey"}


def card(request_id: str, lane: str, points: int, *, state: State = "open", minutes: int = 0) -> Card:
    item = Item(request_id=request_id, lane=lane, team=f"{lane} team", objective_id=None, objective_rank=None,
                score=0.0, points=points, submitted_at=T0 + timedelta(minutes=minutes), state=state,
                committed_cycle=date(2026, 11, 23) if state in ("committed", "in_progress") else None)
    return Card(item, request_id.title(), {"id": "u", "name": "Pat Lee", "email": "pat@example.com",
                                           "team": f"{lane} team", "type": lane}, COLOURS[lane])


def aligned(c: Card, objective: str, quarter: str | None = "2026-Q4", version: int | None = 1) -> Card:
    """``c`` classified under ``objective`` of OKR set (``quarter``, ``version``)."""
    return replace(c, item=replace(c.item, objective_id=objective), okr_quarter=quarter, okr_version=version)


def snapshot_of(*cards: Card, policy: Policy | None = None, titles: Titles = NO_TITLES) -> dict[str, Any]:
    ledger = Ledger(policy=policy or Policy())
    for c in cards:
        ledger.put(c)
    history = {"from": "2026-09-01", "to": "2026-11-25", "customer_reserve": 0.5, "cycles": []}
    return dashboard(ledger, plan(ledger.items(), ledger.policy, TODAY), version=7, history=history,
                     generated_at=T0, titles=titles)


def report(*cycles: dict[str, Any]) -> dict[str, Any]:
    return {"from": "2026-11-02", "to": "2026-11-25", "customer_reserve": 0.5, "cycles": list(cycles),
            "policy_versions": [1]}


def cycle(label: str, lanes: dict[str, int], objectives: dict[str, int] | None = None) -> dict[str, Any]:
    return {"cycle": label, "cycle_start": "2026-11-23", "capacity_points": 20,
            "lanes": {k: {"points": v, "share": v / 20} for k, v in lanes.items()},
            "objectives": {k: {"points": v, "share": v / 20} for k, v in (objectives or {}).items()}}


def test_text_on_each_lane_colour_is_whichever_of_black_and_white_reads_better() -> None:
    assert {lane: ink(hex_of(colour)) for lane, colour in COLOURS.items()} == {
        "customer": "#ffffff", "sales": "#111827", "business_unit": "#ffffff", "executive": "#111827",
        "legal": "#111827"}


def test_a_colour_given_as_hex_is_drawn_as_given_and_an_unknown_name_grey() -> None:
    assert hex_of("#AA0011") == "#aa0011"
    assert hex_of("chartreuse") == PALETTE["grey"]


def test_cards_carry_their_lane_shade_and_the_moves_the_board_allows() -> None:
    found = snapshot_of(card("webinar", "customer", 5, state="committed"), card("page", "sales", 3),
                        card("other-page", "sales", 3, minutes=1), card("deck", "executive", 2, state="in_progress"))
    columns = {c["name"]: c for c in found["columns"]}
    webinar = next(c for c in columns["committed"]["cards"] if c["request_id"] == "webinar")
    assert (webinar["hex"], webinar["label"], webinar["moves"]) == (PALETTE["blue"], "customer",
                                                                     ["start", "done", "pause"])
    assert columns["in_progress"]["cards"][0]["moves"] == ["done", "pause"]
    assert [(c["request_id"], c["moves"]) for c in columns["backlog"]["cards"]] == [("other-page", [])]
    assert found["version"] == 7


def test_work_in_progress_beyond_the_team_limit_is_flagged_over() -> None:
    cards = [card(f"c{i}", "customer", 1, state="in_progress") for i in range(3)]
    found = snapshot_of(*cards, policy=Policy(wip_total=2))
    in_progress = next(c for c in found["columns"] if c["name"] == "in_progress")
    assert (in_progress["wip"]["count"], in_progress["wip"]["limit"], in_progress["wip"]["over"]) == (3, 2, True)
    customer = next(lane for lane in in_progress["wip"]["lanes"] if lane["lane"] == "customer")
    assert customer == {"lane": "customer", "count": 3, "limit": 3, "over": False}


def test_a_lane_over_its_cap_and_a_customer_share_under_the_reserve_are_named() -> None:
    forced = [card(f"event-{i}", "sales", 3, state="committed") for i in range(2)]  # as a trade-off can force
    found = snapshot_of(*forced, card("webinar", "customer", 2, state="committed"))
    shares = {row["lane"]: row for row in found["shares"]["lanes"]}
    assert shares["sales"]["over"] and shares["sales"]["policy_share"] == 0.2 and shares["sales"]["share"] == 0.3
    assert shares["customer"]["under_reserve"] and shares["customer"]["policy_kind"] == "reserve"
    assert found["shares"]["internal_share"] == 0.3 and not found["shares"]["internal_over"]


def test_the_done_column_shows_the_latest_and_counts_them_all() -> None:
    done = [replace(c, item=replace(c.item, state="done"))
            for c in (card(f"d{i}", "legal", 1, state="committed") for i in range(25))]
    column = next(c for c in snapshot_of(*done)["columns"] if c["name"] == "done")
    assert column["count"] == 25 and len(column["cards"]) == 20


TITLES = Titles({("2026-Q4", 1): {"O1": "Launch Atlas 3.0", "O2": "Customers reach value in 90 days"},
                 ("2026-Q4", 2): {"O2": "Customers reach value in 60 days"},
                 ("2027-Q1", 1): {"O1": "Grow self-serve revenue"}})


def test_cards_and_objective_shares_are_named_by_the_okr_set_their_request_was_classified_under() -> None:
    found = snapshot_of(aligned(card("webinar", "customer", 5, state="committed"), "O2"),
                        aligned(card("page", "sales", 3), "O1"), card("deck", "executive", 2, state="in_progress"),
                        titles=TITLES)
    faces = {c["request_id"]: c for column in found["columns"] for c in column["cards"]}
    assert {rid: (c["objective_id"], c["objective_title"]) for rid, c in faces.items()} == {
        "webinar": ("O2", "Customers reach value in 90 days"), "page": ("O1", "Launch Atlas 3.0"),
        "deck": (None, None)}
    assert [(o["objective_id"], o["title"], o["points"]) for o in found["shares"]["objectives"]] == [
        ("O1", "Launch Atlas 3.0", 3), ("O2", "Customers reach value in 90 days", 5), (None, None, 2)]
    assert found["titles_version"] == 3


def test_an_objective_no_published_set_names_keeps_its_id_alone() -> None:
    found = snapshot_of(aligned(card("webinar", "customer", 5, state="committed"), "O9"), titles=TITLES)
    [webinar] = next(c for c in found["columns"] if c["name"] == "committed")["cards"]
    assert (webinar["objective_id"], webinar["objective_title"]) == ("O9", None)
    assert found["shares"]["objectives"] == [{"objective_id": "O9", "title": None, "points": 5, "share": 0.25}]
    assert snapshot_of(card("page", "sales", 3))["titles_version"] == 0


def test_an_objective_is_named_from_its_own_quarter_and_never_from_another() -> None:
    assert TITLES.of("O2", "2026-Q4", 2) == "Customers reach value in 60 days"
    assert TITLES.of("O1", "2026-Q4", 2) == "Launch Atlas 3.0"  # dropped from v2: the quarter's earlier set
    assert TITLES.of("O2", "2026-Q4", 7) == "Customers reach value in 60 days"  # unknown version: the latest
    assert TITLES.of("O2", "2027-Q1", 1) is None  # "O2" of another quarter is another objective
    assert TITLES.of("O1") == "Grow self-serve revenue"  # no set known for the card: the latest that has it
    assert TITLES.of(None, "2026-Q4", 1) is None


def test_a_card_keeps_the_okr_set_it_was_classified_under_through_the_store() -> None:
    ledger = Ledger()
    fold(ledger, classification("webinar", {"okr_quarter": "2026-Q4", "okr_version": 2}, objective="O2", rank=2,
                                lane="customer"))
    stored = Card.from_json(ledger.cards["webinar"].to_json())
    assert (stored.okr_quarter, stored.okr_version) == ("2026-Q4", 2)
    assert TITLES.of_card(stored) == "Customers reach value in 60 days"
    legacy = {k: v for k, v in ledger.cards["webinar"].to_json().items() if not k.startswith("okr_")}
    assert Card.from_json(legacy).okr_quarter is None  # a card saved before capacity kept the set


def test_the_shares_report_names_each_cycles_objectives_as_its_cards_do() -> None:
    ledger = Ledger()
    for c in (aligned(card("webinar", "customer", 5, state="committed"), "O2", version=2),
              aligned(card("launch", "business_unit", 3, state="committed"), "O1", quarter="2027-Q1")):
        ledger.put(c)
    [row] = shares.shares_report(ledger, date(2026, 11, 1), TODAY, {}, TITLES)["cycles"]
    assert row["objectives"] == {"O1": {"points": 3, "share": 0.15, "title": "Grow self-serve revenue"},
                                 "O2": {"points": 5, "share": 0.25, "title": "Customers reach value in 60 days"}}


def test_work_spanning_cycles_counts_its_part_in_each_cycle_as_this_cycles_panel_does() -> None:
    ledger = Ledger(policy=Policy())
    ledger.put(card("launch", "business_unit", 8, state="committed"))  # twice the lane's 4 points a cycle
    current = plan(ledger.items(), ledger.policy, TODAY)
    rows = shares.shares_report(ledger, date(2026, 11, 1), date(2026, 12, 31), {}, plan=current)["cycles"]
    spread = {row["cycle"]: row["lanes"]["business_unit"]["points"] for row in rows}
    this_cycle = views.capacity(ledger, current)["lanes"]["business_unit"]["committed_points"]
    assert spread[rows[0]["cycle"]] == this_cycle == 4
    assert sum(spread.values()) == 8 and len(spread) == 2
    # Without the plan (as before), all of it landed in the cycle it was committed to.
    [whole] = shares.shares_report(ledger, date(2026, 11, 1), date(2026, 12, 31), {})["cycles"]
    assert whole["lanes"]["business_unit"]["points"] == 8


def test_an_objective_title_that_looks_like_a_formula_is_exported_as_text() -> None:
    row = cycle("2026-W47", {"customer": 5}, {"O1": 5})
    row["objectives"]["O1"]["title"] = '=HYPERLINK("http://evil.example","Grow revenue")'
    [*_, objective] = csv.DictReader(io.StringIO(shares_csv(report(row), Policy())))
    assert objective["title"] == "'" + row["objectives"]["O1"]["title"]
    assert objective["key"] == "O1"


def test_the_chart_stacks_customer_work_at_the_foot_and_draws_the_reserve_dashed() -> None:
    chart = shares_chart(report(cycle("2026-W47", {"sales": 4, "customer": 8})), COLOURS)
    bars = [s for s in chart.shapes if isinstance(s, Rect) and s.w < 100 and s.h > 30]
    customer, sales = bars[0], bars[1]
    assert (customer.fill, sales.fill) == (PALETTE["blue"], PALETTE["orange"])
    assert customer.y > sales.y  # lower on the page: at the foot of the bar
    assert any(isinstance(s, Line) and s.dashed for s in chart.shapes)
    assert {"40%", "20%", "customer reserve 50%", "W47"} <= {s.text for s in chart.shapes if isinstance(s, Text)}


def test_the_reserve_line_steps_where_the_reserve_changed_and_the_csv_gives_each_cycle_its_own() -> None:
    before = {**cycle("2026-W46", {"customer": 10}), "customer_reserve": 0.5, "lane_caps": {"sales": 0.2}}
    after = {**cycle("2026-W47", {"customer": 8}), "customer_reserve": 0.3, "lane_caps": {"sales": 0.4}}
    chart = shares_chart(report(before, after), COLOURS)
    dashed = [s for s in chart.shapes if isinstance(s, Line) and s.dashed and s.y1 == s.y2 and s.x2 - s.x1 > 30]
    assert len({round(s.y1) for s in dashed}) == 2  # one level per reserve, not one line at today's
    assert "customer reserve, now 30%" in {s.text for s in chart.shapes if isinstance(s, Text)}
    rows = list(csv.DictReader(io.StringIO(shares_csv(report(before, after), Policy()))))
    targets = {(r["cycle"], r["key"]): r["policy_share"] for r in rows if r["key"] in ("customer", "sales")}
    assert targets == {("2026-W46", "customer"): "0.5", ("2026-W46", "sales"): "0.2",
                       ("2026-W47", "customer"): "0.3", ("2026-W47", "sales"): "0.4"}


def test_an_empty_report_draws_its_axes_and_says_there_is_nothing_yet() -> None:
    chart = shares_chart(report(), COLOURS)
    svg = to_svg(chart)
    assert "No work committed in these cycles yet." in svg and "<title>" in svg
    assert to_png(chart, scale=1).startswith(b"\x89PNG")


def test_a_sliver_of_a_share_still_draws_as_png() -> None:
    # Found by the schema fuzzer: a bar segment under a pixel high made Pillow refuse the whole chart.
    thin = cycle("2026-W47", {"customer": 8})
    thin["lanes"]["sales"] = {"points": 1, "share": 0.0001}
    chart = shares_chart(report(thin), COLOURS)
    assert any(isinstance(s, Rect) and 0 < s.h < 0.5 for s in chart.shapes)
    assert to_png(chart, scale=2).startswith(b"\x89PNG")


def test_titles_in_the_chart_are_escaped() -> None:
    data = report(cycle("2026-W47", {"customer": 4}))
    data["cycles"][0]["cycle"] = "<script>"
    assert "<script>" not in to_svg(shares_chart(data, COLOURS))


def test_the_csv_lists_every_lane_of_the_policy_in_every_cycle_with_its_reserve_or_cap() -> None:
    text = shares_csv(report(cycle("2026-W46", {"sales": 4}, {"O1": 4}), cycle("2026-W47", {"customer": 8})),
                      Policy())
    rows = list(csv.DictReader(io.StringIO(text)))
    lanes = [(r["cycle"], r["key"], r["points"]) for r in rows if r["dimension"] == "lane"]
    assert len(lanes) == 10 and ("2026-W46", "customer", "0") in lanes and ("2026-W47", "customer", "8") in lanes
    [okr] = [r for r in rows if r["dimension"] == "objective"]
    assert (okr["key"], okr["points"], okr["share"], okr["policy_share"]) == ("O1", "4", "0.2", "")
    legal = next(r for r in rows if r["key"] == "legal")
    assert (legal["policy_share"], legal["policy_kind"]) == ("0.1", "cap")


def test_the_csv_names_objectives_in_a_last_column_and_keeps_the_others_in_place() -> None:
    named = cycle("2026-W46", {"sales": 4}, {"O1": 4, "none": 2})
    named["objectives"]["O1"]["title"] = "Launch Atlas 3.0"
    rows = list(csv.reader(io.StringIO(shares_csv(report(named), Policy()))))
    assert rows[0] == ["cycle", "cycle_start", "capacity_points", "dimension", "key", "points", "share",
                       "policy_share", "policy_kind", "title"] == list(CSV_COLUMNS)
    assert {r[4]: r[-1] for r in rows[1:] if r[3] == "objective"} == {"O1": "Launch Atlas 3.0", "none": ""}
    assert all(r[-1] == "" and len(r) == len(CSV_COLUMNS) for r in rows[1:] if r[3] == "lane")


def test_committed_cards_count_in_points_never_against_the_wip_limits() -> None:
    cards = [card(f"c{i}", "customer", 2, state="committed", minutes=i) for i in range(8)]
    columns = {c["name"]: c for c in snapshot_of(*cards, card("s", "sales", 1, state="in_progress"))["columns"]}
    assert columns["committed"]["count"] == 8 and columns["committed"]["wip"] is None
    assert (columns["in_progress"]["wip"]["count"], columns["in_progress"]["wip"]["over"]) == (1, False)


def posted_by(c: Card, tool: str) -> Card:
    return replace(c, submitted_by=tool)


def test_a_requester_tool_sees_its_own_cards_and_counts_the_others() -> None:
    ledger = Ledger(policy=Policy())
    for c in (posted_by(card("mine", "sales", 3), "crm"), posted_by(card("mine-too", "sales", 3, minutes=1), "crm"),
              posted_by(card("theirs", "customer", 2, state="committed"), "form"), card("unknown", "legal", 1)):
        ledger.put(c)
    current = plan(ledger.items(), ledger.policy, TODAY)
    board = views.board(ledger, current, only="crm")
    assert {name: [c["request_id"] for c in cards] for name, cards in board["columns"].items() if cards} == {
        "committed": ["mine"], "backlog": ["mine-too"]}
    assert board["hidden"] == {"backlog": 0, "committed": 2, "in_progress": 0, "paused": 0, "done": 0}
    backlog = views.backlog(ledger, current, only="crm")
    assert (backlog["depth"], backlog["hidden"], len(backlog["items"])) == (1, 0, 1)
    everyone = views.board(ledger, current)
    assert sum(map(len, everyone["columns"].values())) == 4 and set(everyone["hidden"].values()) == {0}
    snapshot = snapshot_of(*ledger.cards.values())
    assert "Pat Lee" in str(snapshot)


def test_a_shares_report_range_out_of_bounds_is_refused_not_overflowed() -> None:
    ledger = Ledger(policy=Policy(cycle_days=28))
    for start, end in ((date(1, 1, 1), None), (None, date(9999, 12, 31)), (date(1999, 12, 31), TODAY),
                       (date(2026, 11, 1), date(2026, 1, 1)), (date(2000, 1, 1), date(2200, 12, 31))):
        with pytest.raises(shares.OutOfRange):
            shares.shares_report(ledger, start, end, {})
    assert shares.report_range(date(2000, 1, 1), date(2009, 6, 30), 7, TODAY)[0] == date(1999, 12, 27)

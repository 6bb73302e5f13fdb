"""The dashboard's pure parts: colours people can read, the snapshot's verdicts, the chart and the CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from capacity.charts import PALETTE, Line, Rect, Text, hex_of, ink, shares_chart, to_png, to_svg
from capacity.domain import Card, Ledger
from capacity.exports import shares_csv
from capacity.planning import Item, Policy, State, plan
from capacity.snapshot import dashboard

TODAY = date(2026, 11, 25)
T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)
COLOURS = {"customer": "blue", "sales": "orange", "business_unit": "green", "executive": "yellow", "legal": "grey"}


def card(request_id: str, lane: str, points: int, *, state: State = "open", minutes: int = 0) -> Card:
    item = Item(request_id=request_id, lane=lane, team=f"{lane} team", objective_id=None, objective_rank=None,
                score=0.0, points=points, submitted_at=T0 + timedelta(minutes=minutes), state=state,
                committed_cycle=date(2026, 11, 23) if state in ("committed", "in_progress") else None)
    return Card(item, request_id.title(), {"id": "u", "name": "Pat Lee", "email": "pat@example.com",
                                           "team": f"{lane} team", "type": lane}, COLOURS[lane])


def snapshot_of(*cards: Card, policy: Policy | None = None) -> dict[str, Any]:
    ledger = Ledger(policy=policy or Policy())
    for c in cards:
        ledger.put(c)
    history = {"from": "2026-09-01", "to": "2026-11-25", "customer_reserve": 0.5, "cycles": []}
    return dashboard(ledger, plan(ledger.items(), ledger.policy, TODAY), version=7, history=history,
                     generated_at=T0)


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


def test_the_chart_stacks_customer_work_at_the_foot_and_draws_the_reserve_dashed() -> None:
    chart = shares_chart(report(cycle("2026-W47", {"sales": 4, "customer": 8})), COLOURS)
    bars = [s for s in chart.shapes if isinstance(s, Rect) and s.w < 100 and s.h > 30]
    customer, sales = bars[0], bars[1]
    assert (customer.fill, sales.fill) == (PALETTE["blue"], PALETTE["orange"])
    assert customer.y > sales.y  # lower on the page: at the foot of the bar
    assert any(isinstance(s, Line) and s.dashed for s in chart.shapes)
    assert {"40%", "20%", "customer reserve 50%", "W47"} <= {s.text for s in chart.shapes if isinstance(s, Text)}


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

"""Lanes and sizes are said once, in shared/lanes.py: a lane added there is drawn, planned and listed
everywhere, or one of these fails."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import pytest

from capacity.dashboard.charts import PALETTE, Rect, Text, hex_of, shares_chart
from capacity.dashboard.exports import shares_csv
from capacity.dashboard.snapshot import dashboard
from capacity.domain import Ledger
from capacity.planning import CUSTOMER, INTERNAL_LANES, Policy, plan
from classifier.config import ClassifierSettings
from shared.lanes import LANE_COLOURS, LANES, SIZES, every_lane

EMPTY_REPORT = {"from": "2026-11-23", "to": "2026-11-25", "customer_reserve": 0.5, "policy_versions": [1],
                "cycles": [{"cycle": "2026-W48", "cycle_start": "2026-11-23", "capacity_points": 20,
                            "lanes": {}, "objectives": {}}]}


def _page_files() -> list[Any]:
    folders = [resources.files("capacity").joinpath("static"), resources.files("capacity.dashboard").joinpath("static")]
    return [entry for folder in folders for entry in folder.iterdir() if entry.name.endswith((".js", ".html"))]


def test_every_lane_has_a_colour_the_palette_draws_and_no_two_lanes_share_a_shade() -> None:
    assert set(LANE_COLOURS) == set(LANES)
    assert {lane: colour for lane, colour in LANE_COLOURS.items() if colour.lower() not in PALETTE} == {}
    shades = [hex_of(colour) for colour in LANE_COLOURS.values()]
    assert len(set(shades)) == len(shades)


def test_the_classifier_stamps_the_shared_lane_colours_unless_configured_otherwise() -> None:
    # The field's own default, not the environment's: CLASSIFIER_LANE_COLOURS may be set where tests run.
    default = ClassifierSettings.model_fields["lane_colours"].get_default(call_default_factory=True)
    assert default == dict(LANE_COLOURS)


def test_the_planners_default_policy_limits_every_lane_and_weighs_every_size() -> None:
    policy = Policy()
    assert set(policy.wip_limits) == set(LANES)
    assert (CUSTOMER, *INTERNAL_LANES) == LANES
    assert set(policy.lane_caps) == set(INTERNAL_LANES)
    assert set(policy.size_points) == set(SIZES)
    assert [policy.size_points[size] for size in SIZES] == sorted(policy.size_points.values())


def test_the_dashboard_lists_every_lane_in_order_with_its_shade_before_any_card_exists() -> None:
    ledger = Ledger(policy=Policy())
    found = dashboard(ledger, plan(ledger.items(), ledger.policy, date(2026, 11, 25)), version=0,
                      history=EMPTY_REPORT, generated_at=datetime(2026, 11, 25, tzinfo=UTC))
    assert [(row["lane"], row["hex"]) for row in found["lanes"]] == [
        (lane, hex_of(LANE_COLOURS[lane])) for lane in LANES]
    assert [row["lane"] for row in found["shares"]["lanes"]] == list(LANES)
    in_progress = next(column for column in found["columns"] if column["name"] == "in_progress")
    assert [row["lane"] for row in in_progress["wip"]["lanes"]] == list(LANES)


def test_the_chart_legend_and_the_csv_name_every_lane_in_order() -> None:
    legend = [shape.text for shape in shares_chart(EMPTY_REPORT, LANE_COLOURS).shapes
              if isinstance(shape, Text) and shape.size == 18][:-1]  # the last entry is the reserve's
    assert legend == [lane.replace("_", " ") for lane in LANES]
    swatches = [shape.fill for shape in shares_chart(EMPTY_REPORT, LANE_COLOURS).shapes
                if isinstance(shape, Rect) and (shape.w, shape.h) == (22, 22)]
    assert swatches == [hex_of(LANE_COLOURS[lane]) for lane in LANES]
    rows = shares_csv(EMPTY_REPORT, Policy()).splitlines()[1:]
    assert [row.split(",")[4] for row in rows] == list(LANES)


def test_a_lane_a_policy_names_beyond_the_shared_ones_comes_after_them_by_name() -> None:
    assert every_lane(["partners", "sales", "agency"]) == [*LANES, "agency", "partners"]


@pytest.mark.parametrize("lane", LANES)
def test_no_page_of_capacity_keeps_its_own_list_of_lanes(lane: str) -> None:
    # A lane named as a key or a quoted value in a script or page is a second list that drifts.
    named = re.compile(rf"""["'`]{lane}["'`]|[{{,]\s*{lane}\s*:""")
    assert [entry.name for entry in _page_files() if named.search(entry.read_text(encoding="utf-8"))] == []

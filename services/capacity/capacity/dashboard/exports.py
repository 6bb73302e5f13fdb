"""The shares report as a spreadsheet: one row per cycle and lane, and per cycle and objective."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from capacity.planning import CUSTOMER, Policy
from shared.lanes import every_lane

__all__ = ["CSV_COLUMNS", "shares_csv"]

# New columns go at the end, so spreadsheets that read the columns by position keep working.
CSV_COLUMNS = ("cycle", "cycle_start", "capacity_points", "dimension", "key", "points", "share",
               "policy_share", "policy_kind", "title")


def _as_text(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (OWASP's CSV injection advice)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def shares_csv(report: Mapping[str, Any], policy: Policy) -> str:
    """Every lane of the policy appears in every cycle (0 points when it had none), so the rows pivot
    cleanly; ``policy_share`` is the customer reserve or the lane's cap in force in that cycle, empty for
    objectives; ``title`` is the objective's, empty for lanes and for objectives whose title is not known."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    known = every_lane(policy.lane_caps)
    for row in report["cycles"]:
        capacity = row["capacity_points"]
        common = (row["cycle"], row["cycle_start"], capacity)
        lanes = [*known, *sorted(set(row["lanes"]) - set(known))]
        for lane in lanes:
            found = row["lanes"].get(lane, {"points": 0, "share": 0.0})
            target = (row.get("customer_reserve", report["customer_reserve"]) if lane == CUSTOMER
                      else row.get("lane_caps", policy.lane_caps).get(lane))
            writer.writerow((*common, "lane", lane, found["points"], found["share"],
                             "" if target is None else target, "reserve" if lane == CUSTOMER else "cap", ""))
        for objective, found in row["objectives"].items():
            writer.writerow((*common, "objective", _as_text(objective), found["points"], found["share"], "", "",
                             _as_text(found.get("title") or "")))
    return out.getvalue()

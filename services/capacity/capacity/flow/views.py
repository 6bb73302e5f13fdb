"""What the flow endpoints answer, built from the history, the board and the forecaster. A requester
tool (``only``) reads every figure, but the rows of its own requests alone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from capacity.domain import Ledger
from capacity.flow.calibration import calibration
from capacity.flow.forecast import by_horizon, lane_model
from capacity.flow.frame import Frame
from capacity.flow.history import History, day_of, to_datetime
from capacity.flow.metrics import MIN_HISTORY, Window, ages, cfd, flow
from capacity.flow.outlook import lane_queues, share_cap
from capacity.flow.service import FlowService
from capacity.planning import Plan
from shared.events import LANES

__all__ = ["calibration_view", "end_of_quarter", "flow_view", "horizon_view", "passages_csv"]


def _shown(ledger: Ledger, history: History, only: str | None) -> set[str] | None:
    if only is None:
        return None
    return {rid for rid in history.passages if rid in ledger.cards and ledger.cards[rid].submitted_by == only}


def flow_view(flow_service: FlowService, history: History, frame: Frame, ledger: Ledger, *, lane: str | None,
              days: int, only: str | None) -> dict[str, Any]:
    now = flow_service.now()
    window = Window(now, flow_service.settings.window_days, ledger.policy.cycle_days)
    sle = flow_service.sle(history)
    found = flow(frame, window, sle)
    if lane is not None:
        found["lanes"] = [row for row in found["lanes"] if row["lane"] == lane]
    progress = ages(frame, window, sle, _shown(ledger, history, only))
    found["work_in_progress"] = [row for row in progress if lane is None or row["lane"] == lane]
    found["cfd"] = cfd(frame, now - days + 1, now, lane)
    return found


def passages_csv(history: History, ledger: Ledger, only: str | None) -> str:
    """Every passage, one row each: its lane, times, and cycle and lead time in days."""
    shown = _shown(ledger, history, only)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["request_id", "lane", "points", "submitted_at", "committed_at", "started_at", "done_at",
                     "cycle_time_days", "lead_time_days", "withdrawn", "imported"])

    def when(day: float | None) -> str:
        return "" if day is None else to_datetime(day).isoformat()

    for rid, p in sorted(history.passages.items(), key=lambda kv: (kv[1].submitted, kv[0])):
        if shown is not None and rid not in shown:
            continue
        cycle = "" if p.done is None or p.started is None else f"{p.done - p.started:.2f}"
        lead = "" if p.done is None else f"{p.done - p.submitted:.2f}"
        writer.writerow([rid, p.lane, p.points, when(p.submitted), when(p.committed), when(p.started), when(p.done),
                         cycle, lead, p.withdrawn, p.imported])
    return out.getvalue()


def end_of_quarter(day: date) -> date:
    last_month = (day.month - 1) // 3 * 3 + 3
    following = date(day.year + 1, 1, 1) if last_month == 12 else date(day.year, last_month + 1, 1)
    return following - timedelta(days=1)


def horizon_view(flow_service: FlowService, history: History, ledger: Ledger, plan: Plan, *, lane: str | None,
                 horizon: date) -> dict[str, Any]:
    """Per lane: of its waiting work, how many start and finish by the end of ``horizon``."""
    now = flow_service.now()
    until = day_of(datetime.combine(horizon, time(), UTC)) + 1  # the end of that day
    queues = lane_queues(ledger, plan, history)
    rows = []
    for name in [lane] if lane else list(LANES):
        waiting, going = queues.get(name, ([], []))
        model = lane_model(history, name, now, ledger.policy.cycle_days, flow_service.settings.history_cycles,
                           share_cap(ledger, name, waiting))
        row: dict[str, Any] = {"lane": name, "backlog": len(waiting), "in_progress": len(going),
                               "history_items": model.finished}
        if model.finished < MIN_HISTORY:
            row.update(method="points", started_by=None, done_by=None, backlog_started_by=None,
                       note=f"fewer than {MIN_HISTORY} finished items in this lane: no range yet")
        else:
            counts = by_horizon(model, until, trials=flow_service.settings.trials)
            labels = ("p50", "p85", "p95")
            row.update(method="monte_carlo",
                       started_by=dict(zip(labels, map(int, counts["started"]), strict=True)),
                       done_by=dict(zip(labels, map(int, counts["done"]), strict=True)),
                       backlog_started_by=dict(zip(labels, (min(int(c), len(waiting)) for c in counts["started"]),
                                                   strict=True)))
        rows.append(row)
    return {"horizon": horizon.isoformat(), "meaning": "with probability p, at least this many", "lanes": rows}


def calibration_view(flow_service: FlowService, history: History, frame: Frame, cycle_days: int) -> dict[str, Any]:
    s = flow_service.settings
    return calibration(frame, history, now=flow_service.now(), cycle_days=cycle_days,
                       history_cycles=s.history_cycles, cycles=s.calibration_cycles, trials=s.calibration_trials)

"""Intake rules: request identity, and a request's status from its lifecycle events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.envelope import derived_id

__all__ = ["STATUS_AFTER", "TERMINAL", "TimelineEntry", "can_withdraw", "current_status",
           "request_id_for", "summarize"]

# The status a request is in after each lifecycle event; other events are timeline-only.
STATUS_AFTER: dict[str, str] = {
    "request.submitted": "submitted",
    "request.classified": "classified",
    "request.backlogged": "backlogged",
    "request.scheduled": "committed",
    "request.started": "in_progress",
    "request.paused": "paused",
    "request.done": "done",
    "request.withdrawn": "withdrawn",
}
TERMINAL = frozenset({"done", "withdrawn"})
_PIPELINE_ORDER = {t: i for i, t in enumerate(STATUS_AFTER)}


@dataclass(frozen=True)
class TimelineEntry:
    event_id: str
    type: str
    time: datetime
    summary: str
    changes_status: bool = True  # False for a re-classification: the request keeps its place

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "type": self.type, "time": self.time.isoformat(),
                "summary": self.summary, "changes_status": self.changes_status}

    @classmethod
    def of(cls, event_id: str, event_type: str, time: datetime, data: dict[str, Any]) -> TimelineEntry:
        return cls(event_id, event_type, time, summarize(event_type, data), not data.get("reclassified", False))


def request_id_for(caller: str, idempotency_key: str | None, fresh: str) -> str:
    """With an Idempotency-Key the id is derived from it, so a retried publish dedupes downstream."""
    return derived_id("request", caller, idempotency_key) if idempotency_key else fresh


def current_status(timeline: Iterable[TimelineEntry]) -> str:
    """The one current status: the first terminal event wins, else the latest status-changing event."""
    changes = sorted((e for e in timeline if e.type in STATUS_AFTER and e.changes_status),
                     key=lambda e: (e.time, _PIPELINE_ORDER[e.type]))
    statuses = [STATUS_AFTER[e.type] for e in changes]
    terminal = [s for s in statuses if s in TERMINAL]
    if terminal:
        return terminal[0]
    return statuses[-1] if statuses else "submitted"


def can_withdraw(status: str) -> bool:
    return status not in TERMINAL


def summarize(event_type: str, data: dict[str, Any]) -> str:
    """One line a requester can read in the timeline."""
    match event_type:
        case "request.submitted":
            return "Received through intake."
        case "request.classified" if data.get("reclassified"):
            was = data.get("previous_objective_id") or "no objective"
            now = data.get("objective_id") or "no published objective"
            return f"Measured again against new objectives: now {now} (was {was})."
        case "request.classified":
            objective = data.get("objective_id")
            lane = data.get("lane", "?")
            return (f"Ladders up to objective {objective}; lane {lane}." if objective
                    else f"Ladders up to no published objective; lane {lane}.")
        case "request.backlogged":
            return (f"Not right now: position {data.get('position')} in the backlog, "
                    f"expected to start in {data.get('expected_start_cycle')}.")
        case "request.scheduled":
            return f"Committed to cycle {data.get('cycle')}."
        case "request.started":
            return "Work started."
        case "request.paused":
            return "Work paused."
        case "request.done":
            return "Done."
        case "request.withdrawn":
            return "Withdrawn."
        case "request.tradeoff_required":
            return "Expedite asked for: a trade-off decision is needed."
        case "request.tradeoff_decided":
            return f"Trade-off decided by {data.get('decided_by')}: {data.get('decision')}."
        case "request.conflict_detected":
            return "Collides with other large work in the same cycle."
        case "request.bypass_refused":
            return "An attempt to start it outside the backlog was refused."
        case "notification.sent" if data.get("status") == "not_sent":
            return f"Not told {data.get('recipient')} by {data.get('channel')}: {data.get('detail')}"
        case "notification.sent":
            return f"Told {data.get('recipient')} by {data.get('channel')}."
        case _:
            return event_type

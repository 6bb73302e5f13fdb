"""Intake rules: request identity, a request's status from its lifecycle events, and its timeline."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.envelope import CloudEvent, derived_id, parse_event
from shared.events import (
    BypassRefused,
    ConflictDetected,
    EventData,
    ForecastSlipped,
    NotificationSent,
    RequestBacklogged,
    RequestClassified,
    RequestDone,
    RequestMerged,
    RequestPaused,
    RequestScheduled,
    RequestStarted,
    RequestSubmitted,
    RequestWithdrawn,
    SleAtRisk,
    TradeoffDecided,
    TradeoffRequired,
)
from shared.lifecycle import STATUS_AFTER, Status, can_withdraw, fold_status

__all__ = ["TimelineEntry", "can_withdraw", "current_status", "redacted", "request_id_for", "summarize"]

_PIPELINE_ORDER = {t: i for i, t in enumerate(STATUS_AFTER)}


@dataclass(frozen=True)
class TimelineEntry:
    """One event on a request's timeline: a line to read, and the event's data to act on."""

    event_id: str
    type: str
    time: datetime
    summary: str
    changes_status: bool = True  # False for a re-classification: the request keeps its place
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "type": self.type, "time": self.time.isoformat(),
                "summary": self.summary, "changes_status": self.changes_status, "data": self.data}

    @classmethod
    def of(cls, event_id: str, time: datetime, told: EventData, data: dict[str, Any]) -> TimelineEntry:
        """The entry of event ``told``; ``data`` is its data as on Kafka, which the timeline shows."""
        reclassified = isinstance(told, RequestClassified) and told.reclassified
        return cls(event_id, told.event_type, time, summarize(told), not reclassified, data)

    @classmethod
    def of_event(cls, event: CloudEvent) -> TimelineEntry:
        """The entry of a consumed event, its data read as its type's model (a misfit raises)."""
        return cls.of(event.id, event.time, parse_event(event), event.data)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TimelineEntry:
        return cls(raw["event_id"], raw["type"], datetime.fromisoformat(raw["time"]), raw["summary"],
                   raw.get("changes_status", True), raw.get("data", {}))


def request_id_for(caller: str, idempotency_key: str | None, fresh: str) -> str:
    """With an Idempotency-Key the id is derived from it, so a retried publish dedupes downstream."""
    return derived_id("request", caller, idempotency_key) if idempotency_key else fresh


def current_status(timeline: Iterable[TimelineEntry]) -> Status:
    """The one current status: the shared state machine run over the events in the order they happened."""
    changes = sorted((e for e in timeline if e.type in STATUS_AFTER and e.changes_status),
                     key=lambda e: (e.time, _PIPELINE_ORDER[e.type]))
    return fold_status(e.type for e in changes)


_PEOPLE = {"heat_shield": "the heat-shield manager", "ops": "marketing ops", "stakeholders": "a stakeholder"}


def listed_requests(entry: dict[str, Any]) -> set[str]:
    """The requests a timeline entry lists besides its own (a collision's, a trade-off's committed work, the
    classification's similar requests)."""
    data = entry.get("data") or {}
    listed = {item["request_id"] for listed in ("requests", "committed", "similar") for item in data.get(listed) or []}
    if data.get("paused_request_id"):  # a trade-off decision names the card it paused
        listed.add(data["paused_request_id"])
    return listed


# A pause for a trade-off named the urgent request in its reason before capacity stopped doing so; such
# events stay on the log and come back in a rebuild.
_NAMED_URGENT = re.compile(r'to make room for ".*?" \((?=trade-off [^ ,]+, policy version )', re.DOTALL)


def names_others(entry: dict[str, Any], own: set[str]) -> bool:
    """Whether a timeline entry names a request the reader's tool did not post (``own``), or someone to
    contact: a notice it caused is then told, not shown, to that tool (``redacted``'s ``untold``)."""
    data = entry.get("data") or {}
    if entry.get("type") == "request.merged":
        return not {data.get("request_id"), data.get("into")} <= own
    return (bool(listed_requests(entry) - own) or bool(data.get("addressed_to"))
            or bool(_NAMED_URGENT.search(str(data.get("reason") or ""))))


def redacted(entry: dict[str, Any], own: set[str], reader: Callable[[str], bool] | None = None,
             untold: Collection[str] = ()) -> dict[str, Any]:
    """A timeline entry as a requester tool may read it: of the other requests it lists, only those its tool
    posted (``own``) are shown, the rest counted, as on capacity's views; nobody's contact details appear.

    A collision names every stakeholder, a trade-off the heat-shield manager, and notices go to ops and
    the heat shield too: a requester tool learns how many others are involved and that they were told.
    ``reader`` says which requester addresses are the reader's own; notices to others are told, not shown,
    and so are the reader's own notices about the events in ``untold`` (``names_others``): their text names
    what the event's data hides, such as the work a trade-off weighs or the request a merge joined.
    """
    data = dict(entry.get("data") or {})
    summary = entry.get("summary", "")
    teams = set()
    for listed in ("requests", "committed", "similar"):  # similar: the classifier's similar open requests
        if listed in data:
            mine = [item for item in data[listed] if item["request_id"] in own]
            teams |= {item["requester"]["team"] for item in mine if item.get("requester")}
            data[listed] = [{k: v for k, v in item.items() if k != "requester"} for item in mine]
            data[f"hidden_{listed}"] = len(entry["data"][listed]) - len(mine)
    if "stakeholders" in data:
        data["stakeholders"] = [{"team": s.get("team"), "type": s.get("type")} for s in data["stakeholders"]
                                if s.get("team") in teams]
        data.pop("observation", None)  # it names every team involved
    if "addressed_to" in data:
        data["addressed_to"] = []
    if data.get("paused_request_id") not in (None, *own):
        data["paused_request_id"] = None
    if entry.get("type") == "request.paused" and data.get("reason"):
        data["reason"] = _NAMED_URGENT.sub("to make room for urgent work (", data["reason"])
    audience = data.get("audience")
    # A request's requester notices also go to those who joined it by a merge: each reader sees only its own.
    someone_else = audience == "requester" and reader is not None and not reader(str(data.get("recipient")))
    if entry.get("type") == "notification.sent" and (audience not in (None, "requester") or someone_else):
        who = "another requester who follows it" if someone_else else _PEOPLE.get(str(audience), "someone else")
        data = {k: v for k, v in data.items() if k not in ("recipient", "text", "email_subject", "detail")}
        data["recipient"] = who
        summary = f"Told {who}." if data.get("status") == "sent" else f"Not told {who}."
    elif entry.get("type") == "notification.sent" and data.get("about_event_id") in untold:
        data = {k: v for k, v in data.items() if k not in ("text", "email_subject", "detail")}
        summary = (f"{'Told' if data.get('status') == 'sent' else 'Not told'} its requester; the notice names "
                   "work or people this tool does not see, so its text is not shown here.")
    return {**entry, "summary": summary, "data": data}


def summarize(told: EventData) -> str:
    """One line a requester can read in the timeline."""
    match told:
        case RequestSubmitted():
            return "Received through intake."
        case RequestClassified(reclassified=True):
            was = told.previous_objective_id or "no objective"
            now = told.objective_id or "no published objective"
            return f"Measured again against new objectives: now {now} (was {was})."
        case RequestClassified():
            return (f"Ladders up to objective {told.objective_id}; lane {told.lane}." if told.objective_id
                    else f"Ladders up to no published objective; lane {told.lane}.")
        case RequestBacklogged(paused=True):
            return (f"Paused: back at position {told.position} in the backlog, "
                    f"expected to resume in {told.expected_start_cycle}.")
        case RequestBacklogged(beyond_horizon=True):
            return (f"Not right now: position {told.position} in the backlog, with no place yet in the weeks "
                    f"planned; not before {told.expected_start_cycle}.")
        case RequestBacklogged():
            return (f"Not right now: position {told.position} in the backlog, "
                    f"expected to start in {told.expected_start_cycle}.")
        case RequestScheduled():
            return f"Committed to cycle {told.cycle}."
        case RequestStarted():
            return "Work started."
        case RequestPaused():
            return "Work paused."
        case RequestDone():
            return "Done."
        case RequestWithdrawn():
            return "Withdrawn."
        case RequestMerged():
            return f"Merged into request {told.into} (\"{told.into_title}\"); its requester hears that one's news."
        case TradeoffRequired():
            return "Expedite asked for: a trade-off decision is needed."
        case TradeoffDecided():
            return f"Trade-off decided by {told.decided_by}: {told.decision}."
        case ConflictDetected():
            return "Collides with other large work in the same cycle."
        case ForecastSlipped():
            return (f"Expected start moved out: 85% likely by {told.start_forecast.p85.isoformat()} "
                    f"(was {told.previous_p85.isoformat()}).")
        case SleAtRisk():
            return (f"In progress {told.age_days:.0f} days, longer than {told.sle_percentile}% of its lane's work "
                    f"takes ({told.sle_days:.0f} days).")
        case BypassRefused():
            return "An attempt to start it outside the backlog was refused."
        case NotificationSent(status="not_sent"):
            return f"Not told {told.recipient} by {told.channel}: {told.detail}"
        case NotificationSent():
            return f"Told {told.recipient} by {told.channel}."
        case _:
            return told.event_type

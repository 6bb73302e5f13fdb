"""Every event of the public interface (the envelope that carries them is ``shared.envelope``).

Events are frozen, past-tense models. They change only by adding optional fields
or by a new ``type`` version. The same JSON travels on Kafka and in webhooks.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LANES",
    "BypassRefused",
    "CapacityAlert",
    "ClaimVerdict",
    "CommittedItem",
    "ConflictDetected",
    "EventData",
    "Lane",
    "NotificationSent",
    "OkrObjective",
    "OkrsPublished",
    "PolicyUpdated",
    "RequestBacklogged",
    "RequestClassified",
    "RequestDetails",
    "RequestDone",
    "RequestPaused",
    "RequestScheduled",
    "RequestStarted",
    "RequestSubmitted",
    "RequestWithdrawn",
    "Requester",
    "TradeoffDecided",
    "TradeoffRequired",
    "EVENT_TYPES",
    "lane_words",
]

Lane = Literal["customer", "sales", "business_unit", "executive", "legal"]
LANES: tuple[Lane, ...] = ("customer", "sales", "business_unit", "executive", "legal")


def lane_words(lane: str) -> str:
    """A lane as people say it: ``business_unit`` is "business-unit"."""
    return lane.replace("_", "-")
WorkType = Literal[
    "landing_page", "email", "microsite", "creative", "ad", "social_post",
    "deck", "report", "event_support", "review", "other",
]
Size = Literal["XS", "S", "M", "L", "XL"]
ClaimVerdict = Literal["confirmed", "contradicted", "unknown_objective", "not_claimed"]

class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Requester(_Frozen):
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    team: str = Field(min_length=1, max_length=200)
    type: Lane


class RequestDetails(_Frozen):
    """What a requester asked for, as submitted through the one door."""

    title: str = Field(min_length=3, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    work_type: WorkType
    requester: Requester
    okr_claim: str | None = Field(default=None, max_length=50)
    customer_outcome: str | None = Field(default=None, max_length=2_000)
    due_date: date | None = None
    effort: int | None = Field(default=None, ge=1, le=100)
    size: Size | None = None
    expedite: bool = False
    justification: str | None = Field(default=None, max_length=2_000)


class EventData(_Frozen):
    """Base of every event payload; ``event_type`` is the CloudEvents ``type``."""

    event_type: ClassVar[str]

    def subject(self) -> str:
        """The CloudEvents subject, which is also the Kafka record key."""
        raise NotImplementedError


class _RequestEvent(EventData):
    """An event about one request: its subject and record key are the request id."""

    request_id: str

    def subject(self) -> str:
        return self.request_id


class RequestSubmitted(_RequestEvent):
    event_type: ClassVar[str] = "request.submitted"
    request: RequestDetails
    submitted_at: datetime
    submitted_by: str


class RequestWithdrawn(_RequestEvent):
    event_type: ClassVar[str] = "request.withdrawn"
    reason: str | None = None
    withdrawn_by: str


class RequestClassified(_RequestEvent):
    event_type: ClassVar[str] = "request.classified"
    request: RequestDetails
    submitted_at: datetime
    lane: Lane
    colour: str
    objective_id: str | None
    objective_rank: int | None = None
    score: float = 0.0
    runner_up_id: str | None = None
    runner_up_score: float | None = None
    claim: ClaimVerdict = "not_claimed"
    rationale: str
    matched_terms: list[str] = Field(default_factory=list)
    okr_quarter: str | None = None
    okr_version: int | None = None
    # Set when a new OKR set became current and the objective changed.
    reclassified: bool = False
    previous_objective_id: str | None = None
    no_longer_aligned: bool = False
    # The tool whose key posted the request (``RequestSubmitted.submitted_by``), so views can keep
    # a requester tool to its own cards. None on events from before the field existed.
    submitted_by: str | None = None


class _CardEvent(_RequestEvent):
    title: str
    requester: Requester
    lane: Lane


class RequestScheduled(_CardEvent):
    event_type: ClassVar[str] = "request.scheduled"
    cycle: str
    cycle_start: date
    points: int
    objective_id: str | None = None
    # Set when a trade-off decision committed it, possibly beyond its lane's cap.
    tradeoff_id: str | None = None


class RequestBacklogged(_CardEvent):
    event_type: ClassVar[str] = "request.backlogged"
    objective_id: str | None
    position: int = Field(ge=1)
    expected_start_cycle: str
    expected_start: date
    points: int
    reason: str
    # The card is paused: it waits at the head of the backlog and its status stays ``paused``.
    paused: bool = False


class CommittedItem(_Frozen):
    request_id: str
    title: str
    lane: Lane
    points: int
    # Who asked for it (set in collisions, so each stakeholder reads who needs what).
    requester: Requester | None = None


class TradeoffRequired(_CardEvent):
    event_type: ClassVar[str] = "request.tradeoff_required"
    tradeoff_id: str
    cycle: str
    committed: list[CommittedItem]
    addressed_to: list[str]
    question: str


class ConflictDetected(_RequestEvent):
    event_type: ClassVar[str] = "request.conflict_detected"
    conflict_id: str
    cycle: str
    requests: list[CommittedItem]
    stakeholders: list[Requester]
    observation: str


class RequestStarted(_CardEvent):
    event_type: ClassVar[str] = "request.started"
    by: str


class RequestPaused(_CardEvent):
    event_type: ClassVar[str] = "request.paused"
    by: str
    reason: str | None = None
    tradeoff_id: str | None = None
    resume_from: date | None = None  # start of the cycle it may be committed again


class TradeoffDecided(_RequestEvent):
    """The answer to a trade-off question; ``request_id`` is the expedited request."""

    event_type: ClassVar[str] = "request.tradeoff_decided"
    tradeoff_id: str
    decision: Literal["pause", "defer"]
    paused_request_id: str | None = None
    decided_by: str
    policy_version: int


class RequestDone(_CardEvent):
    event_type: ClassVar[str] = "request.done"
    by: str


class BypassRefused(_RequestEvent):
    event_type: ClassVar[str] = "request.bypass_refused"
    attempted_by: str
    action: str
    reason: str


class CapacityAlert(EventData):
    event_type: ClassVar[str] = "capacity.alert"
    alert_id: str
    cycle: str
    kind: str
    observation: str
    shares: dict[str, float]
    lane: str | None = None

    def subject(self) -> str:
        return self.alert_id


class OkrObjective(_Frozen):
    id: str = Field(min_length=1, max_length=50)
    rank: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=5_000)
    key_results: list[str] = Field(min_length=1, max_length=10)
    keywords: list[str] = Field(default_factory=list, max_length=50)


class OkrsPublished(EventData):
    event_type: ClassVar[str] = "okrs.published"
    quarter: str
    version: int
    objectives: list[OkrObjective]
    approved_by: str
    approved_at: datetime
    # The tool whose key published the set (its envelope's ``time`` is when). None on events from before
    # the field existed.
    published_by: str | None = None

    def subject(self) -> str:
        return self.quarter


class PolicyUpdated(EventData):
    event_type: ClassVar[str] = "policy.updated"
    version: int
    policy: dict[str, Any]
    updated_by: str

    def subject(self) -> str:
        return f"policy-{self.version}"


class NotificationSent(EventData):
    event_type: ClassVar[str] = "notification.sent"
    notification_id: str
    request_id: str | None
    about_event_id: str
    about_event_type: str
    recipient: str
    channel: str
    text: str
    sent_at: datetime
    # "not_sent" when the channel is not configured (no SMTP server): what would have been said.
    status: Literal["sent", "not_sent"] = "sent"
    detail: str | None = None
    audience: str | None = None
    email_subject: str | None = None

    def subject(self) -> str:
        return self.request_id or self.notification_id


EVENT_TYPES: dict[str, type[EventData]] = {
    cls.event_type: cls
    for cls in (
        RequestSubmitted, RequestWithdrawn, RequestClassified, RequestScheduled,
        RequestBacklogged, TradeoffRequired, ConflictDetected, RequestStarted,
        RequestPaused, TradeoffDecided, RequestDone, BypassRefused, CapacityAlert, OkrsPublished,
        PolicyUpdated, NotificationSent,
    )
}

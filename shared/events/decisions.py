"""Capacity's decisions about a request's place in the plan, and its alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import EventData, Lane, Requester, _Frozen, _RequestEvent

__all__ = ["BypassRefused", "CapacityAlert", "CommittedItem", "ConflictDetected", "ForecastSlipped",
           "RequestBacklogged",
           "RequestDone", "RequestPaused", "RequestScheduled", "RequestStarted", "SleAtRisk", "StartForecast",
           "TradeoffDecided", "TradeoffRequired"]


class StartForecast(_Frozen):
    """When a request is expected to start: the most likely date and the 85% and 95% dates.

    ``monte_carlo`` samples the lane's own throughput history; ``points`` is the planner's
    points-based estimate, used while the lane has too little history.
    """

    likely: date
    p85: date
    p95: date
    method: Literal["monte_carlo", "points"]
    history_items: int = 0


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
    # Its title, as the request's classification named it; None on events from before the field existed.
    objective_title: str | None = None
    # Set when a trade-off decision committed it, possibly beyond its lane's cap.
    tradeoff_id: str | None = None


class RequestBacklogged(_CardEvent):
    event_type: ClassVar[str] = "request.backlogged"
    objective_id: str | None
    # Its title, as the request's classification named it; None on events from before the field existed.
    objective_title: str | None = None
    position: int = Field(ge=1)
    expected_start_cycle: str
    expected_start: date
    points: int
    reason: str
    # The card is paused: it waits at the head of the backlog and its status stays ``paused``.
    paused: bool = False
    # The start as a range (issue: flow metrics and forecasts); None on events from before it existed.
    start_forecast: StartForecast | None = None
    # No room for it within the plan's horizon: ``expected_start`` is the first cycle after the horizon, the
    # soonest it could start; it is told again once it gets a place, not each cycle as the horizon moves on.
    beyond_horizon: bool = False


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
    # What the decider wrote with it (the trade-offs page asks for one); None when nothing was written.
    note: str | None = Field(default=None, max_length=1_000)
    # The urgent request's title and requester, who asked the question too and is told a deferral.
    # None on decisions from before they carried them.
    title: str | None = None
    requester: Requester | None = None


class RequestDone(_CardEvent):
    event_type: ClassVar[str] = "request.done"
    by: str


class ForecastSlipped(_CardEvent):
    """A backlogged or committed request's 85% start date moved out by more than a cycle."""

    event_type: ClassVar[str] = "request.forecast_slipped"
    previous_p85: date
    start_forecast: StartForecast


class SleAtRisk(_CardEvent):
    """Work in progress has aged past its lane's service level expectation."""

    event_type: ClassVar[str] = "request.sle_at_risk"
    started_at: datetime
    age_days: float
    sle_days: float
    sle_percentile: int = 85


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

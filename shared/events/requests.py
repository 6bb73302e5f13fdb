"""Events about a request as it is asked, withdrawn, merged and classified."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import ClaimVerdict, Lane, RequestDetails, Requester, _Frozen, _RequestEvent

__all__ = ["RequestClassified", "RequestMerged", "RequestSubmitted", "RequestWithdrawn", "SimilarRequest"]


class RequestSubmitted(_RequestEvent):
    event_type: ClassVar[str] = "request.submitted"
    request: RequestDetails
    submitted_at: datetime
    submitted_by: str


class RequestWithdrawn(_RequestEvent):
    event_type: ClassVar[str] = "request.withdrawn"
    reason: str | None = None
    withdrawn_by: str


class RequestMerged(_RequestEvent):
    """``request_id`` closes as ``merged``; its requester joins the audience of ``into``, the surviving request."""

    event_type: ClassVar[str] = "request.merged"
    into: str
    merged_by: str
    reason: str | None = None
    # The merged request as it was asked, so every consumer can name it and its requester.
    title: str
    requester: Requester
    into_title: str
    into_requester: Requester


class SimilarRequest(_Frozen):
    """An open request that looks like the same or overlapping work, from the similarity detector."""

    request_id: str
    score: float = Field(ge=0.0, le=1.0)
    kind: Literal["duplicate", "overlap"]
    shared_terms: list[str] = Field(default_factory=list)
    title: str
    team: str
    lane: Lane
    submitted_at: datetime


class RequestClassified(_RequestEvent):
    event_type: ClassVar[str] = "request.classified"
    request: RequestDetails
    submitted_at: datetime
    lane: Lane
    colour: str
    objective_id: str | None
    # The objective's title in the OKR set it was classified under, so no consumer keeps the sets to name
    # it. None when it ladders up to none, and on events from before the field existed.
    objective_title: str | None = None
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
    # Open requests from other stakeholders that look like the same or overlapping work, best first.
    similar: list[SimilarRequest] = Field(default_factory=list, max_length=3)

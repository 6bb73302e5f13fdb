"""The building blocks every event shares: lanes, the requester, what was asked, the event base."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LANES", "ClaimVerdict", "EventData", "Lane", "RequestDetails", "Requester", "Size",
           "WorkType", "lane_words"]

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

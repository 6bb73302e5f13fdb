"""What intake's requests API accepts and answers: the bodies of its calls, checked before anything is done."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.days import FIRST_DAY, LAST_DAY
from shared.events import RequestDetails

__all__ = ["MergeBody", "RequestAccepted", "RequestCreate", "WithdrawBody"]


class RequestCreate(RequestDetails):
    """The body of ``POST /v1/requests``; unknown fields are refused."""

    justification: str | None = Field(default=None, max_length=2_000, validate_default=True)

    @field_validator("justification")
    @classmethod
    def _expedite_is_justified(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("expedite") and not (value and value.strip()):
            raise ValueError("an expedited request (expedite: true) needs a justification: why it cannot wait")
        return value

    @field_validator("due_date")
    @classmethod
    def _due_within_the_calendar(cls, value: date | None) -> date | None:
        # A client's "no date" sent as its calendar's first day (0001-01-01) is not a date to plan by; the
        # same range as the flow import's.
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise ValueError(f"a due date is between {FIRST_DAY} and {LAST_DAY}; leave it out if there is none")
        return value


class RequestAccepted(BaseModel):
    id: str
    status: Literal["submitted"]
    links: dict[str, str]


class WithdrawBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)


class MergeBody(BaseModel):
    """The body of ``POST /v1/requests/{id}/merge``: the request it goes into, and why."""

    model_config = ConfigDict(extra="forbid")
    into: str = Field(min_length=1, max_length=200, description="The surviving request's id.")
    reason: str | None = Field(default=None, max_length=2000)

"""What intake's requests API accepts and answers: the bodies of its calls, checked before anything is done."""

import re
import unicodedata
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.days import FIRST_DAY, LAST_DAY
from shared.events import RequestDetails, Requester

__all__ = ["MergeBody", "RequestAccepted", "RequestCreate", "WithdrawBody"]


# An address a mail can go to as one recipient: none of the characters that separate, quote or comment
# addresses in a header (a comma would read as two), no control characters. Stricter than the event's own
# pattern, which stays as it was so that events already on the log still read.
_ADDRESS = re.compile(r'^[^@\s,;:<>()\[\]"\\\x00-\x1f\x7f]+@[^@\s,;:<>()\[\]"\\\x00-\x1f\x7f]+'
                      r'\.[^@\s,;:<>()\[\]"\\\x00-\x1f\x7f]+$')
# Tabs and line breaks, including the soft return of text pasted from slides (\x0b), the page break of text
# copied from a PDF (\x0c) and the next-line of Latin-1 text (\x85).
_LINE_BREAKS = frozenset("\t\n\r\x0b\x0c\x85")


def _plain(value: str, what: str, *, lines: bool = False) -> str:
    """Text a person wrote: no control characters (line breaks and tabs where text runs over lines), and more
    than invisible characters (zero-width spaces, joiners) where a name or title is needed."""
    if any(unicodedata.category(c) == "Cc" and not (lines and c in _LINE_BREAKS) for c in value):
        raise ValueError(f"{what} holds control characters")
    if not lines and not any(unicodedata.category(c)[0] not in "CZ" for c in value):
        raise ValueError(f"{what} is blank")
    return value


class RequestCreate(RequestDetails):
    """The body of ``POST /v1/requests``; unknown fields are refused."""

    justification: str | None = Field(default=None, max_length=2_000, validate_default=True)

    @field_validator("title")
    @classmethod
    def _title_is_text(cls, value: str) -> str:
        return _plain(value, "the title")

    @field_validator("description", "customer_outcome", "justification")
    @classmethod
    def _text_is_text(cls, value: str | None) -> str | None:
        return None if value is None else _plain(value, "the text", lines=True)

    @field_validator("requester")
    @classmethod
    def _requester_can_be_told(cls, value: Requester) -> Requester:
        _plain(value.name, "the requester's name")
        _plain(value.team, "the requester's team")
        if not _ADDRESS.match(value.email):
            raise ValueError("the requester's email is not one address a notice can go to")
        return value

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

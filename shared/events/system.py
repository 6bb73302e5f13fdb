"""Events about the whole system: OKRs, the capacity policy, notices sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from shared.events.base import EventData, _Frozen

__all__ = ["NotificationSent", "OkrObjective", "OkrsPublished", "PolicyUpdated"]


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

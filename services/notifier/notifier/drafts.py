"""A notice ready to send: its words, recipient and channel, fixed when its event was consumed."""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["Draft", "parse_draft"]


@dataclass(frozen=True)
class Draft:
    """A message ready to send: its words are fixed when the event is consumed."""

    id: str
    subject: str  # the event's subject (the request id), which lists it
    request_id: str | None
    about_event_id: str
    about_event_type: str
    audience: str
    recipient: str
    channel: str
    title: str  # the email's subject line
    text: str  # what is sent on this channel
    after: tuple[str, ...] = ()  # notices told first: this one waits for them (or its hold's end)
    releases: tuple[str, ...] = ()  # notices waiting for this one
    # The requester's signed link to their request, added to the email as it is sent. Kept apart from
    # ``text``, which is published (notification.sent, GET /v1/notifications) where others read it.
    follow: str | None = None
    # A requester's notices about one request on one channel (``notifier.store``: updates coalesce there).
    thread: str | None = None
    # An update (the expected start moved): at most one per thread per window, the latest replacing any
    # still waiting. Other notices of the thread (commitment, start, completion...) go at once.
    update: bool = False

    def sent_text(self) -> str:
        """What goes out on the channel: the text, and the signed link under it."""
        return self.text if self.follow is None else f"{self.text}\n\n{self.follow}"


def parse_draft(body: str) -> Draft:
    fields = json.loads(body)
    return Draft(**{**fields, "after": tuple(fields.get("after", ())), "releases": tuple(fields.get("releases", ()))})

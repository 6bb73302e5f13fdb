"""Notifier rules: who is told what about each event, in the team's voice.

No blame, and "not right now" always comes with a position, an expected start
and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Message", "messages_for"]


@dataclass(frozen=True)
class Message:
    recipient: str
    channel: str
    text: str


def _to_requester(data: dict[str, Any], text: str) -> list[Message]:
    requester = data["requester"]
    return [Message(recipient=requester["email"], channel="email",
                    text=f"Hi {requester['name']}, {text}")]


def messages_for(event_type: str, data: dict[str, Any]) -> list[Message]:
    """The messages an event causes; events nobody needs to hear about give none."""
    title = data.get("title", "your request")
    match event_type:
        case "request.backlogged":
            return _to_requester(data, (
                f"thanks for \"{title}\". We have it, and it is not right now: it is number "
                f"{data['position']} in the backlog and should start in cycle "
                f"{data['expected_start_cycle']} (week of {data['expected_start']}). {data['reason']}"
            ))
        case "request.scheduled":
            return _to_requester(data, (
                f"\"{title}\" is committed to cycle {data['cycle']} (starting {data['cycle_start']})."
            ))
        case "request.started":
            return _to_requester(data, f"work on \"{title}\" has started.")
        case "request.paused":
            return _to_requester(data, f"work on \"{title}\" is paused. It goes back to the head of the backlog.")
        case "request.done":
            return _to_requester(data, f"\"{title}\" is done. Thank you for bringing it through intake.")
        case _:
            return []

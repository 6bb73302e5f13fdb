"""Notifier rules: who is told what about each event, in the team's voice.

No blame, and "not right now" always comes with a position, an expected start
and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.events import lane_words

__all__ = ["Audience", "Message", "messages_for"]


@dataclass(frozen=True)
class Message:
    recipient: str
    channel: str
    text: str
    # What makes it the same message: by default the event; one collision is one notice per person,
    # however many of its requests' events announce it.
    about: str | None = None


@dataclass(frozen=True)
class Audience:
    """The team's own addresses, from configuration."""

    ops: str
    heat_shield: str


def _to_requester(data: dict[str, Any], text: str) -> list[Message]:
    requester = data["requester"]
    return [Message(recipient=requester["email"], channel="email", text=f"Hi {requester['name']}, {text}")]


def _listed(items: list[dict[str, Any]]) -> str:
    return "; ".join(f"\"{i['title']}\" ({lane_words(i['lane'])}, {i['points']} points)" for i in items)


def messages_for(event_type: str, data: dict[str, Any], team: Audience) -> list[Message]:
    """The messages an event causes; events nobody needs to hear about give none."""
    title = data.get("title", "your request")
    match event_type:
        case "request.backlogged":
            return _to_requester(data, (
                f"thanks for \"{title}\". We have it, and it is not right now: it is number "
                f"{data['position']} in the backlog and should start in cycle "
                f"{data['expected_start_cycle']} (week of {data['expected_start']}). {data['reason']}"))
        case "request.scheduled":
            return _to_requester(data, (
                f"\"{title}\" is committed to cycle {data['cycle']} (starting {data['cycle_start']})."))
        case "request.started":
            return _to_requester(data, f"work on \"{title}\" has started.")
        case "request.paused":
            why = data.get("reason") or "It goes back to the head of the backlog."
            return _to_requester(data, f"work on \"{title}\" is paused. {why}")
        case "request.done":
            return _to_requester(data, f"\"{title}\" is done. Thank you for bringing it through intake.")
        case "request.tradeoff_required":
            text = (f"{data['question']} Committed this cycle: {_listed(data['committed']) or 'nothing'}. "
                    f"Reply with the request to pause, or to wait (trade-off {data['tradeoff_id']}).")
            return [Message(recipient=r, channel="email", text=text) for r in data["addressed_to"]]
        case "request.tradeoff_decided":
            choice = (f"pause {data['paused_request_id']}" if data["decision"] == "pause"
                      else "keep the plan; the urgent request waits its turn")
            return [Message(recipient=team.heat_shield, channel="email",
                            text=f"Trade-off {data['tradeoff_id']} decided by {data['decided_by']} under policy "
                                 f"version {data['policy_version']}: {choice}.")]
        case "request.conflict_detected":
            return [Message(recipient=r, channel="email",
                            text=f"{data['observation']} Involved: {_listed(data['requests'])}.",
                            about=data["conflict_id"])
                    for r in sorted({s["email"] for s in data["stakeholders"]} | {team.ops})]
        case "capacity.alert":
            return [Message(recipient=r, channel="email", text=f"Cycle {data['cycle']}: {data['observation']}")
                    for r in (team.ops, team.heat_shield)]
        case _:
            return []

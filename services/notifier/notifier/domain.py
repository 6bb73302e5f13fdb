"""Notifier rules: who is told what about each event, through which channel, and when to try again;
who is told first, which addresses may be written to, and what a withdrawal silences.

Pure functions over the event models and plain data. The words themselves are templates (``notifier/templates/``),
one per event and audience, in the team's voice: no blame, the numbers speak, and "not right
now" always comes with a position, an expected start and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from shared.events import (
    EVENT_TYPES,
    CapacityAlert,
    ConflictDetected,
    EventData,
    ForecastSlipped,
    RequestBacklogged,
    RequestDone,
    Requester,
    RequestPaused,
    RequestScheduled,
    RequestStarted,
    SleAtRisk,
    TradeoffDecided,
    TradeoffRequired,
)

__all__ = [
    "BESIDE_THE_THREAD",
    "DEFAULT_CHANNELS",
    "FINAL_STATUSES",
    "Audience",
    "Channel",
    "Message",
    "Notice",
    "Team",
    "UPDATES",
    "WILDCARD",
    "allowed_domains",
    "escalation_released",
    "notices_for",
    "recipient_refusal",
    "retry_delay",
    "route",
    "silenced_by_withdrawal",
    "subscribed",
    "told_first",
    "update_due",
    "unknown_event_types",
    "webhook_verdict",
]

Audience = Literal["requester", "stakeholders", "ops", "heat_shield"]
Channel = Literal["email", "slack"]
DEFAULT_CHANNELS: dict[Audience, list[Channel]] = {
    "requester": ["email"], "stakeholders": ["email"], "ops": ["email", "slack"], "heat_shield": ["email", "slack"],
}
WILDCARD = "*"
# A notice that has reached one of these will not change any more.
FINAL_STATUSES = frozenset({"sent", "not_sent", "failed"})


@dataclass(frozen=True)
class Team:
    """The team's own addresses, from configuration."""

    ops: str
    heat_shield: str


@dataclass(frozen=True)
class Notice:
    """One person to tell about an event, in the voice of one audience."""

    audience: Audience
    recipient: str
    name: str | None = None
    # What makes it the same message: by default the event; one collision is one notice per person,
    # however many of its requests' events announce it.
    about: str | None = None
    # An overlap's two requests, the recipient's own first (``notifier.reuse``).
    pair: tuple[str, str] | None = None


@dataclass(frozen=True)
class Message:
    """A notice on one channel: ``recipient`` is an address, or the Slack channel's name."""

    notice: Notice
    channel: Channel
    recipient: str


def _requester(person: Requester) -> Notice:
    return Notice("requester", person.email, person.name)


def notices_for(event: EventData, team: Team) -> list[Notice]:
    """Who hears about an event; events nobody needs to hear about give nobody."""
    match event:
        case RequestBacklogged(paused=True):
            # A paused card waiting at the head of the backlog: the pause notice already told its requester
            # so, and from when it can resume; "not right now, position N" would read as new backlog work.
            return []
        case (RequestBacklogged() | RequestScheduled() | RequestStarted() | RequestPaused() | RequestDone()
              | ForecastSlipped()):
            return [_requester(event.requester)]
        case SleAtRisk():  # work ageing past its lane's SLE: the team swarms, the requester knows
            return [_requester(event.requester), Notice("ops", team.ops)]
        case TradeoffRequired():
            # The heat-shield manager is asked first; ops sees every expedite.
            asker = _requester(event.requester)
            asked = [asker if address == asker.recipient else Notice("heat_shield", address)
                     for address in event.addressed_to]
            return [*asked, Notice("ops", team.ops)]
        case TradeoffDecided():
            # Its requester was asked too: a deferral is news to them (a pause brings its commitment instead).
            told = [_requester(event.requester)] if event.decision == "defer" and event.requester else []
            return [*told, Notice("heat_shield", team.heat_shield), Notice("ops", team.ops)]
        case ConflictDetected():
            conflict = event.conflict_id
            people = [Notice("stakeholders", s.email, s.name, about=conflict) for s in event.stakeholders]
            return [*people, Notice("ops", team.ops, about=conflict)]
        case CapacityAlert():
            return [Notice("ops", team.ops), Notice("heat_shield", team.heat_shield)]
        case _:
            return []


def route(notices: Sequence[Notice], channels: Mapping[Audience, Sequence[Channel]],
          slack_channel: str | None) -> list[Message]:
    """Each notice on each channel configured for its audience, once per (recipient, channel) and thing told
    (``about``: the event, or one overlap of the several an event may name).

    Slack is one shared channel (``slack_channel``, None when not configured): an event is posted
    there once, in the voice of the first audience that wants it.
    """
    messages: list[Message] = []
    seen: set[tuple[str | None, str, str]] = set()
    for notice in notices:
        for channel in channels.get(notice.audience, ()):
            if channel == "email":
                message = Message(notice, "email", notice.recipient)
            elif channel == "slack" and slack_channel is not None:
                message = Message(notice, "slack", slack_channel)
            else:
                continue
            if (notice.about, message.recipient, message.channel) not in seen:  # once per thing told
                seen.add((notice.about, message.recipient, message.channel))
                messages.append(message)
    return messages


def told_first(event_type: str) -> Audience | None:
    """The audience whose notices must go out before anyone else hears of the event: escalations reach
    the heat-shield manager first."""
    return "heat_shield" if event_type == "request.tradeoff_required" else None


# What only moves a request's expected start: a requester hears of it at most once per window
# (``NOTIFIER_UPDATE_WINDOW_S``), the latest news replacing what still waits (``notifier.store``). At the
# pace of a busy backlog every arrival ahead of a request moves it, and a person told each time would have
# their hourly allowance (``NOTIFIER_RECIPIENT_LIMIT_PER_HOUR``) spent before their commitment is announced.
UPDATES = frozenset({"request.backlogged", "request.forecast_slipped"})
# What adds to a request's place in the backlog rather than replacing it: its requester's notice stays out of
# the request's thread, so it neither replaces the backlog notice still to be sent (the position, the expected
# start and the reason, which an urgent request's trade-off question comes right after) nor opens the window.
BESIDE_THE_THREAD = frozenset({"request.tradeoff_required"})


def update_due(now: float, *, last_sent: float, reset_at: float, window_s: float) -> float:
    """When an update is due: at once, unless an update of its thread was sent within the window and no
    other notice of the thread (a commitment, a start...) was recorded since; then at the window's end."""
    if window_s <= 0 or last_sent <= reset_at:
        return now
    return max(now, last_sent + window_s)


def escalation_released(first: Sequence[str | None], *, now: float, hold_until: float) -> bool:
    """Whether a notice held behind the first-told notices (their statuses; None: no such record) may go:
    once one of them was sent, or none of them can be any more, or once the hold ran out."""
    if now >= hold_until or not first or "sent" in first:
        return True
    return all(status is None or status in FINAL_STATUSES for status in first)


def allowed_domains(*addresses: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The recipient domains mail may go to: those of the team's own addresses, and ``extra``."""
    found = {a.rsplit("@", 1)[-1] for a in addresses if "@" in a} | set(extra)
    return frozenset(d.strip().strip(".").lower() for d in found if d.strip().strip("."))


def recipient_refusal(address: str, allowed: frozenset[str]) -> str | None:
    """Why mail may not go to ``address`` (None: it may). An allowed domain admits its subdomains."""
    local, at, domain = address.rpartition("@")
    domain = domain.strip().lower()
    if not at or not local or not domain:
        return f"{address!r} is not an email address"
    labels = domain.split(".")
    if any(".".join(labels[i:]) in allowed for i in range(len(labels))):
        return None
    return (f"the recipient domain {domain} is not on the allow-list (NOTIFIER_RECIPIENT_DOMAINS and the "
            "domains of the team's own addresses)")


def silenced_by_withdrawal(about_event_type: str) -> bool:
    """Once a request is withdrawn or merged, nothing more is said about it but the withdrawal or merge itself."""
    return about_event_type not in ("request.withdrawn", "request.merged")


def retry_delay(failures: int, schedule: Sequence[float], jitter: float, draw: float) -> float | None:
    """Seconds to wait after ``failures`` failed attempts in a row, or None when it is time to give up.

    ``draw`` is uniform in [0, 1): the delay is the schedule's step, give or take ``jitter`` of it.
    """
    if failures < 1 or failures > len(schedule):
        return None
    step = schedule[failures - 1]
    return step * (1 + jitter * (2 * draw - 1))


def webhook_verdict(status_code: int | None) -> Literal["succeeded", "gone", "retry"]:
    """Any 2xx is a success; 410 Gone disables the subscription; anything else is tried again."""
    if status_code is not None and 200 <= status_code < 300:
        return "succeeded"
    if status_code == 410:
        return "gone"
    return "retry"


def unknown_event_types(requested: Sequence[str]) -> list[str]:
    return [t for t in requested if t != WILDCARD and t not in EVENT_TYPES]


def subscribed(event_types: Sequence[str], event_type: str) -> bool:
    return WILDCARD in event_types or event_type in event_types

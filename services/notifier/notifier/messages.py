"""From an event to the drafts of its messages: who (domain), on which channel (configuration),
in which words (templates), and who is told first. The words are fixed here, when the event is
consumed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from notifier.domain import BESIDE_THE_THREAD, UPDATES, Audience, Channel, Message, Notice, Team, route, told_first
from notifier.drafts import Draft
from notifier.reuse import NOTHING_KNOWN, Known, pair_context, told_about
from notifier.templates import Templates
from shared.envelope import CloudEvent, derived_id, parse_event
from shared.events import (
    ConflictDetected,
    EventData,
    RequestBacklogged,
    RequestClassified,
    RequestMerged,
    RequestScheduled,
)
from shared.links import LinkSigner

__all__ = ["Composer", "Links"]


@dataclass(frozen=True)
class Links:
    """Where people follow up: intake's and capacity's public addresses; ``signer`` signs request links."""

    intake: str
    capacity: str
    signer: LinkSigner | None = None

    def follow(self, request_id: str, email: str) -> str | None:
        """A requester's line at the end of every notice: their request's own page, no key needed."""
        if self.signer is None:
            return None
        return f"Follow your request (no key needed): {self.signer.page_url(self.intake, request_id, email)}"

    def tradeoff(self, tradeoff_id: str) -> str:
        return f"{self.capacity.rstrip('/')}/pages/tradeoffs?id={tradeoff_id}"


def own_request(event: EventData, notice: Notice) -> str | None:
    """The request a notice's recipient asked for (which their link opens): the event's for its requester; for
    a stakeholder, theirs of the pair, the survivor of a merge, or theirs among a collision's requests."""
    if notice.audience == "requester":
        return _request_of(event)
    if notice.audience != "stakeholders":
        return None
    if notice.pair is not None:
        return notice.pair[0]
    if isinstance(event, RequestMerged):
        return event.into
    if isinstance(event, ConflictDetected):
        mine = [item.request_id for item in event.requests
                if item.requester is not None and item.requester.email == notice.recipient]
        return mine[0] if mine else None
    return None


def _request_of(event: EventData) -> str | None:
    request_id = getattr(event, "request_id", None)
    return request_id if isinstance(request_id, str) else None


class Composer:
    def __init__(self, templates: Templates, team: Team, *, channels: Mapping[Audience, Sequence[Channel]],
                 slack_channel: str | None, team_name: str, links: Links | None = None) -> None:
        self._templates = templates
        self._team = team
        self._channels = channels
        self._slack_channel = slack_channel
        self._team_name = team_name
        self._links = links

    def messages(self, event: EventData, known: Known = NOTHING_KNOWN) -> list[Message]:
        return route(told_about(event, self._team, known), self._channels, self._slack_channel)

    def drafts(self, event: CloudEvent, data: EventData | None = None, known: Known = NOTHING_KNOWN) -> list[Draft]:
        """The drafts of what ``event`` tells whom, in their order; ``data`` is its payload if already read."""
        if data is None:
            data = parse_event(event)
        drafts = []
        for message in self.messages(data, known):
            notice = message.notice
            rendered = self._templates.render(f"{event.type}.{notice.audience}",
                                              self.context(event, data, message, known))
            request_id = own_request(data, notice)
            # Signed for the person emailed: never posted to the shared Slack channel (it would open nothing).
            follow = (self._links.follow(request_id, message.recipient)
                      if self._links and request_id and message.channel == "email" else None)
            # A requester's notices about their own request make one thread per channel, where updates coalesce.
            thread = (derived_id("thread", request_id, message.recipient, message.channel)
                      if notice.audience == "requester" and request_id and event.type not in BESIDE_THE_THREAD
                      else None)
            drafts.append(Draft(
                id=derived_id(notice.about or event.id, message.recipient, message.channel),
                subject=event.subject, request_id=_request_of(data), about_event_id=event.id,
                about_event_type=event.type, audience=notice.audience, recipient=message.recipient,
                channel=message.channel, title=rendered.subject,
                text=rendered.slack if message.channel == "slack" else rendered.text, follow=follow or None,
                thread=thread, update=thread is not None and event.type in UPDATES))
        return _in_order(drafts, told_first(event.type))

    def context(self, event: CloudEvent, data: EventData, message: Message,
                known: Known = NOTHING_KNOWN) -> dict[str, Any]:
        """What a template reads: the event's payload as JSON, who is told, the team, and the links."""
        tradeoff_id = getattr(data, "tradeoff_id", None)
        context: dict[str, Any] = {
            **event.data,
            "event": {"id": event.id, "type": event.type, "time": event.time.isoformat()},
            "recipient": {"name": message.notice.name, "address": message.recipient},
            "team": {"ops": self._team.ops, "heat_shield": self._team.heat_shield},
            "team_name": self._team_name,
            "tradeoff_page": self._links.tradeoff(tradeoff_id) if self._links and tradeoff_id else None,
        }
        if message.notice.pair is not None and isinstance(data, RequestClassified):
            context.update(pair_context(data, known.requesters, message.notice.pair))
        if isinstance(data, (RequestScheduled, RequestBacklogged, RequestClassified)):
            # The title travels on the event; one from before it did names the objective by its id only.
            context["objective"] = (None if data.objective_id is None
                                    else {"id": data.objective_id, "title": data.objective_title})
        return context


def _in_order(drafts: list[Draft], first: Audience | None) -> list[Draft]:
    """The others wait for the notices of the audience told first, which release them."""
    firsts = tuple(d.id for d in drafts if d.audience == first)
    others = tuple(d.id for d in drafts if d.audience != first)
    if not firsts or not others:
        return drafts
    return [replace(d, releases=others) if d.id in firsts else replace(d, after=firsts) for d in drafts]

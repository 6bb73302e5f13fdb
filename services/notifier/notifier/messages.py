"""From an event to the drafts of its messages: who (domain), on which channel (configuration),
in which words (templates), and who is told first. The words are fixed here, when the event is
consumed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from notifier.domain import UPDATES, Audience, Channel, Message, Notice, Team, route, told_first
from notifier.drafts import Draft
from notifier.reuse import pair_context, told_about
from notifier.templates import Templates
from shared.envelope import CloudEvent, derived_id
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


def own_request(data: Mapping[str, Any], notice: Notice) -> str | None:
    """The request a notice's recipient asked for (which their link opens): the event's for its requester; for
    a stakeholder, theirs of the pair, the survivor of a merge, or theirs among a collision's requests."""
    if notice.audience == "requester":
        return data.get("request_id")
    if notice.audience != "stakeholders":
        return None
    if notice.pair is not None:
        return notice.pair[0]
    if "into" in data:
        return str(data["into"])
    mine = [item["request_id"] for item in data.get("requests", [])
            if (item.get("requester") or {}).get("email") == notice.recipient]
    return mine[0] if mine else None


class Composer:
    def __init__(self, templates: Templates, team: Team, *, channels: Mapping[Audience, Sequence[Channel]],
                 slack_channel: str | None, team_name: str, links: Links | None = None) -> None:
        self._templates = templates
        self._team = team
        self._channels = channels
        self._slack_channel = slack_channel
        self._team_name = team_name
        self._links = links

    def messages(self, event: CloudEvent) -> list[Message]:
        return route(told_about(event.type, event.data, self._team), self._channels, self._slack_channel)

    def drafts(self, event: CloudEvent) -> list[Draft]:
        drafts = []
        for message in self.messages(event):
            notice = message.notice
            rendered = self._templates.render(f"{event.type}.{notice.audience}", self.context(event, message))
            request_id = own_request(event.data, notice)
            # Signed for the person emailed: never posted to the shared Slack channel (it would open nothing).
            follow = (self._links.follow(request_id, message.recipient)
                      if self._links and request_id and message.channel == "email" else None)
            # A requester's notices about their own request make one thread per channel, where updates coalesce.
            thread = (derived_id("thread", request_id, message.recipient, message.channel)
                      if notice.audience == "requester" and request_id else None)
            drafts.append(Draft(
                id=derived_id(notice.about or event.id, message.recipient, message.channel),
                subject=event.subject, request_id=event.data.get("request_id"), about_event_id=event.id,
                about_event_type=event.type, audience=notice.audience, recipient=message.recipient,
                channel=message.channel, title=rendered.subject,
                text=rendered.slack if message.channel == "slack" else rendered.text, follow=follow or None,
                thread=thread, update=thread is not None and event.type in UPDATES))
        return _in_order(drafts, told_first(event.type))

    def context(self, event: CloudEvent, message: Message) -> dict[str, Any]:
        context: dict[str, Any] = {
            **event.data,
            "event": {"id": event.id, "type": event.type, "time": event.time.isoformat()},
            "recipient": {"name": message.notice.name, "address": message.recipient},
            "team": {"ops": self._team.ops, "heat_shield": self._team.heat_shield},
            "team_name": self._team_name,
            "tradeoff_page": (self._links.tradeoff(event.data["tradeoff_id"])
                              if self._links and "tradeoff_id" in event.data else None),
        }
        if message.notice.pair is not None:
            context.update(pair_context(event.data, message.notice.pair))
        if "objective_id" in event.data:
            # The title travels on the event; one from before it did names the objective by its id only.
            objective_id, title = event.data["objective_id"], event.data.get("objective_title")
            context["objective"] = None if objective_id is None else {"id": objective_id, "title": title}
        return context


def _in_order(drafts: list[Draft], first: Audience | None) -> list[Draft]:
    """The others wait for the notices of the audience told first, which release them."""
    firsts = tuple(d.id for d in drafts if d.audience == first)
    others = tuple(d.id for d in drafts if d.audience != first)
    if not firsts or not others:
        return drafts
    return [replace(d, releases=others) if d.id in firsts else replace(d, after=firsts) for d in drafts]

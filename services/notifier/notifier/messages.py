"""From an event to the drafts of its messages: who (domain), on which channel (configuration),
in which words (templates), and who is told first. The words are fixed here, when the event is
consumed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from notifier.domain import Audience, Channel, Message, Team, route, told_first
from notifier.reuse import pair_context, told_about
from notifier.store import Draft
from notifier.templates import Templates
from shared.envelope import CloudEvent, derived_id

__all__ = ["Composer"]


class Composer:
    def __init__(self, templates: Templates, team: Team, *, channels: Mapping[Audience, Sequence[Channel]],
                 slack_channel: str | None, team_name: str) -> None:
        self._templates = templates
        self._team = team
        self._channels = channels
        self._slack_channel = slack_channel
        self._team_name = team_name

    def messages(self, event: CloudEvent) -> list[Message]:
        return route(told_about(event.type, event.data, self._team), self._channels, self._slack_channel)

    def drafts(self, event: CloudEvent, objective_title: str | None = None) -> list[Draft]:
        drafts = []
        for message in self.messages(event):
            notice = message.notice
            rendered = self._templates.render(f"{event.type}.{notice.audience}",
                                              self.context(event, message, objective_title))
            drafts.append(Draft(
                id=derived_id(notice.about or event.id, message.recipient, message.channel),
                subject=event.subject, request_id=event.data.get("request_id"), about_event_id=event.id,
                about_event_type=event.type, audience=notice.audience, recipient=message.recipient,
                channel=message.channel, title=rendered.subject,
                text=rendered.slack if message.channel == "slack" else rendered.text))
        return _in_order(drafts, told_first(event.type))

    def context(self, event: CloudEvent, message: Message, objective_title: str | None) -> dict[str, Any]:
        context: dict[str, Any] = {
            **event.data,
            "event": {"id": event.id, "type": event.type, "time": event.time.isoformat()},
            "recipient": {"name": message.notice.name, "address": message.recipient},
            "team": {"ops": self._team.ops, "heat_shield": self._team.heat_shield},
            "team_name": self._team_name,
        }
        if message.notice.pair is not None:
            context.update(pair_context(event.data, message.notice.pair))
        if "objective_id" in event.data:
            objective_id = event.data["objective_id"]
            context["objective"] = None if objective_id is None else {"id": objective_id, "title": objective_title}
        return context


def _in_order(drafts: list[Draft], first: Audience | None) -> list[Draft]:
    """The others wait for the notices of the audience told first, which release them."""
    firsts = tuple(d.id for d in drafts if d.audience == first)
    others = tuple(d.id for d in drafts if d.audience != first)
    if not firsts or not others:
        return drafts
    return [replace(d, releases=others) if d.id in firsts else replace(d, after=firsts) for d in drafts]

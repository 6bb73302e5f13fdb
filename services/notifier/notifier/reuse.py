"""Reuse: who is told when two stakeholders ask for the same work, and who follows a merged request. Pure.

- A classified request names open requests of other stakeholders that look alike (``similar``). Both
  requesters and ops get one notice per pair, whichever of the two requests' events names it first,
  inviting them to combine the work; it names the other ask and its requester's team.
- A merge tells the merged request's requester (it now follows the survivor) and the survivor's.
- From then on the merged request's requester, and whoever followed it before, hear what the
  survivor's requester hears: the survivor's audience (``joined``).

What the notifier knows and the event does not say comes beside it (``Known``, from ``notifier.asks``):
who joined the request's audience, and each similar request's requester when known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from notifier.domain import Notice, Team, notices_for
from shared.envelope import derived_id
from shared.events import EventData, RequestClassified, RequestMerged

__all__ = ["NOTHING_KNOWN", "Known", "join", "merge_notices", "overlap_notices", "pair_context", "told_about",
           "with_joined"]

Person = Mapping[str, Any]


@dataclass(frozen=True)
class Known:
    """What the notifier knows of an event's request that the event does not say (``notifier.asks``)."""

    joined: tuple[Person, ...] = ()  # who joined the request's audience by merges
    requesters: Mapping[str, Person] = field(default_factory=dict)  # each similar request's requester, when known


NOTHING_KNOWN = Known()


def told_about(event: EventData, team: Team, known: Known = NOTHING_KNOWN) -> list[Notice]:
    """Everyone who hears about an event: as ``notices_for`` has it, the reuse notices, and the audience
    that joined the request."""
    match event:
        case RequestClassified():
            extra = overlap_notices(event, known.requesters, team)
        case RequestMerged():
            extra = merge_notices(event)
        case _:
            extra = []
    return with_joined([*notices_for(event, team), *extra], known.joined)


def overlap_notices(event: RequestClassified, requesters: Mapping[str, Person], team: Team) -> list[Notice]:
    """One notice per person and per pair of look-alike asks from different requesters; ops too."""
    me = event.request.requester
    found: list[Notice] = []
    for similar in event.similar:
        other = requesters.get(similar.request_id)
        if other is not None and other["id"] == me.id:
            continue  # the same person asking twice is no overlap between stakeholders
        pair = (event.request_id, similar.request_id)
        about = derived_id("overlap", *sorted(pair))  # the same notice whichever of the two names the pair
        found.append(Notice("stakeholders", me.email, me.name, about=about, pair=pair))
        if other is not None:
            found.append(Notice("stakeholders", other["email"], other["name"], about=about, pair=pair[::-1]))
        found.append(Notice("ops", team.ops, about=about, pair=pair))
    return found


def merge_notices(event: RequestMerged) -> list[Notice]:
    """The merged request's requester, and the surviving request's (in a voice of their own)."""
    merged, survivor = event.requester, event.into_requester
    return [Notice("requester", merged.email, merged.name), Notice("stakeholders", survivor.email, survivor.name)]


def with_joined(notices: Sequence[Notice], joined: Iterable[Person]) -> list[Notice]:
    """Everyone who joined the request's audience hears what its requester hears."""
    people = list(joined)
    copies = [Notice("requester", person["email"], person["name"], about=notice.about)
              for notice in notices if notice.audience == "requester" for person in people]
    return [*notices, *copies]


def join(audiences: Mapping[str, Mapping[str, Person]], merged: RequestMerged, into: str) -> dict[str, Person]:
    """The audience of ``into``, the survivor (``merged.into``, or what that went into since), after ``merged``:
    who followed it, the merged request's requester, and whoever followed the merged request; by address."""
    joined = dict(audiences.get(into, {}))
    for person in [merged.requester.model_dump(), *audiences.get(merged.request_id, {}).values()]:
        if person["email"] != merged.into_requester.email:
            joined.setdefault(person["email"], {k: person[k] for k in ("id", "name", "email", "team")})
    return joined


def pair_context(event: RequestClassified, requesters: Mapping[str, Person], pair: tuple[str, str]) -> dict[str, Any]:
    """What an overlap notice names: the recipient's ask (``own``), the other one, and how alike they are."""
    requester = event.request.requester.model_dump(mode="json")
    asks = {event.request_id: {"request_id": event.request_id, "title": event.request.title,
                               "team": requester["team"], "requester": requester}}
    alike: dict[str, Any] = {}
    for similar in event.similar:
        asks[similar.request_id] = {"request_id": similar.request_id, "title": similar.title, "team": similar.team,
                                    "requester": requesters.get(similar.request_id)}
        if similar.request_id in pair:
            alike = {"score": similar.score, "kind": similar.kind, "shared_terms": similar.shared_terms}
    return {"own": asks[pair[0]], "other": asks[pair[1]], "alike": alike}

"""Reuse: who is told when two stakeholders ask for the same work, and who follows a merged request. Pure.

- A classified request names open requests of other stakeholders that look alike (``similar``). Both
  requesters and ops get one notice per pair, whichever of the two requests' events names it first,
  inviting them to combine the work; it names the other ask and its requester's team.
- A merge tells the merged request's requester (it now follows the survivor) and the survivor's.
- From then on the merged request's requester, and whoever followed it before, hear what the
  survivor's requester hears: the survivor's audience (``joined``).

The notifier adds to an event's data what it knows and the event does not say (``notifier.asks``):
``joined`` (the request's audience) and, on each similar request, its ``requester`` when known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from notifier.domain import Notice, Team, notices_for
from shared.envelope import derived_id
from shared.events import RequestMerged

__all__ = ["join", "merge_notices", "overlap_notices", "pair_context", "told_about", "with_joined"]

Person = Mapping[str, Any]


def told_about(event_type: str, data: Mapping[str, Any], team: Team) -> list[Notice]:
    """Everyone who hears about an event: as ``notices_for`` has it, the reuse notices, and the audience
    that joined the request."""
    match event_type:
        case "request.classified":
            extra = overlap_notices(data, team)
        case "request.merged":
            extra = merge_notices(data)
        case _:
            extra = []
    return with_joined([*notices_for(event_type, data, team), *extra], data.get("joined") or [])


def overlap_notices(data: Mapping[str, Any], team: Team) -> list[Notice]:
    """One notice per person and per pair of look-alike asks from different requesters; ops too."""
    me = (data.get("request") or {}).get("requester")
    found: list[Notice] = []
    for similar in data.get("similar") or []:
        other: Person | None = similar.get("requester")
        if me is None or (other is not None and other["id"] == me["id"]):
            continue  # the same person asking twice is no overlap between stakeholders
        pair = (str(data["request_id"]), str(similar["request_id"]))
        about = derived_id("overlap", *sorted(pair))  # the same notice whichever of the two names the pair
        found.append(Notice("stakeholders", me["email"], me["name"], about=about, pair=pair))
        if other is not None:
            found.append(Notice("stakeholders", other["email"], other["name"], about=about, pair=pair[::-1]))
        found.append(Notice("ops", team.ops, about=about, pair=pair))
    return found


def merge_notices(data: Mapping[str, Any]) -> list[Notice]:
    """The merged request's requester, and the surviving request's (in a voice of their own)."""
    merged, survivor = data["requester"], data["into_requester"]
    return [Notice("requester", merged["email"], merged["name"]),
            Notice("stakeholders", survivor["email"], survivor["name"])]


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


def pair_context(data: Mapping[str, Any], pair: tuple[str, str]) -> dict[str, Any]:
    """What an overlap notice names: the recipient's ask (``own``), the other one, and how alike they are."""
    request = data["request"]
    asks = {str(data["request_id"]): {"request_id": data["request_id"], "title": request["title"],
                                      "team": request["requester"]["team"], "requester": request["requester"]}}
    alike: dict[str, Any] = {}
    for similar in data.get("similar") or []:
        asks[str(similar["request_id"])] = {"request_id": similar["request_id"], "title": similar["title"],
                                            "team": similar["team"], "requester": similar.get("requester")}
        if str(similar["request_id"]) in pair:
            alike = {"score": similar["score"], "kind": similar["kind"],
                     "shared_terms": similar.get("shared_terms") or []}
    return {"own": asks[pair[0]], "other": asks[pair[1]], "alike": alike}

"""Merging one request into another: when a merge may happen, and how both timelines tell it. Pure.

``request.merged`` closes the merged request (its own timeline entry changes its status to ``merged``);
the surviving request gets an entry of its own that names what was merged into it and changes nothing.
"""

from __future__ import annotations

from typing import Any

from intake.domain import TimelineEntry
from shared.envelope import CloudEvent
from shared.lifecycle import TERMINAL

__all__ = ["MERGED", "merge_refusal", "merged_from", "merged_in", "merged_into", "redacted_merge", "survivor_entry"]

MERGED = "request.merged"


def merge_refusal(request_id: str, found: dict[str, Any], into: dict[str, Any]) -> tuple[int, str, str] | None:
    """Why ``found`` may not be merged into ``into`` (status, detail, problem type); None when it may.

    A merge already made into the same request is no refusal: asking again answers the same."""
    if request_id == into["id"]:
        return 422, "A request cannot be merged into itself; name another request in 'into'.", "about:blank"
    if merged_into(found) == into["id"]:
        return None
    for which, status in ((found["id"], found["status"]), (into["id"], into["status"])):
        if status in TERMINAL:
            return (409, f"Request {which} is already {status}; only open requests can be merged.",
                    "/problems/request-closed")
    return None


def merged_into(found: dict[str, Any]) -> str | None:
    """The request ``found`` was merged into, as its timeline tells; None when it was not merged."""
    for entry in found["timeline"]:
        if entry["type"] == MERGED and entry["data"].get("request_id") == found["id"]:
            return str(entry["data"]["into"])
    return None


def merged_from(found: dict[str, Any]) -> list[str]:
    """The requests merged into ``found``, oldest merge first."""
    return [entry["data"]["request_id"] for entry in found["timeline"]
            if entry["type"] == MERGED and entry["data"].get("into") == found["id"]]


def merged_in(data: dict[str, Any]) -> str:
    """The survivor's line: what was merged into it."""
    return (f"Request {data['request_id']} (\"{data['title']}\", {data['requester']['team']}) was merged into "
            "this one; its requester now hears this request's news.")


def survivor_entry(event: CloudEvent) -> TimelineEntry:
    """The entry a merge leaves on the surviving request's timeline; it never changes that request's status."""
    return TimelineEntry(event.id, event.type, event.time, merged_in(event.data), changes_status=False,
                         data=event.data)


def redacted_merge(entry: dict[str, Any], own: set[str]) -> dict[str, Any]:
    """A merge entry as a requester tool reads it: the other request, if its tool did not post it, is
    neither named nor described; nobody's contact details appear."""
    data = dict(entry["data"])
    shown = {side: data.get(side) in own for side in ("request_id", "into")}
    for side, title, person in (("request_id", "title", "requester"), ("into", "into_title", "into_requester")):
        if data.get(person):
            data[person] = {"team": data[person]["team"], "type": data[person]["type"]} if shown[side] else None
        if not shown[side]:
            data[side], data[title] = None, None
    if entry.get("changes_status", True):
        summary = (f"Merged into request {data['into']} (\"{data['into_title']}\")." if shown["into"]
                   else "Merged into another request, whose news its requester now hears.")
    else:
        summary = merged_in(data) if shown["request_id"] else "Another request was merged into this one."
    return {**entry, "summary": summary, "data": data}

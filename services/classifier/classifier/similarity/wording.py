"""How the dry run tells a requester about similar open requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events import SimilarRequest

__all__ = ["sentence", "shown"]


def _when(submitted_at: datetime, now: datetime) -> str:
    days = (now.date() - submitted_at.date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{submitted_at:%A}"
    return f"on {submitted_at.day} {submitted_at:%b}" + (f" {submitted_at.year}" if submitted_at.year != now.year
                                                          else "")


def sentence(similar: SimilarRequest, now: datetime) -> str:
    """E.g. "Similar to a request from Enterprise Sales submitted Tuesday"."""
    lead = "Likely the same as" if similar.kind == "duplicate" else "Similar to"
    return f"{lead} a request from {similar.team} submitted {_when(similar.submitted_at, now)}."


def shown(similar: SimilarRequest, now: datetime, *, full: bool) -> dict[str, Any]:
    """A similar request as the dry run answers it. Without ``full`` (a requester tool reading another
    tool's request) only its team, lane, day, kind and score: not its id, title or the terms it shares."""
    seen = similar.model_dump(mode="json")
    if not full:
        seen = {k: v for k, v in seen.items() if k in ("kind", "score", "team", "lane", "submitted_at")}
    return {**seen, "sentence": sentence(similar, now)}

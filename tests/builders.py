"""Builders of events and OKR sets for the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.events import (
    CloudEvent, RequestBacklogged, RequestClassified, RequestSubmitted, Requester, derived_id,
)
from tests.support import details, event, request_body


def okr_set(count: int = 3, **overrides: Any) -> dict[str, Any]:
    """A ``PUT /v1/okrs/{quarter}`` body with ``count`` objectives."""
    body: dict[str, Any] = {
        "objectives": [
            {"id": f"O{i}", "rank": i, "title": f"Objective {i}",
             "description": f"What objective {i} is about.", "key_results": [f"Key result {i}"],
             "keywords": [f"topic{i}"]}
            for i in range(1, count + 1)
        ],
        "approved_by": "Maria Okafor, VP Marketing",
        "approved_at": "2026-09-28T16:00:00Z",
    }
    body.update(overrides)
    return body


def submitted(request_id: str, **overrides: Any) -> CloudEvent:
    data = RequestSubmitted(request_id=request_id, request=details(**overrides),
                            submitted_at=datetime.now(UTC), submitted_by="test-tool")
    return event(data, event_id=derived_id(request_id, data.event_type))


def classified(request_id: str, *, objective: str | None = None, rank: int | None = None,
               lane: str = "sales", submitted_at: datetime | None = None, **overrides: Any) -> CloudEvent:
    requester = {**request_body()["requester"], "type": lane}
    data = RequestClassified(
        request_id=request_id, request=details(requester=requester, **overrides),
        submitted_at=submitted_at or datetime.now(UTC), lane=lane,  # type: ignore[arg-type]
        colour="orange", objective_id=objective, objective_rank=rank, score=1.0 if objective else 0.0,
        rationale="test")
    return event(data, event_id=derived_id(request_id, data.event_type))


def backlogged(request_id: str, position: int = 1) -> CloudEvent:
    data = RequestBacklogged(
        request_id=request_id, title="Landing page", requester=Requester(**request_body()["requester"]),
        lane="sales", objective_id=None, position=position, expected_start_cycle="2026-W49",
        expected_start=date(2026, 11, 30), points=3, reason="Queued after objective work.")
    return event(data, event_id=derived_id(request_id, data.event_type, str(position)))

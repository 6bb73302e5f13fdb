"""Past work imported into the flow history (capacity's own, internal event). Pure.

``capacity.flow_history_imported`` travels on capacity's decisions topic, so the history it brings is
on the log and a rebuild restores it; it is not part of the public interface: the other services route
events by type and ignore it (live and in their rebuilds), and no notice or webhook is made of it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from capacity.flow.history import History, Passage, day_of
from shared.days import FIRST_DAY, FIRST_MOMENT, LAST_DAY, LAST_MOMENT
from shared.events import EventData, Lane

__all__ = ["IMPORTED", "FlowHistoryImported", "PastItem", "fold_import"]

IMPORTED = "capacity.flow_history_imported"
MAX_ITEMS = 200  # one import fits in a request body (64 KiB by default) and a Kafka record


class PastItem(BaseModel):
    """One finished piece of work from before the board kept its history."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    request_id: str = Field(min_length=1, max_length=200)
    lane: Lane
    points: int = Field(default=3, ge=0, le=1000)
    # With their offset (e.g. 2026-03-02T09:00:00Z): a time without one could not be ordered against the others.
    submitted_at: AwareDatetime
    started_at: AwareDatetime
    done_at: AwareDatetime

    @model_validator(mode="after")
    def in_order(self) -> PastItem:
        if not self.submitted_at <= self.started_at <= self.done_at:
            raise ValueError("submitted_at ≤ started_at ≤ done_at, please")
        if not (self.submitted_at >= FIRST_MOMENT and self.done_at <= LAST_MOMENT):
            raise ValueError(f"times from {FIRST_DAY} to {LAST_DAY}, please")
        return self


class FlowHistoryImported(EventData):
    event_type: ClassVar[str] = IMPORTED
    import_id: str
    imported_by: str
    items: list[PastItem] = Field(min_length=1, max_length=MAX_ITEMS)

    def subject(self) -> str:
        return self.import_id


def fold_import(history: History, imported: FlowHistoryImported) -> int:
    """Add the imported items the history does not know yet; how many were added."""
    added = 0
    for item in imported.items:
        started = day_of(item.started_at)
        added += history.add(Passage(item.request_id, item.lane, item.points, day_of(item.submitted_at),
                                     committed=started, started=started, done=day_of(item.done_at),
                                     imported=True))
    return added

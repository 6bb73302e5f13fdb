"""Intake's subscribers: every lifecycle event lands on its request's timeline; a merge on both requests'."""

from __future__ import annotations

from collections.abc import Sequence

from intake.domain import TimelineEntry
from intake.merges import survivor_entry
from intake.store import RequestStore
from shared.batches import BatchHandler
from shared.envelope import CloudEvent, parse_data
from shared.events import RequestMerged, RequestSubmitted
from shared.messaging import Handler

TIMELINE_TYPES = (
    "request.classified", "request.backlogged", "request.scheduled", "request.started",
    "request.paused", "request.done", "request.withdrawn", "request.tradeoff_required", "request.tradeoff_decided",
    "request.conflict_detected", "request.bypass_refused", "notification.sent",
    "request.forecast_slipped", "request.sle_at_risk",  # no status of their own: the dates people were told
)


def routes(store: RequestStore) -> dict[str, Handler]:
    async def on_submitted(event: CloudEvent) -> None:
        submitted = parse_data(event, RequestSubmitted)
        await store.save_submitted(event.id, event.time, submitted)

    async def on_lifecycle(event: CloudEvent) -> None:
        await store.append(event.subject, TimelineEntry.of_event(event))

    async def on_merged(event: CloudEvent) -> None:
        merged = parse_data(event, RequestMerged)
        await store.append(event.subject, TimelineEntry.of(event.id, event.time, merged, event.data))
        await store.append(merged.into, survivor_entry(event))

    table: dict[str, Handler] = {"request.submitted": on_submitted, "request.merged": on_merged}
    table.update(dict.fromkeys(TIMELINE_TYPES, on_lifecycle))
    return table


def runs(store: RequestStore) -> dict[str, BatchHandler]:
    """A run of lifecycle events lands on its timelines in a few round trips, whatever its length."""
    async def on_lifecycles(events: Sequence[CloudEvent]) -> None:
        await store.append_all([(event.subject, TimelineEntry.of_event(event)) for event in events])

    return dict.fromkeys(TIMELINE_TYPES, on_lifecycles)

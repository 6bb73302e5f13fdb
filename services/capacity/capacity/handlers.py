"""Capacity's subscribers: every classified or withdrawn request replans the backlog."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from redis.asyncio.client import Pipeline

from capacity.domain import OpenItem, Placement, Policy, forecast, moved, points_for, reason
from capacity.store import CapacityStore
from shared.events import (
    CloudEvent,
    RequestBacklogged,
    RequestClassified,
    Requester,
    RequestWithdrawn,
    derived_id,
    envelope,
    parse_data,
)
from shared.messaging import EventPublisher, Handler, Outcomes


def routes(store: CapacityStore, outcomes: Outcomes, publisher: EventPublisher,
           policy: Callable[[], Policy], source: str) -> dict[str, Handler]:
    def backlogged(cause: CloudEvent, items: dict[str, OpenItem],
                   changed: list[Placement]) -> list[CloudEvent]:
        events = []
        for placement in changed:
            item = items[placement.request_id]
            data = RequestBacklogged(
                request_id=item.request_id, title=item.title,
                requester=Requester.model_validate(item.requester), lane=item.lane,
                objective_id=item.objective_id, position=placement.position,
                expected_start_cycle=placement.cycle, expected_start=placement.cycle_start,
                points=item.points, reason=reason(item))
            events.append(envelope(data, source=source,
                                   event_id=derived_id(cause.id, item.request_id, data.event_type)))
        return events

    async def replan(cause: CloudEvent, pipe: Pipeline, items: dict[str, OpenItem],
                     also: Sequence[str]) -> list[CloudEvent]:
        placements = forecast(items.values(), policy(), date.today())
        changed = moved(await store.placements(), placements, also)
        store.put_placements(pipe, placements)
        return backlogged(cause, items, changed)

    async def on_classified(event: CloudEvent) -> None:
        classified = parse_data(event, RequestClassified)
        request = classified.request

        async def work(pipe: Pipeline) -> Sequence[CloudEvent]:
            if await store.is_closed(classified.request_id):
                return []
            item = OpenItem(
                request_id=classified.request_id, title=request.title,
                requester=request.requester.model_dump(), lane=classified.lane,
                colour=classified.colour, objective_id=classified.objective_id,
                objective_rank=classified.objective_rank, score=classified.score,
                points=points_for(request.effort, request.size, policy()),
                submitted_at=classified.submitted_at)
            items = {**await store.items(), item.request_id: item}
            store.put_item(pipe, item)
            return await replan(event, pipe, items, also=[item.request_id])

        async with store.lock():
            produced = await outcomes.once(event.id, work)
        await publisher.publish_all(produced)

    async def on_withdrawn(event: CloudEvent) -> None:
        withdrawn = parse_data(event, RequestWithdrawn)

        async def work(pipe: Pipeline) -> Sequence[CloudEvent]:
            items = await store.items()
            items.pop(withdrawn.request_id, None)
            store.close(pipe, withdrawn.request_id)
            return await replan(event, pipe, items, also=())

        async with store.lock():
            produced = await outcomes.once(event.id, work)
        await publisher.publish_all(produced)

    return {"request.classified": on_classified, "request.withdrawn": on_withdrawn}

"""Capacity's subscribers: classified and withdrawn requests change the board and replan it."""

from __future__ import annotations

from capacity.domain import Ledger, fold
from capacity.planning import Plan
from capacity.service import CapacityService
from shared.envelope import CloudEvent
from shared.events import EventData
from shared.messaging import Handler


def routes(service: CapacityService) -> dict[str, Handler]:
    async def on_input(event: CloudEvent) -> None:
        def change(ledger: Ledger, _: Plan) -> list[EventData]:
            fold(ledger, event.type, event.data)
            return []

        new = event.subject if event.type == "request.classified" else None
        await service.apply(change, cause_id=event.id, new=new)

    return {"request.classified": on_input, "request.withdrawn": on_input}

"""Capacity's subscribers: classified, withdrawn and merged requests change the board and replan it; a published
OKR set teaches the board its objectives' titles."""

from __future__ import annotations

import logging

from capacity.domain import Ledger, fold
from capacity.planning import Plan
from capacity.service import CapacityService
from capacity.store import TitleStore
from shared.envelope import CloudEvent
from shared.events import EventData, OkrsPublished
from shared.messaging import Handler

log = logging.getLogger(__name__)


def routes(service: CapacityService, titles: TitleStore) -> dict[str, Handler]:
    async def on_input(event: CloudEvent) -> None:
        def change(ledger: Ledger, _: Plan) -> list[EventData]:
            fold(ledger, event.type, event.data)
            return []

        new = event.subject if event.type == "request.classified" else None
        await service.apply(change, cause_id=event.id, new=new)

    async def on_okrs(event: CloudEvent) -> None:
        okrs = OkrsPublished.model_validate(event.data)
        if await titles.learn(okrs.quarter, okrs.version, {o.id: o.title for o in okrs.objectives}):
            log.info("%s: learnt the titles of OKR set %s v%d", event.id, okrs.quarter, okrs.version)

    return {"request.classified": on_input, "request.withdrawn": on_input, "request.merged": on_input,
            "okrs.published": on_okrs}

"""Capacity's subscribers: classified, withdrawn and merged requests change the board and replan it; a published
OKR set teaches the board its objectives' titles."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from capacity.service import CapacityService, folding
from capacity.store import TitleStore
from shared.batches import BatchHandler
from shared.envelope import CloudEvent
from shared.events import OkrsPublished
from shared.messaging import Handler

log = logging.getLogger(__name__)

# The consumed events that change the board.
BOARD_CHANGES = ("request.classified", "request.withdrawn", "request.merged")


def routes(service: CapacityService, titles: TitleStore) -> dict[str, Handler]:
    async def on_input(event: CloudEvent) -> None:
        new = event.subject if event.type == "request.classified" else None
        await service.apply(folding(event), cause_id=event.id, new=new)

    async def on_okrs(event: CloudEvent) -> None:
        okrs = OkrsPublished.model_validate(event.data)
        if await titles.learn(okrs.quarter, okrs.version, {o.id: o.title for o in okrs.objectives}):
            log.info("%s: learnt the titles of OKR set %s v%d", event.id, okrs.quarter, okrs.version)

    return {**dict.fromkeys(BOARD_CHANGES, on_input), "okrs.published": on_okrs}


def batch_routes(service: CapacityService) -> dict[str, BatchHandler]:
    """A run of board changes is planned once (``CapacityService.apply_run``); ``routes`` handles each of
    them alone when a run fails, to single out the one that cannot be handled."""
    async def on_run(events: Sequence[CloudEvent]) -> None:
        await service.apply_run(events)

    return dict.fromkeys(BOARD_CHANGES, on_run)

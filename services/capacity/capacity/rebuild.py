"""Rebuild capacity's Redis state from the Kafka event log.

    python -m capacity.rebuild        (make rebuild SERVICE=capacity)

Wipes capacity's keys, reads its input topics and its own decisions from the beginning up to their
current ends, folds them in time order into one ledger, and saves it; the OKR titles come back from
``okrs.published``. The planning lock is held throughout, so running instances wait and then read the
rebuilt ledger (its version only ever grows); capacity need not be stopped.
"""

from __future__ import annotations

import asyncio
import logging

from capacity.app import NAME
from capacity.config import CapacitySettings
from capacity.domain import Ledger
from capacity.events import fold, read
from capacity.flow.history import History
from capacity.flow.service import fold_event
from capacity.flow.store import FlowStore
from capacity.store import LOCK, VERSION, LedgerStore, TitleStore
from shared.envelope import CloudEvent, parse_data
from shared.events import OkrsPublished
from shared.infra import connect_redis
from shared.rebuild import RebuildRefused, Rebuilt, rebuild_service
from shared.runtime import configure_logging
from shared.topics import Topics

log = logging.getLogger(__name__)
LOCK_TIMEOUT_S = 1800  # the planning lock, held for the whole rebuild (10,000 requests take seconds)


async def rebuild(settings: CapacitySettings) -> Ledger:
    redis = connect_redis(settings.redis_url)
    store, titles = LedgerStore(redis), TitleStore(redis)
    ledger = Ledger()
    flow, history = FlowStore(redis), History()  # the flow history: a fold over the same events
    lock = store.lock(timeout=LOCK_TIMEOUT_S)

    async def fold_one(event: CloudEvent) -> None:
        if event.type == "okrs.published":
            okrs = parse_data(event, OkrsPublished)
            await titles.learn(okrs.quarter, okrs.version, {o.id: o.title for o in okrs.objectives})
            return
        data = read(event)
        if data is None:
            return
        fold(ledger, data)
        fold_event(history, ledger, data, event.time)
        if event.type == "request.bypass_refused":
            await store.record_bypass({**event.data, "at": event.time.date().isoformat()})

    async def save() -> None:
        if not await lock.owned():  # past its timeout a live instance may have planned: do not overwrite that
            raise RebuildRefused("the planning lock expired during the rebuild; run it again")
        ledger.dirty.update(ledger.cards)
        async with redis.pipeline(transaction=True) as pipe:
            store.save(pipe, ledger)
            flow.save(pipe, history, full=True)
            await pipe.execute()

    topics = Topics(settings.topic_prefix)
    try:
        async with lock:
            rebuilt: Rebuilt = await rebuild_service(
                NAME, settings, redis, [topics.requests, topics.classifications, topics.okrs, topics.decisions],
                fold_one, require_stopped=False, keep=frozenset({LOCK, VERSION}), finish=save)
        log.info("rebuilt capacity from %d events: %d cards", rebuilt.events, len(ledger.cards))
        return ledger
    finally:
        await redis.aclose()


def main() -> None:
    settings = CapacitySettings()
    configure_logging(f"{NAME}.rebuild", settings)
    ledger = asyncio.run(rebuild(settings))
    log.info("capacity rebuilt: %d cards, policy version %d", len(ledger.cards), ledger.policy.version)


if __name__ == "__main__":
    main()

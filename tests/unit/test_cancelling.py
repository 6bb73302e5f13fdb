"""A loop that runs until cancelled stops even when what it awaited swallowed the cancellation."""

from __future__ import annotations

import asyncio

from shared.runtime import _every


async def test_a_periodic_job_that_swallows_its_cancellation_still_stops() -> None:
    entered = asyncio.Event()
    swallowed: list[bool] = []

    async def swallowing() -> None:  # as some client code does: catches CancelledError once and returns
        entered.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(True)

    task = asyncio.create_task(_every("test", 0.01, swallowing))
    try:
        await asyncio.wait_for(entered.wait(), 2)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        assert swallowed == [True]
        assert task in done, "the loop went round again after its cancellation was swallowed"
        assert task.cancelled()
    finally:
        task.cancel()  # on a loop that went round again: this one the job lets through
        await asyncio.gather(task, return_exceptions=True)

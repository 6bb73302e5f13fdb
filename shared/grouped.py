"""Group commit: calls made while one is in flight wait for it, then go out together in the next.

Under load, many tasks each want the same few round trips (read some records, one broker
acknowledgement, one settle). Grouping them costs a lone caller nothing (its call starts on the next
turn of the loop) and makes the cost per caller fall as callers pile up, instead of the queue of
round trips growing. Hand-written: neither asyncio nor the clients in use offer it, and the few
libraries that batch calls do so on a timer, which adds latency at low load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Grouped"]

Item = TypeVar("Item")
Result = TypeVar("Result")


class Grouped(Generic[Item, Result]):
    def __init__(self, run: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]) -> None:
        """``run`` does the work of a group, answering one result per item, in their order."""
        self._run = run
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._leader: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Result:
        """``item``'s result, once the group it went out with is done; raises what that group raised."""
        waiting: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queued.append((item, waiting))
        if self._leader is None or self._leader.done():
            self._leader = asyncio.create_task(self._lead(), name="group commit")
        return await waiting

    async def _lead(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            try:
                results = await self._run([item for item, _ in group])
            except asyncio.CancelledError:  # shutting down: those waiting are cancelled too
                for _, waiting in [*group, *self._queued]:
                    waiting.cancel()
                self._queued = []
                raise
            except Exception as exc:  # each caller raises it, as it would have without grouping
                for _, waiting in group:
                    if not waiting.done():
                        waiting.set_exception(exc)
                continue
            for (_, waiting), result in zip(group, results, strict=True):
                if not waiting.done():  # a caller cancelled meanwhile has no one to tell
                    waiting.set_result(result)

"""The dispatcher: claims due jobs from the durable schedule and sends each in a task of its own.

Consuming never sends; it records and wakes the dispatcher. Each claimed job runs concurrently
(at most ``concurrency`` at once) with its own time limit, so a slow or dead receiver holds up
nothing but itself. A job is claimed under a lease: if the process dies mid-send, the job is due
again when the lease runs out, which is the one repeat a crash can cause. On shutdown, sends in
flight get ``grace_s`` to finish before they are cancelled (and left to their lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from notifier.schedule import Schedule
from shared.messaging import TRANSIENT

__all__ = ["Dispatcher", "Job"]

log = logging.getLogger(__name__)

Job = Callable[[str], Awaitable[None]]


class Dispatcher:
    def __init__(self, schedule: Schedule, jobs: Mapping[str, Job], *, concurrency: int, lease_s: float,
                 poll_s: float, grace_s: float, on_stop: Callable[[], Awaitable[None]] | None = None) -> None:
        self._schedule = schedule
        self._jobs = jobs
        self._concurrency = concurrency
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._grace_s = grace_s
        self._on_stop = on_stop
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Something may be due now: look without waiting for the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and send until cancelled (shared.runtime restarts it if it fails; sends in flight go on)."""
        try:
            while True:
                self._wake.clear()
                free = self._concurrency - len(self._running)
                try:
                    claimed = await self._schedule.claim(time.time(), self._lease_s, free) if free > 0 else []
                except TRANSIENT as exc:  # Redis away: sends in flight carry on, claiming resumes when it is back
                    log.warning("cannot claim due sends yet: %r", exc)
                    claimed, free = [], 0
                for kind, job_id in claimed:
                    task = asyncio.create_task(self._attempt(kind, job_id), name=f"send {kind} {job_id}")
                    self._running.add(task)
                    task.add_done_callback(self._done)
                if len(claimed) < free or free <= 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_s)
        except asyncio.CancelledError:
            await self._drain()
            if self._on_stop is not None:
                await self._on_stop()
            raise

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()  # a slot is free

    async def _attempt(self, kind: str, job_id: str) -> None:
        try:
            await self._jobs[kind](job_id)
        except Exception:  # one job's fault must not stop the others; its lease makes it due again
            log.exception("sending %s %s failed; it is due again after its lease (%.0fs)", kind, job_id,
                          self._lease_s)

    async def _drain(self) -> None:
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=self._grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.warning("stopped with %d send(s) in flight; they are due again after their lease", len(pending))

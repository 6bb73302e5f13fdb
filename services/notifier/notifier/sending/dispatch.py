"""The dispatcher: claims due jobs from the durable schedule and sends each in a task of its own.

Consuming never sends; it records and wakes the dispatcher. Each claimed job runs concurrently
(at most ``concurrency`` at once) with its own time limit, so a slow or dead receiver holds up
nothing but itself. A job is claimed under a lease: if the process dies mid-send, the job is due
again when the lease runs out, which is the one repeat a crash can cause. A job claimed again
while its attempt is still running here is only re-leased, never started twice. An attempt that
breaks down counts as a failed attempt of its job (unless Redis or Kafka is away: then its lease
brings it back). On shutdown, sends in flight get ``grace_s`` to finish before they are cancelled
(and left to their lease), and the senders' clients are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from opentelemetry import trace

from notifier.sending.schedule import Claim, Schedule
from shared.cancelling import stop_if_cancelled
from shared.faults import TRANSIENT
from shared.observability.tracing import continued

__all__ = ["Dispatcher", "Job"]

log = logging.getLogger(__name__)


class Job(Protocol):
    async def __call__(self, claim: Claim) -> None:
        """One attempt; its outcome is written only while ``claim`` holds the lease."""

    async def failed(self, claim: Claim, error: str) -> None:
        """The attempt broke down: count it as a failed attempt."""


class Dispatcher:
    def __init__(self, schedule: Schedule, jobs: Mapping[str, Job], *, concurrency: int, lease_s: float,
                 poll_s: float, grace_s: float, on_stop: Callable[[], Awaitable[None]] | None = None,
                 tracer: trace.Tracer | None = None) -> None:
        self._schedule = schedule
        self._jobs = jobs
        self._concurrency = concurrency
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._grace_s = grace_s
        self._on_stop = on_stop
        self._wake = asyncio.Event()
        self._telling: asyncio.Task[None] | None = None
        self._tell_again = False
        self._running: dict[str, tuple[asyncio.Task[None], Claim]] = {}
        self._tracer = tracer or trace.get_tracer(__name__)

    def wake(self) -> None:
        """Something may be due now: look without waiting for the next poll, and tell the other instances."""
        self._wake.set()
        if self._telling is not None and not self._telling.done():
            self._tell_again = True  # scheduled after the announcement in flight was sent: one more
            return
        self._telling = asyncio.create_task(self._tell())

    async def _tell(self) -> None:
        while True:
            self._tell_again = False
            try:
                await self._schedule.announce()
            except Exception as exc:  # the others find the job at their next poll
                log.warning("could not tell the other dispatchers of a scheduled send: %r", exc)
                return
            if not self._tell_again:
                return

    async def _listen(self) -> None:
        """Wake on every instance's announcements; listen again after a fault (the poll covers the gap)."""
        while True:
            try:
                async with self._schedule.wakes() as announced:
                    self._wake.set()  # anything announced while not listening
                    async for _ in announced:
                        self._wake.set()
            except Exception as exc:  # Redis away: the timed look still runs
                log.warning("not hearing other dispatchers (%r); listening again in %.1fs", exc, self._poll_s)
            stop_if_cancelled()
            await asyncio.sleep(self._poll_s)

    async def _idle(self) -> float:
        """How long to sleep when nothing is due: until the earliest job is, at most one poll (with every
        slot taken, until one is free: ``_done`` wakes the loop)."""
        if len(self._running) >= self._concurrency:
            return self._poll_s
        try:
            due = await self._schedule.next_due()
        except Exception:  # Redis away: the next loop reports it
            return self._poll_s
        return self._poll_s if due is None else min(self._poll_s, max(0.01, due - time.time()))

    async def run(self) -> None:
        """Claim and send until cancelled; then let sends in flight finish (or cancel them) and close."""
        listening = asyncio.create_task(self._listen(), name="dispatcher wakes")
        try:
            while True:
                # A cancellation that a client turned into an error of its own (or that Python 3.11's
                # wait_for lost) would otherwise keep this loop, and the shutdown waiting on it, going.
                stop_if_cancelled()
                try:
                    busy = await self._dispatch()
                except Exception:  # Redis away, or a fault of ours: visible here, tried again next poll
                    log.exception("claiming due sends failed; trying again in %.1fs", self._poll_s)
                    busy = False
                if not busy and not self._wake.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(await self._idle()):
                            await self._wake.wait()
        finally:
            listening.cancel()
            await asyncio.gather(listening, return_exceptions=True)
            await self._drain()
            if self._on_stop is not None:
                await self._on_stop()

    async def _dispatch(self) -> bool:
        """Claim what is due and start it; answers whether there may be more due right away."""
        self._wake.clear()
        free = self._concurrency - len(self._running)
        if free <= 0:
            return False
        claimed = await self._schedule.claim(time.time(), self._lease_s, free)
        started = 0
        for claim in claimed:
            running = self._running.get(claim.job)
            if running is not None:  # still sending it: the claim only renewed its lease
                running[1].token = claim.token
                continue
            task = asyncio.create_task(self._attempt(claim), name=f"send {claim.job}")
            self._running[claim.job] = (task, claim)
            task.add_done_callback(functools.partial(self._done, claim.job))
            started += 1
        return len(claimed) >= free and started > 0

    def _done(self, job: str, _: asyncio.Task[None]) -> None:
        self._running.pop(job, None)
        self._wake.set()  # a slot is free

    async def _attempt(self, claim: Claim) -> None:
        job = self._jobs.get(claim.kind)
        try:
            if job is None:
                log.error("%s: no such kind of job; dropped from the schedule", claim.job)
                await self._schedule.forget(claim.kind, claim.id)
                return
            # Each send continues the trace of the event that scheduled it (webhooks carry it on).
            with continued(self._tracer, claim.trace, f"send {claim.kind}", attributes={"notifier.job": claim.job}):
                await job(claim)
        except TRANSIENT as exc:
            log.warning("sending %s was interrupted; it is due again after its lease (%.0fs): %r", claim.job,
                        self._lease_s, exc)
        except Exception as exc:
            if job is None:
                raise
            log.exception("sending %s broke down; counted as a failed attempt", claim.job)
            try:
                await job.failed(claim, f"{type(exc).__name__}: {exc}")
            except Exception:  # its lease brings it back
                log.exception("could not record the failed attempt of %s; it is due again after its lease",
                              claim.job)

    async def _drain(self) -> None:
        if not self._running:
            return
        tasks = {task for task, _ in self._running.values()}
        _, pending = await asyncio.wait(tasks, timeout=self._grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.warning("stopped with %d send(s) in flight; they are due again after their lease", len(pending))

"""The dispatcher and one attempt's outcome, with the schedule, logs and channels faked: a job is never
sent twice at once, a broken attempt counts as a failed one, and the loop outlives its own faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
from pydantic import SecretStr
from redis.exceptions import ConnectionError as RedisConnectionError

from notifier.drafts import Draft
from notifier.records import Found
from notifier.sending.channels import Attempt, EmailChannel, SlackChannel, SmtpServer
from notifier.sending.dispatch import Dispatcher, Job
from notifier.sending.jobs import NotificationJob, RetryPolicy
from notifier.sending.recipients import Recipients
from notifier.sending.schedule import Claim, Schedule
from notifier.store import NotificationLog
from shared.messaging import EventPublisher
from shared.outbox import Outcomes

DRAFT = Draft(id="n-1", subject="r-1", request_id="r-1", about_event_id="e-1", about_event_type="request.backlogged",
              audience="requester", recipient="dave@example.com", channel="email", title="Your request",
              text="Hello")


class FakeSchedule:
    """Hands out the due jobs it is given, one batch per claim; ``fail`` raises on the next claims."""

    def __init__(self, *batches: list[str], fail: list[Exception] | None = None) -> None:
        self.batches = list(batches)
        self.fail = list(fail or [])
        self.claims = 0
        self.queued: list[tuple[str, tuple[Any, ...]]] = []
        self.forgotten: list[str] = []

    async def claim(self, now: float, lease_s: float, limit: int) -> list[Claim]:
        self.claims += 1
        if self.fail:
            raise self.fail.pop(0)
        members = self.batches.pop(0) if self.batches else []
        return [Claim(kind, job_id, f"t{self.claims}") for kind, job_id in (m.split(":", 1) for m in members)]

    async def under_lease(self, claim: Claim, queue: Callable[[Any], None]) -> bool:
        queue(self)
        return True

    async def forget(self, kind: str, job_id: str) -> None:
        self.forgotten.append(f"{kind}:{job_id}")

    async def next_due(self) -> float | None:
        return None

    async def announce(self) -> None:
        self.queued.append(("announce", ()))

    @asynccontextmanager
    async def wakes(self) -> AsyncIterator[AsyncIterator[object]]:
        async def never() -> AsyncIterator[object]:
            await asyncio.Event().wait()
            yield None

        yield never()

    def __getattr__(self, command: str) -> Callable[..., None]:  # a pipeline: records what is queued
        return lambda *args, **kwargs: self.queued.append((command, (*args, *kwargs.values())))


class BlockingJob:
    def __init__(self, error: Exception | None = None) -> None:
        self.claims: list[Claim] = []
        self.failures: list[tuple[Claim, str]] = []
        self.release = asyncio.Event()
        self.error = error

    async def __call__(self, claim: Claim) -> None:
        self.claims.append(claim)
        await self.release.wait()
        if self.error is not None:
            raise self.error

    async def failed(self, claim: Claim, error: str) -> None:
        self.failures.append((claim, error))


def dispatcher(schedule: FakeSchedule, job: Job, **options: Any) -> Dispatcher:
    values: dict[str, Any] = {"concurrency": 4, "lease_s": 30.0, "poll_s": 0.01, "grace_s": 0.5, **options}
    return Dispatcher(cast(Schedule, schedule), {"notification": job}, **values)


async def until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 2
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def running_for(d: Dispatcher, body: Callable[[], Awaitable[None]]) -> None:
    task = asyncio.create_task(d.run())
    try:
        await body()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_job_claimed_again_while_it_runs_is_only_re_leased_not_sent_twice() -> None:
    schedule, job = FakeSchedule(["notification:n-1"], ["notification:n-1"]), BlockingJob()
    d = dispatcher(schedule, job)

    async def body() -> None:
        await until(lambda: schedule.claims >= 3)
        assert len(job.claims) == 1
        assert job.claims[0].token == "t2"  # the running attempt holds the renewed lease
        job.release.set()

    await running_for(d, body)
    assert len(job.claims) == 1


async def test_an_attempt_that_breaks_down_counts_as_a_failed_attempt() -> None:
    job = BlockingJob(ValueError("header values may not contain linefeed or carriage return characters"))
    job.release.set()
    d = dispatcher(FakeSchedule(["notification:n-1"]), job)
    await running_for(d, lambda: until(lambda: bool(job.failures)))
    [(claim, error)] = job.failures
    assert claim.id == "n-1" and error.startswith("ValueError: header values")


async def test_an_attempt_interrupted_by_redis_is_left_to_its_lease() -> None:
    job = BlockingJob(RedisConnectionError("gone"))
    job.release.set()
    d = dispatcher(FakeSchedule(["notification:n-1"]), job)
    await running_for(d, lambda: until(lambda: bool(job.claims)))
    await asyncio.sleep(0.05)
    assert job.failures == []


async def test_a_job_of_no_known_kind_is_dropped_from_the_schedule() -> None:
    schedule = FakeSchedule(["digest:d-1"])
    d = dispatcher(schedule, BlockingJob())
    await running_for(d, lambda: until(lambda: bool(schedule.forgotten)))
    assert schedule.forgotten == ["digest:d-1"]


async def test_the_dispatcher_outlives_its_own_faults_and_always_drains_and_closes() -> None:
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    schedule, job = FakeSchedule(["notification:n-1"], fail=[RuntimeError("bug"), OSError("redis")]), BlockingJob()
    d = dispatcher(schedule, job, on_stop=close, grace_s=0.05)
    await running_for(d, lambda: until(lambda: bool(job.claims)))
    assert schedule.claims >= 3 and closed == [True]


class SwallowingSchedule(FakeSchedule):
    """A client that turns a cancellation into an error of its own, as network clients may."""

    async def claim(self, now: float, lease_s: float, limit: int) -> list[Claim]:
        self.claims += 1
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise TimeoutError("read timed out") from None
        return []


async def test_the_dispatcher_stops_even_when_a_client_swallows_its_cancellation() -> None:
    schedule = SwallowingSchedule()
    task = asyncio.create_task(dispatcher(schedule, BlockingJob()).run())
    await until(lambda: schedule.claims == 1)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert task in done and task.cancelled()


class FakeLog:
    async def draft(self, notification_id: str) -> Found:
        return Found(DRAFT, "pending", 0, None)

    async def withdrawn(self, request_id: str) -> bool:
        return False

    async def announce(self, *notification_ids: str) -> None:
        """Nothing to put on a log here."""


class SlowFailingEmail:
    configured = False

    async def send(self, **_: str) -> Attempt:
        return Attempt(datetime.now(UTC) - timedelta(seconds=10), False, 10_000, error="TimeoutError")


async def test_the_next_try_after_a_slow_failure_is_a_full_step_after_it_ended() -> None:
    schedule = FakeSchedule()
    recipients = Recipients(cast(Any, None), allowed_domains=frozenset({"example.com"}), limit_per_hour=1,
                            unthrottled=[])
    job = NotificationJob(cast(NotificationLog, FakeLog()), cast(Schedule, schedule),
                          email=cast(EmailChannel, SlowFailingEmail()), slack=None, recipients=recipients,
                          retry=RetryPolicy([5.0], jitter=0.0), outcomes=cast(Outcomes, None),
                          publisher=cast(EventPublisher, None), source="/notifier")
    before = time.time()
    await job(Claim("notification", "n-1", "t1"))
    [due] = [args[1]["notification:n-1"] for command, args in schedule.queued if command == "zadd"]
    assert due >= before + 5.0


async def test_an_address_with_a_line_break_fails_for_good_without_raising() -> None:
    channel = EmailChannel(SmtpServer(host="127.0.0.1", port=9, sender="a@example.com", sender_name="A"), 1.0)
    attempt = await channel.send(to="dave@example.com\r\nBcc: everyone@example.com", subject="Hi", text="x",
                                 message_id="n-1")
    assert not attempt.ok and attempt.final and "ValueError" in (attempt.error or "")


async def test_a_malformed_slack_url_fails_for_good_without_raising() -> None:
    async with httpx.AsyncClient() as client:
        slack = SlackChannel(SecretStr("https://hooks.slack.com/services/T0/B0/\x00x"), client, 1.0)
        attempt = await slack.send("hi")
    assert not attempt.ok and attempt.final


class FlakySchedule(FakeSchedule):
    """Its first lease-guarded write meets a Redis that just dropped its connection."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    async def under_lease(self, claim: Claim, queue: Callable[[Any], None]) -> bool:
        self.writes += 1
        if self.writes == 1:
            raise RedisConnectionError("Connection reset by peer")
        return await super().under_lease(claim, queue)


class SentEmail:
    configured = False

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, **_: str) -> Attempt:
        self.sent += 1
        return Attempt(datetime.now(UTC), True, 12)


class FakeOutcomes:
    def record(self, pipe: Any, outcome: str, events: Any) -> None:
        pipe.queued.append(("outcome", (outcome,)))

    async def deliver(self, *_: Any) -> None:
        """Nothing to put on a log here."""


async def test_a_sent_notice_whose_record_meets_a_redis_blip_is_recorded_not_left_to_be_sent_again() -> None:
    schedule, email = FlakySchedule(), SentEmail()
    recipients = Recipients(cast(Any, None), allowed_domains=frozenset({"example.com"}), limit_per_hour=1,
                            unthrottled=[])
    job = NotificationJob(cast(NotificationLog, FakeLog()), cast(Schedule, schedule),
                          email=cast(EmailChannel, email), slack=None, recipients=recipients,
                          retry=RetryPolicy([5.0], jitter=0.0), outcomes=cast(Outcomes, FakeOutcomes()),
                          publisher=cast(EventPublisher, None), source="/notifier")
    await job(Claim("notification", "n-1", "t1"))  # raising here would leave the sent notice to its lease
    assert email.sent == 1 and schedule.writes == 2
    assert ("outcome", ("sent:n-1",)) in schedule.queued

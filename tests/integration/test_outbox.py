"""The outbox keeps commit order on the real broker and Redis: what was committed first is published first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from capacity.config import CapacitySettings
from shared.envelope import CloudEvent
from shared.messaging import EventPublisher
from shared.observability.tracing import Tracing
from shared.outbox import Outcomes
from shared.topics import Topics
from tests.support import connected, traces_on

pytestmark = pytest.mark.integration


def _paused(n: int) -> CloudEvent:
    """One request's n-th decision, all with the same subject so order on its partition is what counts."""
    return CloudEvent(id=f"decision-{n}", source="/tests", type="request.paused", subject="one-request",
                      time=datetime.now(UTC), data={"n": n})


def _producing(events: list[CloudEvent]) -> Callable[[Pipeline], Awaitable[Sequence[CloudEvent]]]:
    async def work(_: Pipeline) -> list[CloudEvent]:
        return events

    return work


@pytest.fixture
async def outbox(settings_for: Callable[..., CapacitySettings]) -> AsyncIterator[tuple[Outcomes, EventPublisher,
                                                                                      KafkaBroker, Topics]]:
    async with connected(settings_for(CapacitySettings), "outbox-test") as (broker, topics, redis):
        yield Outcomes(redis, "outbox-test"), EventPublisher(broker, topics, 10), broker, topics


async def _published(settings_for: Callable[..., CapacitySettings], topics: Topics, count: int) -> list[int]:
    from tests.support import EventTap

    async with EventTap(settings_for(CapacitySettings).kafka_bootstrap, topics.decisions) as tap:
        events = await tap.wait_for(lambda es: len(es) >= count)
        return [int(e.data["n"]) for e in events]


async def test_the_relay_publishes_pending_outcomes_in_commit_order(
        outbox: tuple[Outcomes, EventPublisher, KafkaBroker, Topics], settings_for: Callable[..., CapacitySettings],
) -> None:
    outcomes, publisher, _, topics = outbox
    # Committed, then the process died before publishing; ids chosen so that sorting them reverses the order.
    for n, cause in enumerate(["cause-c", "cause-b", "cause-a"]):
        await outcomes.once(cause, _producing([_paused(n)]))
    assert await outcomes.republish_pending(publisher) == 3
    assert await _published(settings_for, topics, 3) == [0, 1, 2]


async def test_a_live_publish_never_overtakes_an_older_pending_outcome(
        outbox: tuple[Outcomes, EventPublisher, KafkaBroker, Topics], settings_for: Callable[..., CapacitySettings],
) -> None:
    outcomes, publisher, _, topics = outbox
    await outcomes.once("cause-older", _producing([_paused(0)]))
    await outcomes.run("cause-newer", _producing([_paused(1)]), publisher)
    assert await _published(settings_for, topics, 2) == [0, 1]
    assert await outcomes.republish_pending(publisher) == 0


async def test_an_outcome_published_by_a_later_one_is_not_published_again(
        outbox: tuple[Outcomes, EventPublisher, KafkaBroker, Topics], settings_for: Callable[..., CapacitySettings],
) -> None:
    outcomes, publisher, _, topics = outbox
    await outcomes.once("cause-first", _producing([_paused(0)]))
    await outcomes.once("cause-second", _producing([_paused(1)]))
    await outcomes.deliver("cause-second", [_paused(1)], publisher)  # sends the first one before it
    await outcomes.deliver("cause-first", [_paused(0)], publisher)  # its own turn: already on Kafka
    await outcomes.run("cause-marker", _producing([_paused(2)]), publisher)
    assert await _published(settings_for, topics, 3) == [0, 1, 2]


async def test_outcomes_an_earlier_version_left_pending_are_still_published(
        outbox: tuple[Outcomes, EventPublisher, KafkaBroker, Topics], settings_for: Callable[..., CapacitySettings],
) -> None:
    outcomes, publisher, _, topics = outbox
    redis = Redis.from_url(settings_for(CapacitySettings).redis_url, decode_responses=True)
    await outcomes.once("cause-old", _producing([_paused(0)]))
    await redis.lrem("outbox-test:outbox-ordered", 0, "cause-old")
    await redis.sadd("outbox-test:outbox", "cause-old")  # where the earlier version kept it
    await redis.aclose()
    assert await outcomes.republish_pending(publisher) == 1
    assert await _published(settings_for, topics, 1) == [0]


async def test_a_batch_of_outcomes_goes_out_after_older_pending_ones_in_order_and_only_once(
        outbox: tuple[Outcomes, EventPublisher, KafkaBroker, Topics], settings_for: Callable[..., CapacitySettings],
) -> None:
    outcomes, publisher, _, topics = outbox
    await outcomes.once("cause-older", _producing([_paused(0)]))
    batch = [(f"cause-{n}", [_paused(n)]) for n in (1, 2, 3)]
    for cause, produced in batch:
        await outcomes.once(cause, _producing(produced))
    seen = await outcomes.seen(["cause-older", "cause-1", "cause-3", "cause-never"])
    assert seen == {"cause-older", "cause-1", "cause-3"}
    await outcomes.deliver_all(batch, publisher)
    await outcomes.deliver_all(batch, publisher)  # a redelivered batch: already on Kafka
    await outcomes.run("cause-marker", _producing([_paused(4)]), publisher)
    assert await _published(settings_for, topics, 5) == [0, 1, 2, 3, 4]
    assert await outcomes.depth() == 0


async def test_outcomes_sent_together_each_continue_the_trace_of_their_own_cause(
        settings_for: Callable[..., CapacitySettings]) -> None:
    """Group commit sends several causes' outcomes in one go, in the task of whichever cause came first;
    each record must still carry its own cause's trace, or traces mix under load."""
    settings = settings_for(CapacitySettings)
    tracing = Tracing("outbox-trace-test", "memory")
    async with connected(settings, "outbox-trace-test", [tracing.kafka_middleware()]) as (broker, topics, redis):
        outcomes, publisher = Outcomes(redis, "outbox-trace-test"), EventPublisher(broker, topics, 10)

        async def cause(n: int) -> str:
            with tracing.tracer.start_as_current_span(f"handling cause {n}") as span:
                produced = await outcomes.once(f"cause-{n}", _producing([_paused(n)]))
                await outcomes.deliver(f"cause-{n}", produced, publisher)
                return f"{span.get_span_context().trace_id:032x}"

        traces = await asyncio.gather(*(cause(n) for n in range(4)))
        assert len(set(traces)) == 4
        found = {ce_id: trace_id for _, ce_id, trace_id in await traces_on(settings.kafka_bootstrap,
                                                                            topics.decisions, 4)}
    assert found == {f"decision-{n}": trace_id for n, trace_id in enumerate(traces)}


async def test_older_outcomes_a_later_cause_publishes_keep_the_trace_of_their_own_cause(
        settings_for: Callable[..., CapacitySettings]) -> None:
    """Causes committed before the one whose delivery runs first are published by it, as older and still
    pending: each in its own cause's trace, even before its own handler reached its delivery."""
    settings = settings_for(CapacitySettings)
    tracing = Tracing("outbox-older-trace-test", "memory")
    async with connected(settings, "outbox-older-trace-test",
                         [tracing.kafka_middleware()]) as (broker, topics, redis):
        outcomes, publisher = Outcomes(redis, "outbox-older-trace-test"), EventPublisher(broker, topics, 10)
        traces: dict[int, str] = {}
        for n in (1, 2, 3, 0):  # committed in this order; the last to commit delivers first
            with tracing.tracer.start_as_current_span(f"handling cause {n}") as span:
                await outcomes.once(f"cause-{n}", _producing([_paused(n)]))
                if n == 0:
                    await outcomes.deliver("cause-0", [_paused(0)], publisher)
                traces[n] = f"{span.get_span_context().trace_id:032x}"
        for n in (1, 2, 3):  # their own turns: already on Kafka
            await outcomes.deliver(f"cause-{n}", [_paused(n)], publisher)
        found = {ce_id: trace_id for _, ce_id, trace_id in await traces_on(settings.kafka_bootstrap,
                                                                            topics.decisions, 4)}
    assert len(set(traces.values())) == 4
    assert found == {f"decision-{n}": trace_id for n, trace_id in traces.items()}


async def test_the_context_of_a_cause_whose_transaction_never_committed_is_forgotten_by_the_relay(
        outbox: tuple[Outcomes, EventPublisher, KafkaBroker, Topics]) -> None:
    outcomes, publisher, _, _ = outbox
    redis = Redis.from_url("redis://unused")  # a pipeline that is never executed needs no server
    async with redis.pipeline(transaction=True) as abandoned:  # e.g. a send whose lease was lost
        outcomes.record(abandoned, "cause-lost", [_paused(0)])
    await outcomes.once("cause-kept", _producing([_paused(1)]))
    assert set(outcomes._origins) == {"cause-lost", "cause-kept"}  # held until published (the memory checked)
    await outcomes.republish_pending(publisher)  # publishes cause-kept; cause-lost is seen not pending once
    assert set(outcomes._origins) == {"cause-lost"}
    await outcomes.republish_pending(publisher)  # twice: forgotten
    assert outcomes._origins == {}
    await redis.aclose()

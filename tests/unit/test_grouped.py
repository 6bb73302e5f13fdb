"""Group commit: calls made while one is in flight go out together, each caller gets its own result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from shared.grouped import Grouped


class Doubling:
    def __init__(self, fail_on: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.fail_on = fail_on
        self.gate = asyncio.Event()

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.groups.append(list(items))
        await self.gate.wait()
        if self.fail_on in items:
            raise ValueError(f"{self.fail_on} is poison")
        return [item * 2 for item in items]


async def test_calls_made_while_one_is_in_flight_go_out_together() -> None:
    run = Doubling()
    grouped = Grouped(run)
    first = asyncio.create_task(grouped(1))
    await asyncio.sleep(0)  # the first group is out, waiting on the gate
    others = [asyncio.create_task(grouped(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    run.gate.set()
    assert [await first, *[await t for t in others]] == [2, 4, 6, 8]
    assert run.groups == [[1], [2, 3, 4]]


async def test_a_failed_group_fails_each_of_its_callers_and_the_next_group_goes_on() -> None:
    run = Doubling(fail_on=2)
    grouped = Grouped(run)
    first = asyncio.create_task(grouped(1))
    await asyncio.sleep(0)
    poisoned = [asyncio.create_task(grouped(n)) for n in (2, 3)]
    await asyncio.sleep(0)
    run.gate.set()
    assert await first == 2
    for task in poisoned:
        with pytest.raises(ValueError, match="poison"):
            await task
    assert await grouped(5) == 10


async def test_a_caller_that_gave_up_leaves_the_others_their_results() -> None:
    run = Doubling()
    grouped = Grouped(run)
    impatient, patient = asyncio.create_task(grouped(1)), asyncio.create_task(grouped(2))
    await asyncio.sleep(0)
    impatient.cancel()
    run.gate.set()
    assert await patient == 4
    assert impatient.cancelled() and run.groups == [[1, 2]]

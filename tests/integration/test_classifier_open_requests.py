"""The classifier's open requests on a real Redis, read as they change: a second look reads only what was put or
closed since the first (not every open request again), two instances see each other's changes, and a wipe or a
change made out of band is caught by the count and read whole again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from classifier.domain import OpenRequest
from classifier.store import OPEN, OpenRequests
from tests.support import details

pytestmark = pytest.mark.integration


class Counting(Redis):
    """Counts the HGETALLs of the open requests: the read of all of them."""

    wholes = 0

    async def hgetall(self, name: Any) -> Any:
        if name == OPEN:
            Counting.wholes += 1
        return await super().hgetall(name)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Counting.from_url(redis_url, decode_responses=True)
    Counting.wholes = 0
    yield client
    await client.aclose()


SPACE = "test-space"


def request(n: int, title: str = "A landing page") -> OpenRequest:
    return OpenRequest(f"r-{n}", details(title=f"{title} {n}"), datetime.now(UTC), None, None, "2026-Q4/v1", None)


async def put(redis: Redis, *requests: OpenRequest) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        for one in requests:
            OpenRequests(redis, SPACE).put(pipe, one)
        await pipe.execute()


def ids(found: list[OpenRequest]) -> set[str]:
    return {r.request_id for r in found}


async def test_later_looks_read_only_what_changed_and_see_another_instance_s_changes(redis: Redis) -> None:
    here, there = OpenRequests(redis, SPACE), OpenRequests(redis, SPACE)
    await put(redis, *(request(n) for n in range(50)))
    assert ids(await here.all()) == {f"r-{n}" for n in range(50)}
    assert Counting.wholes == 1
    await put(redis, request(50))  # another instance classified one more
    await there.close("r-3")
    await put(redis, request(7, title="Renamed"))
    found = {r.request_id: r for r in await here.all()}
    assert set(found) == {f"r-{n}" for n in range(51)} - {"r-3"}
    assert found["r-7"].details.title == "Renamed 7"
    assert Counting.wholes == 1  # read only the three changes
    assert ids(await there.all()) == set(found) and Counting.wholes == 2  # a new reader reads them all once


async def test_a_wipe_or_a_change_out_of_band_is_caught_by_the_count(redis: Redis) -> None:
    reader = OpenRequests(redis, SPACE)
    await put(redis, request(1), request(2))
    assert ids(await reader.all()) == {"r-1", "r-2"}
    await redis.flushdb()
    await put(redis, request(9))
    assert ids(await reader.all()) == {"r-9"}
    await redis.hdel(OPEN, "r-9")  # not through ``close``: no change is logged
    assert ids(await reader.all()) == set()


async def test_a_rollover_keeping_what_it_read_leaves_a_request_closed_meanwhile_closed(redis: Redis) -> None:
    here, there = OpenRequests(redis, SPACE), OpenRequests(redis, SPACE)
    await put(redis, request(1), request(2))
    read = await here.all()  # a rollover reads the open requests, then classifies them again
    await there.close("r-1")  # withdrawn meanwhile, on another instance
    await here.keep([replace(r, classified_under="2026-Q4/v2") for r in read])
    kept = await OpenRequests(redis, SPACE).all()
    assert ids(kept) == {"r-2"} and kept[0].classified_under == "2026-Q4/v2"
    assert await here.all() == kept  # the rewrite was on the changes stream: a reader took it in

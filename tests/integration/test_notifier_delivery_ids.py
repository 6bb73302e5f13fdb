"""A delivery id is looked up as given: one that names another record's key (``<id>:attempts``, the delivery's
list of attempts) is no delivery, on a real Redis, where reading a list as a hash is an error (a 500)."""

from __future__ import annotations

import pytest

from notifier.webhooks.deliveries import DeliveryLog
from shared.infra import connect_redis

pytestmark = pytest.mark.integration


async def test_an_id_naming_a_deliverys_attempts_is_no_delivery(redis_url: str) -> None:
    redis = connect_redis(redis_url)
    try:
        await redis.rpush("notifier:delivery:d-1:attempts", '{"status": 500}')
        await redis.rpush("notifier:delivery:d-1:attempts:attempts", '{"status": 500}')
        assert await DeliveryLog(redis).get("d-1:attempts") is None
    finally:
        await redis.delete("notifier:delivery:d-1:attempts", "notifier:delivery:d-1:attempts:attempts")
        await redis.aclose()

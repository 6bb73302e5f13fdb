"""A retried submission answers with the request's signed page even after its key's stored answer expired."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from intake.app import create_app
from intake.config import IntakeSettings
from shared.idempotency import IdempotencyKeys
from tests.support import AUTH, request_body, running

pytestmark = pytest.mark.integration

SECRET = "a-link-secret-for-tests-only-0123456789"


async def test_a_retry_after_the_keys_answer_expired_still_carries_the_page_link(
        settings_for: Callable[..., IntakeSettings]) -> None:
    settings = settings_for(IntakeSettings, link_secret=SECRET)
    headers = {**AUTH, "Idempotency-Key": "form-replay-1"}
    async with running(create_app(settings)) as client:
        first = await client.post("/v1/requests", json=request_body(), headers=headers)
        assert first.status_code == 202 and "page" in first.json()["links"]
        redis = Redis.from_url(settings.redis_url)
        await IdempotencyKeys(redis, "intake").abandon("test-tool", "form-replay-1")  # the stored answer expired
        await redis.aclose()
        again = await client.post("/v1/requests", json=request_body(), headers=headers)
        assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
        page = again.json()["links"].get("page", "")  # signed anew: the token carries the time it was made
        assert page.startswith(f"/pages/mine#request={first.json()['id']}&token=")

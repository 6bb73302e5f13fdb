"""A POST /v1/subscriptions whose subscription was made but whose answer was never kept (the notifier stopped,
or Redis failed, in between): a retry with its Idempotency-Key gets the subscription. Real broker and Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from standardwebhooks.webhooks import Webhook

from notifier.app import create_app
from notifier.config import NotifierSettings
from notifier.rebuild import rebuild
from notifier.webhooks.subscriptions import Subscription, SubscriptionStore, check_secret, new_secret
from shared import idempotency
from shared.envelope import derived_id
from shared.idempotency import IdempotencyKeys
from shared.topics import Topics
from tests.notifier_samples import backlogged
from tests.receivers import HttpReceiver
from tests.support import API_KEY, API_KEYS, AUTH, emptied, event, eventually, publish, records_of, running

pytestmark = pytest.mark.integration

PATH = "/v1/subscriptions"
TOOL = API_KEYS[API_KEY]["tool"]
KEY = "crm-hook-1"
KEYED = {**AUTH, "Idempotency-Key": KEY}


async def made_before_a_crash(settings: NotifierSettings, body: dict[str, Any],
                              at: datetime | None = None) -> Subscription:
    """What a POST with KEY leaves when the notifier stops after making the subscription, before keeping
    its answer: the subscription (on the log once the relay has run), and, its claim expired, nothing
    under the key."""
    made = Subscription(id=derived_id("subscription", TOOL, KEY), url=body["url"],
                        event_types=sorted(body["event_types"]), secret=body.get("secret") or new_secret(),
                        created_at=(at or datetime.now(UTC)).isoformat(), created_by=TOOL)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        assert await SubscriptionStore(redis).create(made)
    finally:
        await redis.aclose()
    return made


async def test_a_retry_gets_the_subscription_whose_answer_was_lost_with_a_new_secret_that_a_rebuild_keeps(
        settings_for: Callable[..., NotifierSettings]) -> None:
    settings = settings_for(NotifierSettings, allow_private_targets=True, dispatch_poll_s=0.05,
                            shutdown_grace_s=0.0, outbox_relay_s=0.1)
    topic = Topics(settings.topic_prefix).subscriptions
    sample = event(backlogged("r-1"))
    async with HttpReceiver() as receiver:
        body = {"url": receiver.url, "event_types": ["request.backlogged"]}
        lost = await made_before_a_crash(settings, body)
        async with running(create_app(settings)) as client:
            await eventually(lambda: records_of(settings.kafka_bootstrap, topic))  # its first secret sealed
            answer = await client.post(PATH, json=body, headers=KEYED)
            assert answer.status_code == 201, answer.text
            secret = answer.json()["secret"]
            check_secret(secret)
            assert answer.json()["id"] == lost.id and secret != lost.secret  # nobody ever saw the first one
            assert "idempotent-replayed" not in answer.headers
            again = await client.post(PATH, json=body, headers=KEYED)
            assert again.headers["idempotent-replayed"] == "true" and again.json() == answer.json()
            shown = (await client.get(f"{PATH}/{lost.id}", headers=AUTH)).json()
            assert shown["secret"] == f"whsec_…{secret[-4:]}"

        await emptied(settings.redis_url)
        await rebuild(settings)  # the notifier stopped; its Redis rebuilt from the log alone
        async with running(create_app(settings)):
            await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), sample)
            [got] = await receiver.wait_for(1)
        assert Webhook(secret).verify(got.body, got.headers) == json.loads(sample.model_dump_json())


async def test_a_redis_fault_keeping_the_answer_still_answers_201_and_a_retry_gets_the_same_subscription(
        settings_for: Callable[..., NotifierSettings], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(NotifierSettings, allow_private_targets=True)
    monkeypatch.setattr(idempotency, "IN_FLIGHT_TTL_S", 1)  # the claim its answer did not replace expires soon
    complete, faults = IdempotencyKeys.complete, [RedisConnectionError("Redis went away")]

    async def failing_once(self: IdempotencyKeys, *args: Any) -> None:
        if faults:
            raise faults.pop()
        await complete(self, *args)

    monkeypatch.setattr(IdempotencyKeys, "complete", failing_once)
    secret = new_secret()
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "secret": secret}
    async with running(create_app(settings)) as client:
        first = await client.post(PATH, json=body, headers=KEYED)
        assert first.status_code == 201, first.text  # not 503 "nothing was changed": it was made
        assert first.json()["secret"] == secret and not faults

        await asyncio.sleep(1.2)
        other = await client.post(PATH, json={**body, "url": "http://127.0.0.1:9/other"}, headers=KEYED)
        assert other.status_code == 422 and other.json()["subscription_id"] == first.json()["id"], other.text
        retried = await client.post(PATH, json=body, headers=KEYED)
        assert retried.status_code == 201, retried.text
        assert retried.headers["idempotent-replayed"] == "true" and retried.json() == first.json()
        [listed] = (await client.get(PATH, headers=AUTH)).json()["items"]
        assert listed["id"] == first.json()["id"]


async def test_a_key_whose_subscription_is_older_than_answers_are_kept_is_refused_and_its_secret_kept(
        settings_for: Callable[..., NotifierSettings]) -> None:
    settings = settings_for(NotifierSettings, allow_private_targets=True)
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
    # Its answer may have been given and have expired since: its secret may be in use.
    made = await made_before_a_crash(settings, body, at=datetime.now(UTC) - timedelta(hours=49))
    async with running(create_app(settings)) as client:
        answer = await client.post(PATH, json=body, headers=KEYED)
        assert answer.status_code == 409 and made.id in answer.json()["detail"], answer.text
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        assert await SubscriptionStore(redis).get(made.id) == made
    finally:
        await redis.aclose()

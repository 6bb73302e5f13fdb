"""Webhook subscriptions against the real broker and Redis, delivering to a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifier.app import create_app
from notifier.config import NotifierSettings
from notifier.webhooks.subscriptions import new_secret
from shared.topics import Topics
from tests.notifier_samples import backlogged, samples
from tests.receivers import HttpReceiver
from tests.support import AUTH, event, eventually, publish, running

pytestmark = pytest.mark.integration

FAST: dict[str, Any] = {"allow_private_targets": True, "dispatch_poll_s": 0.05, "send_timeout_s": 2.0,
                        "lease_s": 14.0, "shutdown_grace_s": 0.0, "retry_schedule_s": [1.0, 2.0, 1.0]}


@pytest.fixture
def fast(settings_for: Callable[..., NotifierSettings]) -> Callable[..., NotifierSettings]:
    def build(**overrides: Any) -> NotifierSettings:
        return settings_for(NotifierSettings, **{**FAST, **overrides})

    return build


async def subscribe(client: httpx.AsyncClient, url: str, *types: str, **extra: Any) -> dict[str, Any]:
    answer = await client.post("/v1/subscriptions", json={"url": url, "event_types": list(types), **extra},
                               headers=AUTH)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def deliveries(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    answer = await client.get("/v1/deliveries", params=params, headers=AUTH)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_a_delivery_verifies_with_standardwebhooks_and_a_tampered_one_does_not(
        fast: Callable[..., NotifierSettings]) -> None:
    settings = fast()
    sample = event(backlogged("r-1", position=4))
    async with HttpReceiver() as receiver, running(create_app(settings)) as client:
        subscription = await subscribe(client, receiver.url, "request.backlogged")
        secret = subscription["secret"]
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), sample)
        [got] = await receiver.wait_for(1)

        assert Webhook(secret).verify(got.body, got.headers) == json.loads(sample.model_dump_json())
        assert got.headers["content-type"] == "application/cloudevents+json"
        tampered = got.body.replace(b'"position":4', b'"position":1')
        assert tampered != got.body
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(tampered, got.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(got.body, got.headers)

        [delivery] = await eventually(lambda: deliveries(client, subscription_id=subscription["id"],
                                                         status="succeeded"))
        assert delivery["webhook_id"] == got.headers["webhook-id"] and delivery["event_id"] == sample.id
        assert [a["status_code"] for a in delivery["attempts"]] == [200]

        await asyncio.sleep(1.1)  # a later second, so the fresh signature differs
        answer = await client.post(f"/v1/deliveries/{delivery['id']}/redeliver", headers=AUTH)
        assert answer.status_code == 202, answer.text
        again = (await receiver.wait_for(2))[1]
        assert again.headers["webhook-id"] == got.headers["webhook-id"]
        assert again.headers["webhook-signature"] != got.headers["webhook-signature"]
        assert Webhook(secret).verify(again.body, again.headers) == json.loads(sample.model_dump_json())
        shown = (await client.get(f"/v1/subscriptions/{subscription['id']}", headers=AUTH)).json()
        assert shown["secret"] == f"whsec_…{secret[-4:]}"


async def test_a_receiver_answering_500_is_retried_on_schedule_and_then_succeeds(
        fast: Callable[..., NotifierSettings]) -> None:
    settings = fast(retry_schedule_s=[1.0, 2.0, 1.0], retry_jitter=0.2)
    async with HttpReceiver([500, 500]) as receiver, running(create_app(settings)) as client:
        subscription = await subscribe(client, receiver.url, "request.backlogged")
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), event(backlogged("r-1")))
        first, second, third = await receiver.wait_for(3, timeout=15)
        assert len({r.headers["webhook-id"] for r in (first, second, third)}) == 1
        gaps = [second.at - first.at, third.at - second.at]
        assert gaps[0] >= 0.8 and gaps[1] >= 1.6  # never before due: the schedule 1 s, 2 s, less its 20% jitter

        [delivery] = await eventually(lambda: deliveries(client, subscription_id=subscription["id"],
                                                         status="succeeded"))
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
        assert delivery["next_attempt_at"] is None


async def test_a_receiver_that_never_recovers_is_failed_after_the_last_retry_and_redirects_are_not_followed(
        fast: Callable[..., NotifierSettings]) -> None:
    settings = fast(retry_schedule_s=[0.2, 0.2])
    async with HttpReceiver() as elsewhere, \
            HttpReceiver(default=302, extra_headers={"Location": "/moved"}) as moving, \
            running(create_app(settings)) as client:
        del elsewhere
        subscription = await subscribe(client, moving.url, "request.backlogged")
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix), event(backlogged("r-1")))
        [delivery] = await eventually(lambda: deliveries(client, subscription_id=subscription["id"],
                                                         status="failed"))
        assert [a["status_code"] for a in delivery["attempts"]] == [302, 302, 302]
        assert len(moving.requests) == 3 and {r.path for r in moving.requests} == {"/hook"}


async def test_a_410_disables_the_subscription_and_nothing_more_is_delivered_to_it(
        fast: Callable[..., NotifierSettings]) -> None:
    settings = fast()
    topics = Topics(settings.topic_prefix)
    async with HttpReceiver([410]) as receiver, running(create_app(settings)) as client:
        subscription = await subscribe(client, receiver.url, "request.backlogged")

        async def disabled() -> bool:
            shown = (await client.get(f"/v1/subscriptions/{subscription['id']}", headers=AUTH)).json()
            return bool(shown["status"] == "disabled")

        await publish(settings.kafka_bootstrap, topics, event(backlogged("r-1")))
        await eventually(disabled)
        await publish(settings.kafka_bootstrap, topics, event(backlogged("r-2")))
        await eventually(lambda: _told(client, "r-2"))
        await asyncio.sleep(0.5)
        assert len(receiver.requests) == 1
        [delivery] = await deliveries(client, subscription_id=subscription["id"])
        assert delivery["status"] == "failed" and delivery["attempts"][0]["status_code"] == 410
        answer = await client.post(f"/v1/deliveries/{delivery['id']}/redeliver", headers=AUTH)
        assert answer.status_code == 409 and answer.headers["content-type"] == "application/problem+json"


async def test_each_subscription_gets_the_event_types_it_asked_for(fast: Callable[..., NotifierSettings]) -> None:
    settings = fast()
    all_types = samples()
    async with HttpReceiver() as some, HttpReceiver() as every, running(create_app(settings)) as client:
        await subscribe(client, some.url, "request.scheduled", "capacity.alert")
        await subscribe(client, every.url, "*")
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix),
                      event(all_types["request.scheduled"]), event(all_types["request.started"]))
        # Both events, and the notification.sent of the message each caused.
        await every.wait_for(4)
        kinds = sorted(json.loads(r.body)["type"] for r in every.requests)
        assert kinds == ["notification.sent", "notification.sent", "request.scheduled", "request.started"]
        assert [json.loads(r.body)["type"] for r in some.requests] == ["request.scheduled"]


async def test_subscriptions_refuse_private_targets_unknown_types_and_bad_secrets(
        fast: Callable[..., NotifierSettings]) -> None:
    settings = fast(allow_private_targets=False)
    async with running(create_app(settings)) as client:
        async def refused(body: dict[str, Any], *fragments: str) -> dict[str, Any]:
            answer = await client.post("/v1/subscriptions", json=body, headers=AUTH)
            assert answer.status_code == 422, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            problem: dict[str, Any] = answer.json()
            assert all(f in problem["detail"] for f in fragments), problem["detail"]
            return problem

        await refused({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}, "loopback")
        await refused({"url": "http://localhost/hook", "event_types": ["*"]}, "loopback")
        await refused({"url": "http://169.254.169.254/latest", "event_types": ["*"]}, "link-local")
        await refused({"url": "ftp://93.184.215.14/x", "event_types": ["*"]}, "http")
        problem = await refused({"url": "https://93.184.215.14/hook", "event_types": ["request.exploded"]},
                                "request.exploded")
        assert problem["unknown_event_types"] == ["request.exploded"]
        await refused({"url": "https://93.184.215.14/hook", "event_types": ["*"], "secret": "hunter2"}, "whsec_")
        await refused({"url": "https://93.184.215.14/hook", "event_types": ["*"], "colour": "red"}, "colour")
        assert (await client.get("/v1/subscriptions", headers=AUTH)).json()["items"] == []

        secret = new_secret()
        body = {"url": "https://93.184.215.14/hook", "event_types": ["request.done"], "secret": secret}
        keyed = {**AUTH, "Idempotency-Key": "crm-webhook-1"}
        created = await client.post("/v1/subscriptions", json=body, headers=keyed)
        assert created.status_code == 201 and created.json()["secret"] == secret
        replayed = await client.post("/v1/subscriptions", json=body, headers=keyed)
        assert replayed.headers["idempotent-replayed"] == "true" and replayed.json() == created.json()
        other = await client.post("/v1/subscriptions", json={**body, "event_types": ["*"]}, headers=keyed)
        assert other.status_code == 422
        no_key = await client.post("/v1/subscriptions", json=body, headers={"Authorization": "Bearer nope"})
        assert no_key.status_code == 401

        [listed] = (await client.get("/v1/subscriptions", headers=AUTH)).json()["items"]
        assert listed["id"] == created.json()["id"] and listed["secret"] == f"whsec_…{secret[-4:]}"
        assert (await client.delete(f"/v1/subscriptions/{listed['id']}", headers=AUTH)).status_code == 204
        gone = await client.get(f"/v1/subscriptions/{listed['id']}", headers=AUTH)
        assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"


async def _told(client: httpx.AsyncClient, request_id: str) -> bool:
    answer = await client.get("/v1/notifications", params={"request_id": request_id})
    return bool(answer.json()["items"])

"""The notifier killed (SIGKILL) while it sends email and webhooks: nothing lost, repeats within the bound.

The bound (README, "Exactly once where possible, bounded otherwise"): a crash repeats at most
the sends in flight at that moment, so at most ``SEND_CONCURRENCY`` of them, each once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.builders import unalike
from tests.e2e.stack import ServiceProcess
from tests.receivers import HttpReceiver, MailSink
from tests.support import AUTH, eventually

pytestmark = pytest.mark.e2e

IN_FLIGHT = 4  # SEND_CONCURRENCY of this stack: the most a crash may repeat
BURST = 12


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return "e2e-notifier-crash"




@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[HttpReceiver]:
    async with HttpReceiver(delay_s=0.05) as found:
        yield found


@pytest.fixture(scope="module")
def stack_settings(stack_settings: dict[str, str], sink: MailSink) -> dict[str, str]:
    return {**stack_settings, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
            "ALLOW_PRIVATE_TARGETS": "true", "SEND_CONCURRENCY": str(IN_FLIGHT), "SEND_TIMEOUT_S": "2",
            "LEASE_S": "15", "RETRY_SCHEDULE_S": "[1, 2, 4]", "UPDATE_WINDOW_S": "2"}


def _told_by(notice: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> bool:
    """Sent, or an update replaced while it waited by a notice that was sent (or itself replaced so)."""
    while notice["status"] != "sent":
        notice = by_id.get(notice["superseded_by"] or "", {"status": "none", "superseded_by": None})
        if notice["status"] == "none":
            return False
    return True


async def test_killing_the_notifier_while_it_sends_loses_nothing_and_repeats_within_the_bound(
        services: dict[str, ServiceProcess], sink: MailSink, receiver: HttpReceiver) -> None:
    notifier, intake = services["notifier"].url, services["intake"].url
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        subscribed = await http.post(f"{notifier}/v1/subscriptions", json={
            "url": receiver.url, "event_types": ["request.backlogged", "request.scheduled"]})
        assert subscribed.status_code == 201, subscribed.text
        subscription_id = subscribed.json()["id"]
        ids = []
        for i in range(BURST):
            body = unalike(i, requester={
                "id": f"u-{i}", "name": f"Requester {i}", "email": f"requester{i}@example.com",
                "team": "Enterprise Sales", "type": "sales"})
            answer = await http.post(f"{intake}/v1/requests", json=body, headers={"Idempotency-Key": f"crash-{i}"})
            assert answer.status_code == 202
            ids.append(answer.json()["id"])
        await sink.wait_for(1, timeout=60)
        services["notifier"].kill()  # mid-burst: the first email is in, the others are queued or in flight
        sent_before_kill = len(sink.mail)
        await asyncio.sleep(0.5)
        services["notifier"].start()

        async def all_sent() -> list[dict[str, Any]] | None:
            told: list[dict[str, Any]] = []
            for request_id in ids:
                answer = await http.get(f"{notifier}/v1/notifications", params={"request_id": request_id})
                items = answer.json()["items"]
                if not items:
                    return None  # each request is told something: backlogged or scheduled, maybe both
                told += items
            done = all(_told_by(n, {t["id"]: t for t in told}) for n in told)
            states.update(mail=Counter(n["status"] for n in told), mails=len(sink.mail))
            return told if done else None

        async def all_delivered() -> list[dict[str, Any]] | None:
            answer = await http.get(f"{notifier}/v1/deliveries",
                                    params={"subscription_id": subscription_id, "limit": 100})
            items: list[dict[str, Any]] = answer.json()["items"]
            states.update(hooks=Counter(d["status"] for d in items), received=len(receiver.requests))
            return items if len(items) >= BURST and all(d["status"] == "succeeded" for d in items) else None

        states: dict[str, object] = {}
        try:
            told = await eventually(all_sent, timeout=90)
            delivered = await eventually(all_delivered, timeout=90)
        finally:
            print(f"\nafter the restart: {states}")

    # Nothing lost: every recorded message reached the mail server, every delivery the receiver.
    received_mail = Counter(str(m.message["Message-ID"]).strip("<>").split("@")[0] for m in sink.mail)
    assert set(received_mail) == {n["id"] for n in told if n["status"] == "sent"}, received_mail
    assert {f"requester{i}@example.com" for i in range(BURST)} == {to for m in sink.mail for to in m.to}
    received_hooks = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(received_hooks) == {d["id"] for d in delivered}
    # Repeated: only what was in flight at the kill, once each.
    repeats = sum(n - 1 for n in received_mail.values()) + sum(n - 1 for n in received_hooks.values())
    assert max([*received_mail.values(), *received_hooks.values()]) <= 2
    assert repeats <= IN_FLIGHT, (received_mail, received_hooks)
    assert {n["recipient"] for n in told} == {f"requester{i}@example.com" for i in range(BURST)}
    print(f"\nkilled after {sent_before_kill} of {BURST} emails; repeats after restart: {repeats} "
          f"(bound {IN_FLIGHT})")

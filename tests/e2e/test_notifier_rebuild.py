"""The notifier rebuilt from the log: its Redis lost, every public read the same, nothing sent again,
and what was pending at the stop sent once after the restart. Four service processes, real Kafka and
Redis, a real SMTP server and webhook receivers on loopback; the rebuild is the operator's command.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from standardwebhooks.webhooks import Webhook

from shared.topics import Topics
from tests.builders import unalike
from tests.e2e.stack import ServiceProcess
from tests.infra import Endpoints
from tests.receivers import HttpReceiver, MailSink
from tests.support import AUTH, records_of, settled

pytestmark = pytest.mark.e2e

PREFIX = "e2e-notifier-rebuild"
NOTIFIER_DB = 15  # the notifier's database in the end-to-end stack
STATUSES = ("pending", "succeeded", "failed", "cancelled")
LATE = "late@example.com"  # its mail is refused ("try again later") until after the restart
# The first retry comes at once; the second long after, so what failed twice is pending across the rebuild.
RETRIES = [1.0, 60.0, 40.0]  # the second wait outlasts the reads, the stop, the rebuild and the restart


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return PREFIX




@pytest.fixture(scope="module")
def stack_settings(stack_settings: dict[str, str], sink: MailSink) -> dict[str, str]:
    return {**stack_settings, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
            "ALLOW_PRIVATE_TARGETS": "true", "SEND_TIMEOUT_S": "2", "LEASE_S": "15", "SHUTDOWN_GRACE_S": "1",
            "DISPATCH_POLL_S": "0.2", "RETRY_SCHEDULE_S": json.dumps(RETRIES), "RETRY_JITTER": "0.1"}


def requester(name: str, email: str) -> dict[str, str]:
    return {"id": f"u-{name}", "name": name.title(), "email": email, "team": "Enterprise Sales", "type": "sales"}


class Notifier:
    """The notifier's public reads, through its HTTP API."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        answer = await self.http.get(f"{self.url}{path}", params={k: v for k, v in params.items() if v is not None})
        return answer.status_code, answer.json()

    async def pages(self, path: str, **params: Any) -> list[Any]:
        """Every page, walking the cursor (pages are small, so the cursors are compared too)."""
        got, cursor = [], None
        while True:
            status, body = await self.get(path, limit=3, cursor=cursor, **params)
            assert status == 200, body
            got.append(body)
            cursor = body["next_cursor"]
            if cursor is None:
                return got

    async def subscribe(self, url: str, *types: str) -> dict[str, Any]:
        answer = await self.http.post(f"{self.url}/v1/subscriptions", json={"url": url, "event_types": list(types)})
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def deliveries(self, subscription_id: str | None = None) -> list[dict[str, Any]]:
        return [d for page in await self.pages("/v1/deliveries", subscription_id=subscription_id)
                for d in page["items"]]

    async def notices(self, request_id: str) -> list[dict[str, Any]]:
        status, body = await self.get("/v1/notifications", request_id=request_id)
        assert status == 200, body
        items: list[dict[str, Any]] = body["items"]
        return items

    async def every_read(self, request_ids: list[str], subscription_ids: list[str]) -> dict[str, Any]:
        reads: dict[str, Any] = {}
        for request_id in request_ids:
            reads[f"notifications {request_id}"] = await self.get("/v1/notifications", request_id=request_id)
        reads["subscriptions"] = await self.pages("/v1/subscriptions")
        for subscription_id in subscription_ids:
            reads[f"subscription {subscription_id}"] = await self.get(f"/v1/subscriptions/{subscription_id}")
        for owner in (None, *subscription_ids):
            for status in (None, *STATUSES):
                reads[f"deliveries {owner} {status}"] = await self.pages("/v1/deliveries", subscription_id=owner,
                                                                         status=status)
        for delivery in await self.deliveries():
            reads[f"delivery {delivery['id']}"] = await self.get(f"/v1/deliveries/{delivery['id']}")
        return reads


async def sealed_records(bootstrap: str) -> list[bytes]:
    return [value for _, value in await records_of(bootstrap, Topics(PREFIX).subscriptions)]


async def test_a_rebuilt_notifier_reads_the_same_sends_nothing_again_and_sends_what_was_pending_once(
        services: dict[str, ServiceProcess], endpoints: Endpoints, sink: MailSink) -> None:
    intake = services["intake"].url
    async with HttpReceiver() as every, HttpReceiver([500]) as flaky, HttpReceiver() as dropped, \
            HttpReceiver(default=410) as gone, HttpReceiver([500, 500]) as late_hook, \
            httpx.AsyncClient(timeout=10, headers=AUTH) as http:
        notifier = Notifier(http, services["notifier"].url)
        receivers = [every, flaky, dropped, gone, late_hook]
        subscribed = [await notifier.subscribe(every.url, "*"),
                      await notifier.subscribe(flaky.url, "request.backlogged", "request.scheduled"),
                      await notifier.subscribe(dropped.url, "request.submitted"),
                      await notifier.subscribe(gone.url, "request.classified")]

        # Through the pipeline: three requests (one withdrawn), told by email and delivered as webhooks;
        # one receiver fails once and is retried, one answers 410 Gone, one subscription is deleted.
        request_ids = []
        for i in range(3):
            answer = await http.post(f"{intake}/v1/requests", headers={"Idempotency-Key": f"rebuild-{i}"},
                                     json=unalike(i, requester=requester(f"r{i}", f"r{i}@example.com")))
            assert answer.status_code == 202, answer.text
            request_ids.append(answer.json()["id"])

        async def all_told() -> list[Any] | None:
            told = [await notifier.notices(r) for r in request_ids]
            final = all(told) and all(n["status"] != "pending" for items in told for n in items)
            return [len(sink.mail), [len(r.requests) for r in receivers], told] if final else None

        await settled(all_told)
        withdrawn = await http.post(f"{intake}/v1/requests/{request_ids[2]}/withdraw")
        assert withdrawn.status_code in (200, 202), withdrawn.text

        async def all_delivered() -> list[Any] | None:
            found = await notifier.deliveries()
            quiet = found and all(d["status"] != "pending" for d in found)
            return [len(sink.mail), [len(r.requests) for r in receivers], found] if quiet else None

        await settled(all_delivered)
        deleted = await http.delete(f"{notifier.url}/v1/subscriptions/{subscribed[2]['id']}")
        assert deleted.status_code == 204

        # Pending at the stop: a request whose requester's mail server says "try again later", and a
        # subscription whose receiver fails twice: each is due again long after the restart.
        subscribed.append(await notifier.subscribe(late_hook.url, "request.submitted"))
        sink.refusing.add(LATE)
        answer = await http.post(f"{intake}/v1/requests", headers={"Idempotency-Key": "rebuild-late"},
                                 json=unalike(3, requester=requester("late", LATE)))
        request_ids.append(answer.json()["id"])

        async def twice_failed() -> list[Any] | None:
            late = await notifier.notices(request_ids[-1])
            hooks = await notifier.deliveries(subscribed[-1]["id"])
            others = [d for d in await notifier.deliveries() if d not in hooks]
            ready = (late and all(n["status"] == "pending" and n["attempts"] == 2 for n in late)
                     and [h["attempt_count"] for h in hooks] == [2] and all(d["status"] != "pending" for d in others))
            return [late, hooks, others] if ready else None

        await settled(twice_failed, timeout=60)
        ids = [s["id"] for s in subscribed]
        before = await notifier.every_read(request_ids, ids)
        mail, refused, hooks = len(sink.mail), len(sink.refused), [len(r.requests) for r in receivers]
        assert before[f"subscription {ids[2]}"][0] == 404 and before[f"subscription {ids[3]}"][1]["status"] == \
            "disabled"
        assert {"pending", "succeeded", "failed"} <= {d["status"] for d in await notifier.deliveries()}

        # The operator's rebuild: the notifier stopped, its Redis lost, the log replayed, then started again.
        services["notifier"].stop()
        wiped = Redis.from_url(f"{endpoints.redis_base}/{NOTIFIER_DB}")
        await wiped.flushdb()
        await wiped.aclose()
        output = services["notifier"].run("notifier.rebuild")
        print("\n" + "\n".join(line for line in output.splitlines() if "notifier" in line and "rebuil" in line))
        services["notifier"].start()

        after = await notifier.every_read(request_ids, ids)
        assert after.keys() == before.keys()
        assert [k for k in before if before[k] != after[k]] == []
        await asyncio.sleep(3)
        assert (len(sink.mail), len(sink.refused), [len(r.requests) for r in receivers]) == (mail, refused, hooks)

        # What was pending is sent once, at its time; nothing else is.
        sink.refusing.clear()
        late_notices = await notifier.notices(request_ids[-1])

        async def late_sent() -> list[Any] | None:
            told = await notifier.notices(request_ids[-1])
            [hook] = await notifier.deliveries(ids[-1])
            done = all(n["status"] == "sent" for n in told) and hook["status"] == "succeeded"
            return [told, hook, len(sink.mail), [len(r.requests) for r in receivers]] if done else None

        [told, hook, *_] = await settled(late_sent, timeout=120)
        assert [n["attempts"] for n in told] == [3] * len(late_notices)
        assert [a["status_code"] for a in hook["attempts"]] == [500, 500, 200]
        sent_late = Counter(str(m.message["Message-ID"]).strip("<>").split("@")[0] for m in sink.mail[mail:])
        assert sent_late == Counter({n["id"]: 1 for n in late_notices})
        assert {to for m in sink.mail[mail:] for to in m.to} == {LATE}
        assert [len(r.requests) for r in receivers[1:]] == [*hooks[1:4], hooks[4] + 1]
        new_for_every = [json.loads(r.body)["type"] for r in every.requests[hooks[0]:]]
        assert set(new_for_every) <= {"notification.sent"}, new_for_every  # only what the late notices caused

        # Redelivery still works, signed with the secret given when subscribing (unsealed from the log).
        flaky_delivery = (await notifier.deliveries(ids[1]))[0]
        answer = await http.post(f"{notifier.url}/v1/deliveries/{flaky_delivery['id']}/redeliver")
        assert answer.status_code == 202, answer.text
        [*_, again] = await flaky.wait_for(hooks[1] + 1)
        assert again.headers["webhook-id"] == flaky_delivery["id"]
        Webhook(subscribed[1]["secret"]).verify(again.body, again.headers)

    # On the log, no secret is in clear.
    records = await sealed_records(endpoints.kafka_bootstrap)
    assert records
    for subscription in subscribed:
        secret = subscription["secret"]
        assert not any(secret.encode() in r or secret.removeprefix("whsec_").encode() in r for r in records)

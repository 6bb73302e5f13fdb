"""Two instances of every service, one consumer group each, under a burst: the work is shared, and killing
one instance of each mid-burst loses nothing and decides nothing twice (real processes, broker, Redis)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from collections.abc import Iterator

import httpx
import pytest

from shared.envelope import CloudEvent
from shared.topics import Topics
from tests.e2e.stack import SERVICES, ServiceProcess, stack
from tests.infra import Endpoints
from tests.receivers import MailSink
from tests.support import AUTH, EventTap, eventually, request_body

pytestmark = pytest.mark.e2e

PREFIX = "e2e-scale"
BURST = 60
IN_FLIGHT = 4  # the notifier's SEND_CONCURRENCY: what a killed instance may repeat, at most
LANES = ("customer", "sales", "business_unit")




@pytest.fixture(scope="module")
def pairs(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory,
          sink: MailSink) -> Iterator[list[dict[str, ServiceProcess]]]:
    """Two stacks on the same topics and databases: two instances of each service in one group."""
    settings = {"RATE_LIMIT_PER_MINUTE": "100000", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
                "SEND_CONCURRENCY": str(IN_FLIGHT)}
    logs = tmp_path_factory.mktemp("scale-logs")
    found = []
    for n in (1, 2):
        (logs / str(n)).mkdir()
        found.append(stack(endpoints.kafka_bootstrap, endpoints.redis_base, PREFIX, logs / str(n), extra=settings))
    try:
        for instances in found:
            for process in instances.values():
                process.start()
        yield found
    finally:
        for instances in found:
            for process in instances.values():
                process.stop()
        print(f"\nscale-out logs: {logs}")


_HANDLED = re.compile(r'^governance_events_handled_total\{[^}]*outcome="handled"[^}]*\} (\S+)$', re.M)


def _handled(metrics: str) -> float:
    return sum(float(m.group(1)) for m in _HANDLED.finditer(metrics))


async def test_two_instances_share_the_work_and_losing_one_of_each_loses_nothing(
        endpoints: Endpoints, pairs: list[dict[str, ServiceProcess]], sink: MailSink) -> None:
    first, second = pairs
    topics = Topics(PREFIX)
    ids: list[str] = []
    async with httpx.AsyncClient(timeout=15, headers=AUTH) as http, \
            EventTap(endpoints.kafka_bootstrap, topics.classifications, topics.decisions, topics.notifications) as tap:
        for i in range(BURST):
            if i == BURST // 2:
                shared = {name: [_handled((await http.get(f"{p[name].url}/metrics")).text) for p in pairs]
                          for name in SERVICES}
                print(f"\nevents handled per instance before the kill: {shared}")
                for process in first.values():
                    process.kill()  # SIGKILL, mid-burst: no shutdown, no final commit
            door = (first if i % 2 and i < BURST // 2 else second)["intake"].url
            lane = LANES[i % len(LANES)]
            # One stakeholder's id on every ask: look-alike asks of different requesters would also bring
            # reuse notices (one per pair), which this test does not count.
            body = request_body(title=f"Scale-out burst {i}", requester={
                "id": "u-scale", "name": f"Requester {i}", "email": f"scale{i}@example.com",
                "team": f"{lane} team", "type": lane})
            answer = await http.post(f"{door}/v1/requests", json=body, headers={"Idempotency-Key": f"scale-{i}"})
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["id"])
            await asyncio.sleep(0.05)

        def decided(events: list[CloudEvent]) -> bool:
            told = {e.data.get("request_id") for e in events if e.type == "notification.sent"}
            first_answer = {e.subject for e in events if e.type in ("request.scheduled", "request.backlogged")}
            return set(ids) <= first_answer and set(ids) <= told

        await tap.wait_for(decided, timeout=180)
        await asyncio.sleep(2)  # anything that would be repeated has time to show

        async def mailed() -> bool:
            return {f"scale{i}@example.com" for i in range(BURST)} <= {to for m in sink.mail for to in m.to}

        await eventually(mailed, timeout=60)

    for name in SERVICES:  # before the kill, both instances of every service had handled events
        assert all(count > 0 for count in shared[name]), shared
    mine = [e for e in tap.events if e.subject in set(ids)]
    classified: dict[str, set[str]] = defaultdict(set)
    scheduled: dict[str, set[str]] = defaultdict(set)
    for event in mine:
        if event.type == "request.classified" and not event.data.get("reclassified"):
            classified[event.subject].add(event.id)
        if event.type == "request.scheduled":
            scheduled[event.subject].add(event.id)
    assert {rid: len(found) for rid, found in classified.items()} == dict.fromkeys(ids, 1)
    assert all(len(found) == 1 for found in scheduled.values()), scheduled
    notices: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for event in (e for e in mine if e.type == "notification.sent"):
        notices[(event.data["about_event_id"], event.data["recipient"], event.data["channel"])].add(
            event.data["notification_id"])
    assert all(len(found) == 1 for found in notices.values()), "a notice was recorded twice"
    received = Counter(str(m.message["Message-ID"]) for m in sink.mail)
    repeats = sum(n - 1 for n in received.values())
    assert repeats <= IN_FLIGHT, received
    print(f"\n{BURST} requests through two instances of each service, one of each killed at {BURST // 2}: "
          f"each classified once, {len(scheduled)} committed once each, {len(received)} emails, {repeats} repeated")

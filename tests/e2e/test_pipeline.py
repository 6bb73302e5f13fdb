"""The whole pipeline as real processes on the real broker: POST to notification, crashes, and every
record the processes produced matching the AsyncAPI document."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.kafka_auth import KafkaAuth
from shared.rebuild import read_records
from shared.topics import Topics
from tests.contract import channel_addresses, record_violations
from tests.e2e.stack import SERVICES, ServiceProcess
from tests.infra import Endpoints
from tests.support import AUTH, EventTap, eventually, request_body

pytestmark = pytest.mark.e2e


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, headers=AUTH) as client:
        yield client


async def notifications(http: httpx.AsyncClient, services: dict[str, ServiceProcess],
                        request_id: str) -> list[dict[str, Any]]:
    answer = await http.get(f"{services['notifier'].url}/v1/notifications", params={"request_id": request_id})
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_a_request_travels_from_post_to_notification(
        services: dict[str, ServiceProcess], http: httpx.AsyncClient) -> None:
    intake = services["intake"].url
    started = time.perf_counter()
    answer = await http.post(f"{intake}/v1/requests", json=request_body(title="First landing page"),
                             headers={**AUTH, "Idempotency-Key": "e2e-first"})
    assert answer.status_code == 202
    first = answer.json()["id"]
    told = await eventually(lambda: notifications(http, services, first))
    latency = time.perf_counter() - started
    assert "is committed to cycle" in told[0]["text"]
    # The sales lane's share (4 of 20 points a week) is now taken: the next one waits, and is told so.
    second = (await http.post(f"{intake}/v1/requests", json=request_body(title="Second landing page"),
                              headers={**AUTH, "Idempotency-Key": "e2e-second"})).json()["id"]
    told = await eventually(lambda: notifications(http, services, second))
    assert "not right now" in told[0]["text"] and "number 1 in the backlog" in told[0]["text"]
    assert "sales share of this cycle" in told[0]["text"]

    async def full_timeline() -> dict[str, Any] | None:
        found: dict[str, Any] = (await http.get(f"{intake}/v1/requests/{second}")).json()
        types = {t["type"] for t in found["timeline"]}
        wanted = {"request.submitted", "request.classified", "request.backlogged", "notification.sent"}
        return found if wanted <= types else None

    found = await eventually(full_timeline)
    assert found["status"] == "backlogged"
    print(f"\nPOST to recorded notification: {latency * 1000:.0f} ms")
    for name, process in services.items():
        print(f"{name} resident: {process.resident_kib() / 1024:.0f} MiB")


@pytest.mark.parametrize("victim", SERVICES)
async def test_killing_a_service_mid_burst_loses_no_request_and_repeats_no_notification(
        services: dict[str, ServiceProcess], http: httpx.AsyncClient, endpoints: Endpoints, victim: str) -> None:
    intake = services["intake"].url
    count = 15

    async def submit(i: int) -> str:
        """A requester tool that retries with the same Idempotency-Key until accepted."""
        body = request_body(title=f"Burst {victim} {i}")
        headers = {**AUTH, "Idempotency-Key": f"burst-{victim}-{i}"}
        deadline = time.monotonic() + 90
        while True:
            try:
                answer = await http.post(f"{intake}/v1/requests", json=body, headers=headers)
                if answer.status_code == 202:
                    return str(answer.json()["id"])
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"request {i} never accepted"
            await asyncio.sleep(0.3)

    async with EventTap(endpoints.kafka_bootstrap, Topics("e2e").decisions) as decisions:
        burst = [asyncio.create_task(submit(i)) for i in range(count)]
        await asyncio.sleep(0.3)
        services[victim].kill()
        await asyncio.sleep(1.0)
        services[victim].start()
        ids = await asyncio.gather(*burst)
        assert len(set(ids)) == count

        async def settled() -> bool:
            for request_id in ids:
                told = await notifications(http, services, request_id)
                decided = {e.id for e in decisions.events if e.subject == request_id
                           and e.type in ("request.backlogged", "request.scheduled")}
                if not decided or {n["about_event_id"] for n in told} != decided:
                    return False
            return True

        async def on_the_timelines() -> bool:
            for request_id in ids:
                found = (await http.get(f"{intake}/v1/requests/{request_id}")).json()
                if found["status"] not in ("backlogged", "committed"):
                    return False
            return True

        await eventually(settled, timeout=90)
        await eventually(on_the_timelines, timeout=60)
        for request_id in ids:
            told = await notifications(http, services, request_id)
            about = [n["about_event_id"] for n in told]
            assert len(about) == len(set(about)), f"{request_id} was told the same thing twice"


async def test_every_record_the_processes_produced_matches_the_asyncapi_document(
        services: dict[str, ServiceProcess], http: httpx.AsyncClient, endpoints: Endpoints,
        stack_prefix: str) -> None:
    # Last in the module, so the records of the bursts and crashes above are read too.
    answer = await http.post(f"{services['intake'].url}/v1/requests", json=request_body(title="Contract check"),
                             headers={**AUTH, "Idempotency-Key": "e2e-contract"})
    assert answer.status_code == 202
    await eventually(lambda: notifications(http, services, answer.json()["id"]))
    password = os.environ.get("TEST_KAFKA_ADMIN_PASSWORD")
    records = await read_records(endpoints.kafka_bootstrap, sorted(channel_addresses(stack_prefix)),
                                 KafkaAuth("admin", password) if password else None)
    types = {json.loads(r.value or b"{}").get("type") for r in records}
    assert {"request.submitted", "request.classified", "notification.sent"} <= types
    assert types & {"request.scheduled", "request.backlogged"}
    problems = [(r.topic, r.offset, problem) for r in records for problem in record_violations(
        stack_prefix, r.topic, r.value or b"", {k: v.decode() for k, v in r.headers})]
    assert problems == []
    # The record key is the envelope's subject, as the document's Kafka binding says.
    assert [(r.topic, r.offset) for r in records if r.key != json.loads(r.value or b"{}")["subject"].encode()] == []

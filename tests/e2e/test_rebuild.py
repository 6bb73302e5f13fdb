"""Intake, the classifier and capacity rebuilt from the log: each one's Redis lost in turn, every public
read of the system the same after its rebuild, and nothing published again. Four service processes on
real Kafka (SASL/SCRAM, ACLs) and Redis; the rebuild is the operator's command, ``python -m <svc>.rebuild``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from shared.topics import Topics
from tests.builders import POLICY, okr_set
from tests.e2e.stack import SERVICES, ServiceProcess
from tests.infra import Endpoints
from tests.support import (
    API_KEY,
    AUTH,
    CRM_KEY,
    FORM_KEY,
    HEAT_SHIELD_KEY,
    EventTap,
    auth,
    eventually,
    publish_raw,
    request_body,
    settled,
)

pytestmark = pytest.mark.e2e

PREFIX = "e2e-rebuild"
DATABASES = {name: db for db, name in enumerate(SERVICES, start=12)}  # as tests/e2e/stack.py gives them
QUARTER = f"{date.today().year}-Q{(date.today().month - 1) // 3 + 1}"
STATUSES = ("submitted", "classified", "committed", "backlogged", "in_progress", "paused", "done", "withdrawn")
LANES = ("customer", "sales", "business_unit", "executive", "legal")
# Who reads: ops sees everything; a requester tool sees its own requests and cards, and counts the others.
READERS = {"ops": API_KEY, "crm": CRM_KEY}


@pytest.fixture(scope="module")
def stack_prefix() -> str:
    return PREFIX


def person(name: str, team: str, lane: str) -> dict[str, str]:
    return {"id": f"u-{name.lower()}", "name": name, "email": f"{name.lower()}@example.com", "team": team,
            "type": lane}


DAVE = person("Dave", "Enterprise Sales", "sales")
AISHA = person("Aisha", "Atlas Product Team", "business_unit")
LENA = person("Lena", "Customer Marketing", "customer")
MARIA = person("Maria", "Executive Office", "executive")


def normalised(path: str, body: Any) -> Any:
    """What may legitimately differ between two reads of the same state is taken out here, and only this:
    the dashboard's ``generated_at`` (the moment of the read) and ``version`` (the ledger's save counter,
    which a rebuild bumps by its one save, and which restarts when the Redis database is emptied)."""
    if path == "/v1/dashboard" and isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ("generated_at", "version")}
    return body


class System:
    """The four services' public reads and the calls that fill them, through their HTTP APIs."""

    def __init__(self, http: httpx.AsyncClient, services: dict[str, ServiceProcess]) -> None:
        self.http = http
        self.urls = {name: process.url for name, process in services.items()}

    async def call(self, method: str, service: str, path: str, key: str = API_KEY, *,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, f"{self.urls[service]}{path}", headers={**auth(key), **(headers or {})},
                                       **kwargs)

    async def get(self, service: str, path: str, key: str = API_KEY, **params: Any) -> tuple[int, Any]:
        answer = await self.call("GET", service, path, key, params={k: v for k, v in params.items() if v is not None})
        body = answer.json() if answer.headers.get("content-type", "").endswith("json") else answer.text
        return answer.status_code, normalised(path, body)

    async def ok(self, service: str, path: str, key: str = API_KEY, **params: Any) -> Any:
        status, body = await self.get(service, path, key, **params)
        assert status == 200, (path, body)
        return body

    async def submit(self, key: str, title: str, requester: dict[str, str], **fields: Any) -> str:
        answer = await self.call("POST", "intake", "/v1/requests", key, headers={"Idempotency-Key": f"rebuild-{title}"},
                                 json=request_body(title=title, requester=requester, **fields))
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    async def status(self, request_id: str) -> str:
        return str((await self.ok("intake", f"/v1/requests/{request_id}"))["status"])

    async def reaches(self, request_id: str, *statuses: str) -> None:
        async def there() -> bool:
            return await self.status(request_id) in statuses

        await eventually(there, timeout=60)

    async def move(self, request_id: str, action: str) -> httpx.Response:
        return await self.call("POST", "capacity", f"/v1/work/{request_id}/{action}")

    async def intake_pages(self, key: str, **filters: Any) -> list[Any]:
        """Every page of a listing, walking the cursor (small pages, so the cursors are compared too)."""
        got, cursor = [], None
        while True:
            body = await self.ok("intake", "/v1/requests", key, limit=2, cursor=cursor, **filters)
            got.append(body)
            cursor = body["next_cursor"]
            if cursor is None:
                return got

    async def every_read(self) -> dict[str, Any]:
        reads: dict[str, Any] = {}
        request_ids = [item["id"] for page in await self.intake_pages(API_KEY) for item in page["items"]]
        tradeoff_ids = [t["tradeoff_id"] for t in (await self.ok("capacity", "/v1/tradeoffs"))["items"]]
        for reader, key in READERS.items():
            for name, value in [(None, None), *(("status", s) for s in STATUSES), *(("lane", lane) for lane in LANES),
                                ("requester_id", DAVE["id"]), ("requester_id", AISHA["id"])]:
                filters = {name: value} if name else {}
                reads[f"{reader} requests {filters}"] = await self.intake_pages(key, **filters)
            for request_id in request_ids:
                reads[f"{reader} request {request_id}"] = await self.get("intake", f"/v1/requests/{request_id}", key)
            for path in ("/v1/board", "/v1/backlog", "/v1/capacity", "/v1/policy", "/v1/tradeoffs",
                         "/v1/reports/shares", "/v1/reports/shares.csv", "/v1/dashboard"):
                reads[f"{reader} capacity {path}"] = await self.get("capacity", path, key)
            for tradeoff_id in tradeoff_ids:
                reads[f"{reader} tradeoff {tradeoff_id}"] = await self.get("capacity", f"/v1/tradeoffs/{tradeoff_id}",
                                                                           key)
        reads["bypass attempts"] = await self.get("capacity", "/v1/bypass-attempts")
        reads["okrs current"] = await self.get("classifier", "/v1/okrs/current")
        reads["okrs quarter"] = await self.get("classifier", f"/v1/okrs/{QUARTER}")
        for version in (1, 2, 3):
            reads[f"okrs v{version}"] = await self.get("classifier", f"/v1/okrs/{QUARTER}", version=version)
        draft = request_body(title="Atlas 3.0 launch demo video", description="A demo for the launch.",
                             requester=AISHA)
        classified = await self.call("POST", "classifier", "/v1/classify", json=draft)
        reads["classify a draft"] = classified.status_code, classified.json()
        for service in self.urls:
            reads[f"{service} dead letters"] = await self.get(service, "/v1/dead-letters")
        # The notifier is not rebuilt here: its notices show that nothing was told twice.
        for request_id in request_ids:
            reads[f"notices {request_id}"] = await self.get("notifier", "/v1/notifications", request_id=request_id)
        return reads


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two reads differ, as paths into them (a short failure message, not two whole documents)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [found for key in sorted(before.keys() | after.keys(), key=str)
                for found in differences(before.get(key), after.get(key), f"{path}/{key}")]
    if isinstance(before, list | tuple) and isinstance(after, list | tuple) and len(before) == len(after):
        return [found for i, pair in enumerate(zip(before, after, strict=True))
                for found in differences(*pair, f"{path}[{i}]")]
    return [] if before == after else [f"{path}: {before!r:.120} -> {after!r:.120}"]


def messages(output: str, containing: str) -> list[str]:
    """The messages of a command's JSON log lines that contain ``containing``."""
    found = []
    for line in output.splitlines():
        with contextlib.suppress(ValueError, AttributeError):
            message = str(json.loads(line).get("message", ""))
            if containing in message:
                found.append(message)
    return found


async def fill(system: System, bootstrap: str) -> dict[str, str]:
    """Through the pipeline: OKRs (republished once requests are open), a policy, requests in every lane from
    three tools, an expedite whose trade-off is decided by a pause, a collision, a withdrawal, starts, a done,
    a pause, a refused bypass, and a record nobody can read (dead-lettered by every consumer)."""
    published = await system.call("PUT", "classifier", f"/v1/okrs/{QUARTER}", json=okr_set(3))
    assert published.status_code == 200, published.text
    policy = await system.call("PUT", "capacity", "/v1/policy", json=POLICY)
    assert policy.status_code == 200, policy.text

    webinar = await system.submit(FORM_KEY, "Customer onboarding webinar series", LENA, size="L",
                                  description="Webinars that build everyday usage and reduce churn.")
    page = await system.submit(CRM_KEY, "Landing page for Halvorsen Logistics", DAVE, size="M")
    microsite = await system.submit(FORM_KEY, "Atlas 3.0 launch microsite", AISHA, size="M", work_type="microsite",
                                    description="The launch microsite with demo videos.")
    report = await system.submit(API_KEY, "Quarterly executive report", MARIA, size="M", work_type="report")
    for request_id in (webinar, page, microsite, report):
        await system.reaches(request_id, "committed")

    # Large work of two teams, both due the same later cycle: a collision.
    cycle_start = date.fromisoformat((await system.ok("capacity", "/v1/capacity"))["cycle_start"])
    due = (cycle_start + timedelta(days=8)).isoformat()
    summit = await system.submit(CRM_KEY, "Sales summit booth and deck", DAVE, size="XL", due_date=due,
                                 work_type="event_support")
    launch = await system.submit(FORM_KEY, "Atlas partner launch kit", AISHA, size="XL", due_date=due,
                                 work_type="creative")
    second = await system.submit(CRM_KEY, "Second landing page for one account", DAVE, size="M")
    third = await system.submit(CRM_KEY, "Third landing page for one account", DAVE, size="S")
    for request_id in (summit, launch, second, third):
        await system.reaches(request_id, "backlogged")

    # An expedite over the executive lane's share: the heat shield pauses the report for it.
    slides = await system.submit(API_KEY, "Board slides for the Q4 review", MARIA, size="S", work_type="deck",
                                 expedite=True, justification="The board meets on Friday.")

    async def asked() -> list[dict[str, Any]]:
        return [t for t in (await system.ok("capacity", "/v1/tradeoffs"))["items"]
                if t["request_id"] == slides and t["status"] == "open"]

    [tradeoff] = await eventually(asked, timeout=60)
    decided = await system.call("POST", "capacity", f"/v1/tradeoffs/{tradeoff['tradeoff_id']}/decision",
                                HEAT_SHIELD_KEY, json={"pause": report})
    assert decided.status_code == 200, decided.text
    await system.reaches(slides, "committed")
    await system.reaches(report, "paused")

    withdrawn = await system.call("POST", "intake", f"/v1/requests/{third}/withdraw", CRM_KEY,
                                  json={"reason": "The account signed without it."})
    assert withdrawn.status_code == 202, withdrawn.text
    await system.reaches(third, "withdrawn")

    for request_id, action in ((microsite, "start"), (microsite, "done"), (page, "start"), (webinar, "pause")):
        moved = await system.move(request_id, action)
        assert moved.status_code == 200, moved.text
    bypass = await system.move(second, "start")
    assert bypass.status_code == 409 and bypass.json()["type"].endswith("bypass-refused"), bypass.text

    # The set republished with a fourth objective while requests are open: they are measured again.
    republished = await system.call("PUT", "classifier", f"/v1/okrs/{QUARTER}", json=okr_set(4))
    assert republished.status_code == 200, republished.text
    await publish_raw(bootstrap, Topics(PREFIX).requests, b"not json at all")
    return {"summit": summit, "launch": launch, "report": report, "slides": slides}


async def wiped(endpoints: Endpoints, service: str) -> None:
    redis = Redis.from_url(f"{endpoints.redis_base}/{DATABASES[service]}")
    await redis.flushdb()
    await redis.aclose()


@pytest.fixture
async def system(services: dict[str, ServiceProcess]) -> AsyncIterator[System]:
    async with httpx.AsyncClient(timeout=30, headers=AUTH) as http:
        yield System(http, services)


async def test_each_rebuilt_service_reads_the_same_and_publishes_nothing(
        services: dict[str, ServiceProcess], endpoints: Endpoints, system: System) -> None:
    ids = await fill(system, endpoints.kafka_bootstrap)

    async def quiet() -> dict[str, Any] | None:
        """Every read, once no notice is still to be sent: a pending one is more on its way."""
        reads = await system.every_read()
        notices = [n for key, read in reads.items() if key.startswith("notices ") for n in read[1]["items"]]
        return None if any(n["status"] == "pending" for n in notices) else reads

    before = await settled(quiet)

    # The story is all there before anything is lost.
    board = before["ops capacity /v1/board"][1]["columns"]
    assert {column for column, cards in board.items() if cards} >= {"committed", "in_progress", "done", "paused",
                                                                    "backlog"}
    [tradeoff] = before["ops capacity /v1/tradeoffs"][1]["items"]
    assert (tradeoff["status"], tradeoff["paused_request_id"]) == ("paused", ids["report"])
    for request_id in (ids["summit"], ids["launch"]):
        timeline = before[f"ops request {request_id}"][1]["timeline"]
        assert "request.conflict_detected" in {entry["type"] for entry in timeline}, "no collision to compare"
    assert len(before["bypass attempts"][1]["items"]) == 1
    assert before["okrs current"][1]["version"] == 2
    assert all(len(before[f"{service} dead letters"][1]["items"]) == 1 for service in SERVICES)
    assert before["crm capacity /v1/board"][1]["hidden"] != before["ops capacity /v1/board"][1]["hidden"]

    topics = Topics(PREFIX)
    async with EventTap(endpoints.kafka_bootstrap, topics.requests, topics.classifications, topics.okrs,
                        topics.decisions, topics.notifications) as tap:
        async def all_read() -> int:
            return len(tap.events)

        published = await settled(all_read)
        for service in ("intake", "classifier", "capacity"):
            process = services[service]
            if service != "capacity":  # capacity rebuilds under its planning lock, running
                process.stop()
            await wiped(endpoints, service)
            output = process.run(f"{service}.rebuild")
            print(f"\n{service}: " + " | ".join(messages(output, "rebuil")))
            if not process.running:
                process.start()
            after = await system.every_read()
            assert after.keys() == before.keys(), service
            assert differences(before, after) == [], f"{service} rebuilt differently"
        await asyncio.sleep(3)
        new = [(e.type, e.subject) for e in tap.events[published:]]
        assert new == [], "published again by a rebuild"

"""Faults on the real components: poison messages, a stopped broker, a restarted Redis."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from classifier.app import create_app as create_classifier
from classifier.config import ClassifierSettings
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from shared.topics import Topics
from tests.builders import okr_set, submitted
from tests.infra import Endpoints, NativeKafka, NativeRedis, free_port, grant_topics
from tests.support import API_KEYS, AUTH, EventTap, eventually, handled, publish, publish_raw, request_body, running

pytestmark = pytest.mark.integration


async def test_poison_message_is_retried_then_dead_lettered_and_can_be_replayed(
        settings_for: Callable[..., ClassifierSettings]) -> None:
    settings = settings_for(ClassifierSettings, handler_max_attempts=3)
    topics = Topics(settings.topic_prefix)
    poison = json.dumps({"specversion": "1.0", "id": "p-1", "source": "/x", "type": "request.submitted",
                         "subject": "r-p", "time": "2026-11-22T10:00:00Z", "data": {"oops": 1}}).encode()
    async with running(create_classifier(settings)) as client, \
            EventTap(settings.kafka_bootstrap, topics.dead_letters("classifier"),
                     topics.classifications) as tap:
        await publish_raw(settings.kafka_bootstrap, topics.requests, b"not json at all")
        await publish_raw(settings.kafka_bootstrap, topics.requests, poison)
        # The partition is not blocked: a good request behind the poison still flows.
        await publish(settings.kafka_bootstrap, topics, submitted("r-good"))

        async def letters() -> list[dict[str, object]]:
            items: list[dict[str, object]] = (await client.get("/v1/dead-letters")).json()["items"]
            return items if len(items) == 2 else []

        dead = await eventually(letters)
        assert {d["topic"] for d in dead} == {topics.requests}
        assert all("ValidationError" in str(d["error"]) for d in dead)
        # Not an envelope: set aside at once; an envelope whose data does not fit: tried handler_max_attempts times.
        assert sorted(d["attempts"] for d in dead) == [1, 3]
        await tap.wait_for(lambda es: any(e.subject == "r-good" for e in es))
        assert b"not json at all" in [value for _, value in tap.unparsed]

        replayed = await client.post(f"/v1/dead-letters/{dead[0]['id']}/replay", headers=AUTH)
        assert replayed.status_code == 200 and replayed.json()["replayed_at"]

        async def handled_again() -> list[dict[str, object]]:
            # Still poison: replayed through the classifier's own topic, handled, and set aside once more.
            items: list[dict[str, object]] = (await client.get("/v1/dead-letters")).json()["items"]
            return [d for d in items if d["topic"] == topics.replays("classifier")]

        assert await eventually(handled_again)
        assert (await client.post("/v1/dead-letters/unknown/replay", headers=AUTH)).status_code == 404
        keyless = await client.post(f"/v1/dead-letters/{dead[0]['id']}/replay", headers={"Authorization": ""})
        assert keyless.status_code == 401


async def test_failing_handler_is_retried_with_backoff_before_dead_lettering(
        settings_for: Callable[..., ClassifierSettings]) -> None:
    """A valid event whose handling keeps failing is tried max_attempts times, then set aside."""
    settings = settings_for(ClassifierSettings, handler_max_attempts=3, handler_backoff_s=0.1)
    topics = Topics(settings.topic_prefix)
    app = create_classifier(settings)
    async with running(app) as client:
        # An OKR set stored under the current quarter that cannot be parsed breaks classification.
        redis = Redis.from_url(settings.redis_url)
        await redis.hset(f"classifier:okrs:{settings.pinned_quarter or _quarter()}",
                         mapping={"latest": 1, "v1": "{broken"})
        await redis.aclose()
        published = datetime.now(UTC)
        await publish(settings.kafka_bootstrap, topics, submitted("r-fails"))

        async def letters() -> list[dict[str, object]]:
            items: list[dict[str, object]] = (await client.get("/v1/dead-letters")).json()["items"]
            return items

        dead = await eventually(letters)
        assert dead[0]["attempts"] == 3
        # Two waits between the three attempts, 0.1 s then 0.2 s: even jittered, more than 0.15 s in all.
        waited = datetime.fromisoformat(str(dead[0]["dead_lettered_at"])) - published
        assert waited.total_seconds() >= 0.15, waited


def _quarter() -> str:
    from datetime import date

    from classifier.domain import current_quarter

    return current_quarter(date.today())


@pytest.fixture
async def own_broker(tmp_path: Path, endpoints: Endpoints, topic_prefix: str) -> AsyncIterator[NativeKafka]:
    """A broker this test may stop and start, with the same users as the session's, and the test's ACLs."""
    kafka = NativeKafka(tmp_path / "kafka", users=endpoints.kafka_users)
    kafka.start()
    await grant_topics(kafka.bootstrap, topic_prefix)
    yield kafka
    kafka.stop()


async def test_intake_answers_503_while_kafka_is_down_and_loses_nothing(
        own_broker: NativeKafka, redis_url: str, topic_prefix: str) -> None:
    settings = IntakeSettings(kafka_bootstrap=own_broker.bootstrap, redis_url=redis_url,
                              topic_prefix=topic_prefix, api_keys=API_KEYS, publish_timeout_ms=2000)
    topics = Topics(topic_prefix)
    async with running(create_intake(settings)) as client:
        before = await client.post("/v1/requests", json=request_body(title="Before the outage"), headers=AUTH)
        assert before.status_code == 202
        own_broker.stop()
        during = await client.post("/v1/requests", json=request_body(title="During the outage"),
                                   headers={**AUTH, "Idempotency-Key": "outage-1"})
        assert during.status_code == 503
        assert during.headers["content-type"] == "application/problem+json"
        assert int(during.headers["Retry-After"]) > 0
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["kafka"] is False
        own_broker.start()
        retried = await client.post("/v1/requests", json=request_body(title="During the outage"),
                                    headers={**AUTH, "Idempotency-Key": "outage-1"})
        assert retried.status_code == 202
        listed = (await client.get("/v1/requests")).json()["items"]
        assert sorted(r["title"] for r in listed) == ["Before the outage", "During the outage"]
    async with EventTap(own_broker.bootstrap, topics.requests) as tap:
        await tap.wait_for(lambda es: len(es) >= 2)
        # The send that timed out may still land late: with the same event id and
        # request id as the retry, so consumers see one request, never two.
        distinct = {e.id: e for e in tap.events}
        assert sorted(e.data["request"]["title"] for e in distinct.values()) == [
            "Before the outage", "During the outage"]
        assert retried.json()["id"] in {e.subject for e in distinct.values()}


async def test_a_merge_the_log_did_not_confirm_keeps_its_claim_so_the_reverse_merge_is_refused(
        own_broker: NativeKafka, redis_url: str, topic_prefix: str) -> None:
    settings = IntakeSettings(kafka_bootstrap=own_broker.bootstrap, redis_url=redis_url,
                              topic_prefix=topic_prefix, api_keys=API_KEYS, publish_timeout_ms=2000)
    async with running(create_intake(settings)) as client:
        first, second = [(await client.post("/v1/requests", json=request_body(title=f"Account page {n}"),
                                            headers=AUTH)).json()["id"] for n in (1, 2)]

        async def both_read_back() -> bool:
            return bool([(await client.get(f"/v1/requests/{r}")).status_code for r in (first, second)] == [200, 200])

        await eventually(both_read_back)
        own_broker.stop()
        merge = await client.post(f"/v1/requests/{first}/merge", json={"into": second}, headers=AUTH)
        # Its send may land once the broker is back: the other way round must not be published meanwhile.
        reverse = await client.post(f"/v1/requests/{second}/merge", json={"into": first}, headers=AUTH)
        own_broker.start()
        assert merge.status_code == 503 and "may still take effect" in merge.json()["detail"]
        assert reverse.status_code == 409, reverse.text

        async def merged() -> bool:
            return bool((await client.get(f"/v1/requests/{first}")).json()["status"] == "merged")

        await eventually(merged, timeout=60)
        assert (await client.get(f"/v1/requests/{second}")).json()["status"] == "submitted"


async def test_restarted_redis_keeps_accepted_requests(
        tmp_path: Path, settings_for: Callable[..., IntakeSettings]) -> None:
    redis = NativeRedis(tmp_path / "redis")
    redis.start()
    try:
        settings = settings_for(IntakeSettings, redis_url=f"{redis.base}/0")
        async with running(create_intake(settings)) as client:
            accepted = await client.post("/v1/requests", json=request_body(), headers=AUTH)
            redis.stop()
            down = await client.post("/v1/requests", json=request_body(title="While Redis is down"),
                                     headers={**AUTH, "Idempotency-Key": "redis-down"})
            assert down.status_code == 503
            redis.start()

            async def found() -> bool:
                answer = await client.get(f"/v1/requests/{accepted.json()['id']}")
                return answer.status_code == 200

            assert await eventually(found)
    finally:
        redis.stop()


async def test_a_card_move_while_kafka_is_down_is_announced_once_it_is_back(
        own_broker: NativeKafka, redis_url: str, topic_prefix: str) -> None:
    from capacity.app import create_app as create_capacity
    from capacity.config import CapacitySettings
    from tests.builders import classified

    settings = CapacitySettings(kafka_bootstrap=own_broker.bootstrap, redis_url=redis_url, topic_prefix=topic_prefix,
                                api_keys=API_KEYS, publish_timeout_ms=1000, outbox_relay_s=0.5)
    topics = Topics(topic_prefix)
    async with running(create_capacity(settings)) as client:
        await publish(own_broker.bootstrap, topics, classified("page", size="M"))

        async def committed() -> bool:
            board = (await client.get("/v1/board")).json()
            return [c["request_id"] for c in board["columns"]["committed"]] == ["page"]

        await eventually(committed)
        own_broker.stop()
        started = await client.post("/v1/work/page/start", headers=AUTH)
        assert started.status_code == 200 and started.json()["column"] == "in_progress"
        own_broker.start()
        async with EventTap(own_broker.bootstrap, topics.decisions) as tap:
            await tap.wait_for(lambda es: any(e.type == "request.started" for e in es), timeout=60)
            assert len({e.id for e in tap.of_type("request.started")}) == 1


class UnpersistableRedis:
    """A redis-server whose directory cannot be written (``/proc/self``): fine until it is told to snapshot,
    then, its snapshot failed, it refuses writes with ``MISCONF`` (``stop-writes-on-bgsave-error``), as a
    Redis with a full disk does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"redis://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", "/proc/self", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            assert time.monotonic() < deadline and self._process.poll() is None, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


async def _cannot_persist(admin: Redis) -> None:
    await admin.config_set("save", "3600 1")
    await admin.bgsave()

    async def failed() -> bool:
        return bool((await admin.info("persistence"))["rdb_last_bgsave_status"] == "err")

    await eventually(failed)


@pytest.mark.parametrize("degrade", ["out_of_memory", "read_only", "cannot_persist"])
async def test_a_degraded_redis_answers_503_and_consumers_wait_without_losing_events(
        tmp_path: Path, settings_for: Callable[..., Any], degrade: str) -> None:
    """A Redis at its memory limit, turned replica or unable to write to its disk refuses writes: routes
    answer 503 problem+json with Retry-After, consumers retry without committing or dead-lettering, and
    resume when it is fixed."""
    redis = UnpersistableRedis() if degrade == "cannot_persist" else NativeRedis(tmp_path / "redis")
    redis.start()
    admin = Redis.from_url(f"{redis.base}/2")  # the classifier's database; the settings changed are the server's

    async def mend() -> None:
        if degrade == "out_of_memory":
            await admin.config_set("maxmemory", "0")
        elif degrade == "cannot_persist":
            await admin.config_set("save", "")  # no snapshots asked for: writes are taken again
        else:
            await admin.replicaof("NO", "ONE")

    try:
        intake = create_intake(settings_for(IntakeSettings, redis_url=f"{redis.base}/1"))
        settings = settings_for(ClassifierSettings, redis_url=f"{redis.base}/2", handler_max_attempts=2,
                                handler_backoff_s=0.05, handler_backoff_max_s=0.5)
        topics = Topics(settings.topic_prefix)
        async with running(intake) as intake_client, running(create_classifier(settings)) as classifier, \
                EventTap(settings.kafka_bootstrap, topics.classifications) as tap:
            await classifier.put(f"/v1/okrs/{_quarter()}", json=okr_set())

            # Degrade only once the set's rollover is over: one caught mid-way keeps its lock until it expires.
            await eventually(lambda: handled(classifier, "okrs.published"))
            if degrade == "out_of_memory":
                await admin.config_set("maxmemory", "1")
            elif degrade == "cannot_persist":
                await _cannot_persist(admin)
            else:
                await admin.replicaof("127.0.0.1", free_port())
            try:
                answer = await intake_client.post("/v1/requests", json=request_body(),
                                                  headers={**AUTH, "Idempotency-Key": "degraded-1"})
                assert answer.status_code == 503
                assert answer.headers["content-type"] == "application/problem+json"
                assert int(answer.headers["Retry-After"]) > 0
                await publish(settings.kafka_bootstrap, topics, submitted("r-waits"))
                await asyncio.sleep(3)  # many more attempts than handler_max_attempts would allow a poison message
                assert await admin.hlen("classifier:dead-letters") == 0
                assert not [e for e in tap.events if e.subject == "r-waits"]
            finally:
                await mend()  # also when an assertion failed: the services then stop on a working Redis
            await tap.wait_for(lambda es: any(e.subject == "r-waits" for e in es), timeout=30)
            retried = await intake_client.post("/v1/requests", json=request_body(),
                                               headers={**AUTH, "Idempotency-Key": "degraded-1"})
            assert retried.status_code == 202
            assert (await classifier.get("/v1/dead-letters")).json()["items"] == []
    finally:
        await admin.aclose()
        redis.stop()


async def test_a_redis_busy_with_a_long_script_answers_503_not_500(tmp_path: Path,
                                                                  settings_for: Callable[..., Any]) -> None:
    """A script running past Redis' busy threshold makes it answer every other command ``BUSY`` until it ends:
    a fault of the server, answered 503 with Retry-After like an unreachable Redis (a plain ResponseError was a
    500). On a Redis of its own: a busy one would stall every other test's."""
    redis = NativeRedis(tmp_path / "redis")
    redis.start()
    admin = Redis.from_url(f"{redis.base}/1")
    try:
        await admin.config_set("busy-reply-threshold", "50")
        async with running(create_intake(settings_for(IntakeSettings, redis_url=f"{redis.base}/1"))) as client:
            spinner = Redis.from_url(f"{redis.base}/1")
            spinning = asyncio.ensure_future(spinner.eval("while true do end", 0))
            await asyncio.sleep(0.3)
            try:
                answer = await client.get("/v1/requests/r-1", headers=AUTH)
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"] == "application/problem+json"
                assert int(answer.headers["Retry-After"]) > 0
            finally:
                await admin.script_kill()
                await asyncio.gather(spinning, return_exceptions=True)
                await spinner.aclose()
            assert (await client.get("/v1/requests/r-1", headers=AUTH)).status_code == 404  # itself again
    finally:
        await admin.aclose()
        redis.stop()

"""How long each service's rebuild takes over the events of many requests.

    python bench/bench_rebuild.py [--requests 10000] [--services intake classifier capacity notifier]

Starts a native Kafka broker (SASL/SCRAM, ACLs) and a Redis server of its own on free ports, in a
temporary directory (``scripts/kafka.sh``, ``scripts/redis.sh``; nothing of ``make up`` is touched),
writes the log of ``--requests`` requests onto fresh topics as the super user would (an OKR set, a
policy; per request: submitted, classified, scheduled or backlogged, a notice sent and its notifier
record; some started, done or withdrawn), then times each service's ``rebuild`` (what ``make rebuild
SERVICE=<service>`` runs) into an emptied Redis database, as that service's Kafka user. Prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from cryptography.fernet import Fernet
from pydantic import SecretStr

from capacity.config import CapacitySettings
from capacity.domain import policy_to
from capacity.planning import Policy, cycle_label, cycle_start
from capacity.rebuild import rebuild as rebuild_capacity
from classifier.config import ClassifierSettings
from classifier.rebuild import rebuild as rebuild_classifier
from intake.config import IntakeSettings
from intake.rebuild import rebuild as rebuild_intake
from notifier.config import NotifierSettings
from notifier.drafts import Draft
from notifier.journal import NoticeRecorded
from notifier.rebuild import rebuild as rebuild_notifier
from shared.envelope import CloudEvent, derived_id, envelope
from shared.events import (
    LANES,
    EventData,
    NotificationSent,
    OkrObjective,
    OkrsPublished,
    PolicyUpdated,
    RequestBacklogged,
    RequestClassified,
    RequestDetails,
    RequestDone,
    RequestScheduled,
    RequestStarted,
    RequestSubmitted,
    RequestWithdrawn,
)
from shared.infra import connect_redis, ensure_topics
from shared.kafka_acls import grant
from shared.kafka_auth import KafkaAuth
from shared.settings import ServiceSettings
from shared.topics import Topics, record_key
from tests.infra import NativeKafka, NativeRedis, new_kafka_users

SERVICES = ("intake", "classifier", "capacity", "notifier")
SIZES = ("XS", "S", "M", "L", "XL")
POLICY = Policy(version=1)
QUARTER = f"{date.today().year}-Q{(date.today().month - 1) // 3 + 1}"
OBJECTIVES = [OkrObjective(id=f"O{i}", rank=i, title=f"Objective {i}", description="bench",
                           key_results=["a key result"], keywords=[f"word{i}"]) for i in range(1, 4)]


def request_log(count: int) -> list[CloudEvent]:
    """The events of ``count`` requests, one second apart, ending now, in the order they were made."""
    start = datetime.now(UTC) - timedelta(seconds=count + 60)
    this_cycle = cycle_start(date.today(), POLICY)
    made: list[CloudEvent] = []

    def add(data: EventData, at: datetime, *cause: str) -> CloudEvent:
        made.append(envelope(data, source="/bench", time=at,
                             event_id=derived_id(data.subject(), data.event_type, *cause)))
        return made[-1]

    add(OkrsPublished(quarter=QUARTER, version=1, objectives=OBJECTIVES, approved_by="bench", approved_at=start,
                      published_by="bench"), start)
    add(PolicyUpdated(version=1, policy=policy_to(POLICY), updated_by="bench"), start)
    for i in range(count):
        at = start + timedelta(seconds=i + 1)
        request_id = str(uuid.UUID(int=i))
        lane = LANES[i % len(LANES)]
        size = SIZES[i % len(SIZES)]
        points = POLICY.size_points[size]
        objective = f"O{i % 3 + 1}" if i % 2 == 0 else None
        details = RequestDetails.model_validate({
            "title": f"Request {i}", "description": "A request of the rebuild benchmark.", "work_type": "other",
            "size": size, "requester": {"id": f"u-{i % 97}", "name": "Someone", "email": f"u{i % 97}@example.com",
                                        "team": f"Team {i % 7}", "type": lane}})
        card = {"request_id": request_id, "title": details.title, "requester": details.requester, "lane": lane}
        add(RequestSubmitted(request_id=request_id, request=details, submitted_at=at, submitted_by="bench"), at)
        add(RequestClassified(request_id=request_id, request=details, submitted_at=at, lane=lane, colour="grey",
                              objective_id=objective, objective_rank=int(objective[1:]) if objective else None,
                              score=1.0 if objective else 0.0, rationale="bench", okr_quarter=QUARTER,
                              okr_version=1, submitted_by="bench"), at + timedelta(milliseconds=100))
        decided_at = at + timedelta(milliseconds=200)
        committed = i % 3 == 0
        decision: EventData
        if committed:
            decision = RequestScheduled(**card, cycle=cycle_label(this_cycle, POLICY), cycle_start=this_cycle,
                                        points=points, objective_id=objective)
        else:
            later = this_cycle + timedelta(days=7 * (1 + i % 26))
            decision = RequestBacklogged(**card, objective_id=objective, position=i // 3 + 1, points=points,
                                         expected_start_cycle=cycle_label(later, POLICY), expected_start=later,
                                         reason="Queued behind objective work.")
        about = add(decision, decided_at)
        told_at = at + timedelta(milliseconds=300)
        notice_id = derived_id(about.id, "requester")
        text = f"Request {i}: {'committed' if committed else 'backlogged'}."
        add(NotificationSent(notification_id=notice_id, request_id=request_id, about_event_id=about.id,
                             about_event_type=about.type, recipient=details.requester.email, channel="email",
                             text=text, sent_at=told_at, audience="requester"), told_at)
        draft = Draft(id=notice_id, subject=request_id, request_id=request_id, about_event_id=about.id,
                      about_event_type=about.type, audience="requester", recipient=details.requester.email,
                      channel="email", title=details.title, text=text)
        notice = NoticeRecorded(revision=2, notification_id=notice_id, draft=asdict(draft), status="sent",
                                attempts=1, failures=0, created_at=decided_at.isoformat(),
                                next_attempt_at=decided_at.isoformat(), hold_until=decided_at.isoformat(), detail="",
                                sent_at=told_at.isoformat())
        made.append(CloudEvent(id=derived_id(notice.event_type, notice.subject(), str(notice.revision)),
                               source="/notifier", type=notice.event_type, subject=notice.subject(), time=told_at,
                               data=notice.model_dump(mode="json")))  # as the notifier's journal records it
        moved_at = at + timedelta(milliseconds=400)
        if committed and i % 2 == 0:
            add(RequestStarted(**card, by="bench"), moved_at)
            if i % 4 == 0:
                add(RequestDone(**card, by="bench"), moved_at + timedelta(milliseconds=50))
        elif not committed and i % 10 == 1:
            add(RequestWithdrawn(request_id=request_id, withdrawn_by="bench"), moved_at)
    return made


async def publish(bootstrap: str, auth: KafkaAuth, topics: Topics, events: list[CloudEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=20,
                                max_batch_size=256 * 1024, **auth.client_options())
    await producer.start()
    try:
        sent = [await producer.send(topics.for_type(e.type), e.model_dump_json().encode(), key=record_key(e.subject))
                for e in events]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def replayed_by(service: str, topics: Topics, on_topics: Counter[str]) -> int:
    """How many events ``service``'s rebuild reads (its topics, as its rebuild module names them)."""
    read = {
        "intake": [topics.requests, topics.classifications, topics.decisions, topics.notifications],
        "classifier": [topics.okrs, topics.classifications, topics.requests, topics.decisions],
        "capacity": [topics.requests, topics.classifications, topics.okrs, topics.decisions],
        "notifier": [topics.requests, topics.classifications, topics.okrs, topics.subscriptions, topics.sends],
    }
    return sum(on_topics[t] for t in read[service])


async def run(requests: int, services: list[str], workdir: Path) -> None:
    users = new_kafka_users()
    redis_server, kafka = NativeRedis(workdir / "redis"), NativeKafka(workdir / "kafka", users=users)
    redis_server.start()
    try:
        kafka.start()
        try:
            await measure(requests, services, kafka.bootstrap, redis_server.base, users)
        finally:
            kafka.stop()
    finally:
        redis_server.stop()


async def measure(requests: int, services: list[str], bootstrap: str, redis_base: str, users: dict[str, str]) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    topics = Topics(prefix)
    admin = KafkaAuth("admin", users["admin"])
    await grant(bootstrap, users["admin"], prefix)
    common: dict[str, Any] = {"kafka_bootstrap": bootstrap, "topic_prefix": prefix, "log_format": "text"}
    await ensure_topics(ServiceSettings(**common, kafka_username="admin", kafka_password=SecretStr(users["admin"])),
                        topics)

    began = time.perf_counter()
    events = request_log(requests)
    made = time.perf_counter() - began
    began = time.perf_counter()
    await publish(bootstrap, admin, topics, events)
    on_topics = Counter(topics.for_type(e.type) for e in events)
    print(f"{requests} requests: {len(events)} events made in {made:.1f} s, written in "
          f"{time.perf_counter() - began:.1f} s onto {len(on_topics)} topics")

    rebuilds: dict[str, Callable[[Any], Awaitable[object]]] = {
        "intake": rebuild_intake, "classifier": rebuild_classifier, "capacity": rebuild_capacity,
        "notifier": rebuild_notifier}
    settings_of: dict[str, type[ServiceSettings]] = {
        "intake": IntakeSettings, "classifier": ClassifierSettings, "capacity": CapacitySettings,
        "notifier": NotifierSettings}
    for db, service in enumerate(SERVICES, start=1):
        if service not in services:
            continue
        sealing = {"secrets_key": SecretStr(Fernet.generate_key().decode())}  # the notifier's deployment key
        extra: dict[str, Any] = sealing if service == "notifier" else {}
        settings = settings_of[service](**common, **extra, redis_url=f"{redis_base}/{db}", kafka_username=service,
                                        kafka_password=SecretStr(users[service]))
        redis = connect_redis(settings.redis_url)
        await redis.flushdb()
        began = time.perf_counter()
        await rebuilds[service](settings)
        seconds = time.perf_counter() - began
        keys = await redis.dbsize()
        await redis.aclose()
        replayed = replayed_by(service, topics, on_topics)
        print(f"rebuild {service:<10} {replayed:>7} events replayed  {seconds:6.1f} s  "
              f"{replayed / seconds:7.0f} events/s  ({keys} Redis keys)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--services", nargs="+", choices=SERVICES, default=list(SERVICES))
    parser.add_argument("--verbose", action="store_true", help="show the rebuilds' progress lines")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")
    if not args.verbose:  # a fresh topic's first writes are retried while its leader is elected: not news
        logging.getLogger("aiokafka").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as workdir:
        asyncio.run(run(args.requests, args.services, Path(workdir)))


if __name__ == "__main__":
    main()

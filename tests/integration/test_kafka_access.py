"""The broker trusts only the services: each authenticates as itself and may write only its own topics.
Real broker with SASL/SCRAM and ACLs, as the native stack and compose run it."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from shared.access import KeySpec, Role, issue
from shared.envelope import envelope
from shared.kafka_auth import KafkaAuth
from shared.topics import Topics, record_key
from tests.infra import Endpoints

pytestmark = pytest.mark.integration


def _auth(service: str) -> KafkaAuth:
    return KafkaAuth(service, os.environ[f"{service.upper()}_KAFKA_PASSWORD"])


async def _write(bootstrap: str, auth: KafkaAuth, topic: str, value: bytes, key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, request_timeout_ms=5000,
                                **auth.client_options())
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=key), 15)
    finally:
        await producer.stop()


async def _topology(endpoints: Endpoints, prefix: str) -> None:
    """Every topic under ``prefix``, declared as a service does at start."""
    from intake.app import create_app
    from intake.config import IntakeSettings
    from tests.support import running

    async with running(create_app(IntakeSettings(kafka_bootstrap=endpoints.kafka_bootstrap,
                                                 redis_url=f"{endpoints.redis_base}/1", topic_prefix=prefix))):
        pass


async def test_each_service_writes_its_own_topics_and_no_other(endpoints: Endpoints, topic_prefix: str) -> None:
    assert endpoints.kafka_users, "the integration suite runs against a broker that authenticates"
    topics = Topics(topic_prefix)
    await _topology(endpoints, topic_prefix)
    services = ("intake", "classifier", "capacity", "notifier")
    for service in services:
        own = topics.owned_by(service)
        for topic in topics.all():
            if topic in own:
                await _write(endpoints.kafka_bootstrap, _auth(service), topic, b"{}")
            else:
                with pytest.raises(TopicAuthorizationFailedError):
                    await _write(endpoints.kafka_bootstrap, _auth(service), topic, b"{}")


async def test_nobody_but_intake_can_mint_an_api_key(endpoints: Endpoints, topic_prefix: str) -> None:
    topics = Topics(topic_prefix)
    await _topology(endpoints, topic_prefix)
    _, created = issue(KeySpec(tool="forged", role=Role.OPS), by="mallory", at=datetime.now(UTC))
    forged = envelope(created, source="/mallory").model_dump_json().encode()
    for service in ("classifier", "capacity", "notifier"):
        with pytest.raises(TopicAuthorizationFailedError):
            await _write(endpoints.kafka_bootstrap, _auth(service), topics.access_keys, forged,
                         record_key(created.subject()))


async def test_a_client_without_the_right_password_is_not_let_in(endpoints: Endpoints, topic_prefix: str) -> None:
    with pytest.raises(KafkaConnectionError):
        await _write(endpoints.kafka_bootstrap, KafkaAuth("intake", "not-the-password"),
                     Topics(topic_prefix).requests, b"{}")
    with pytest.raises(KafkaConnectionError):
        await _write(endpoints.kafka_bootstrap, KafkaAuth(), Topics(topic_prefix).requests, b"{}")


async def test_a_service_reads_only_what_it_consumes_and_its_own_topics(
        endpoints: Endpoints, topic_prefix: str) -> None:
    topics = Topics(topic_prefix)
    await _topology(endpoints, topic_prefix)
    for service in ("intake", "classifier", "capacity", "notifier"):
        readable = set(topics.read_by(service))
        for topic in topics.all():
            consumer = AIOKafkaConsumer(bootstrap_servers=endpoints.kafka_bootstrap, enable_auto_commit=False,
                                        **_auth(service).client_options())
            await consumer.start()
            try:
                consumer.assign([TopicPartition(topic, 0)])
                await consumer.seek_to_beginning()
                if topic in readable:
                    await consumer.getmany(timeout_ms=500)
                else:
                    with pytest.raises(TopicAuthorizationFailedError):
                        await consumer.getmany(timeout_ms=3000)
            finally:
                await consumer.stop()
    assert topics.sends not in topics.read_by("intake")  # who was told what is the notifier's alone

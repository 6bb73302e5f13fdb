"""Kafka keeps every event: topics are created to keep them forever, and a service refuses to start on a
topic it owns that would delete them. Real broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from shared.infra import FiniteRetention, topic_configs
from shared.topics import Topics
from tests.infra import admin_options
from tests.support import running

pytestmark = pytest.mark.integration


async def _configs(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **admin_options())
    await admin.start()
    try:
        return await topic_configs(admin, names)
    finally:
        await admin.close()


async def test_every_topic_keeps_its_events_forever_and_keyed_state_is_compacted(
        settings_for: Callable[..., Any]) -> None:
    settings = settings_for(IntakeSettings)
    topics = Topics(settings.topic_prefix)
    async with running(create_intake(settings)) as client:
        assert (await client.get("/readyz")).status_code == 200
    configs = await _configs(settings.kafka_bootstrap, topics.all())
    assert set(configs) == set(topics.all())
    for name, config in configs.items():
        if name in topics.compacted():
            assert config["cleanup.policy"] == "compact"
        else:
            assert (config["retention.ms"], config["retention.bytes"]) == ("-1", "-1"), name
            assert config["cleanup.policy"] == "delete"
        assert config["min.insync.replicas"] == "1"


async def test_a_service_refuses_to_start_on_an_owned_topic_that_deletes_events(
        settings_for: Callable[..., Any]) -> None:
    settings = settings_for(IntakeSettings)
    topics = Topics(settings.topic_prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, **admin_options())
    await admin.start()
    await admin.create_topics([NewTopic(topics.requests, 6, 1, topic_configs={"retention.ms": "604800000"})])
    await admin.close()
    with pytest.raises(FiniteRetention, match=r"retention\.ms=604800000"):
        async with running(create_intake(settings)):
            pass
    allowed = settings.model_copy(update={"allow_finite_retention": True})
    async with running(create_intake(allowed)) as client:
        assert (await client.get("/readyz")).status_code == 200

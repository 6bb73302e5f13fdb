from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from notifier.config import NotifierSettings
from shared.settings import ServiceSettings
from tests.infra import Endpoints
from tests.receivers import MailSink
from tests.support import API_KEYS

S = TypeVar("S", bound=ServiceSettings)


@pytest.fixture
def settings_for(endpoints: Endpoints, redis_url: str, topic_prefix: str) -> Callable[..., Any]:
    """Settings of any service pointed at the real broker, this test's Redis database and topics."""

    def build(cls: type[S], **overrides: Any) -> S:
        values: dict[str, Any] = {
            "kafka_bootstrap": endpoints.kafka_bootstrap, "redis_url": redis_url,
            "topic_prefix": topic_prefix, "api_keys": API_KEYS, "handler_backoff_s": 0.05,
            "handler_backoff_max_s": 1.0, **overrides,
        }
        return cls(**values)

    return build


@pytest.fixture
def notifier_settings(settings_for: Callable[..., Any]) -> Callable[..., NotifierSettings]:
    """A notifier's settings sending email to a test's SMTP server, polling often and stopping at once."""

    def build(sink: MailSink, **overrides: Any) -> NotifierSettings:
        values: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "dispatch_poll_s": 0.05,
                                  "shutdown_grace_s": 0.0, **overrides}
        built: NotifierSettings = settings_for(NotifierSettings, **values)
        return built

    return build

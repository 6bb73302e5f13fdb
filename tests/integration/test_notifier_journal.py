"""The notifier's subscriptions on the log: sealed under the deployment's key, which is required. Real broker."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pydantic import SecretStr, ValidationError

from notifier.app import create_app
from notifier.config import NotifierSettings
from notifier.webhooks.sealed import Sealer, UnreadableSecret
from notifier.webhooks.subscriptions import new_secret
from shared.envelope import CloudEvent
from shared.topics import Topics
from tests.support import records_of, running

pytestmark = pytest.mark.integration


def test_the_notifier_has_no_default_deployment_key_and_takes_only_a_fernet_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFIER_SECRETS_KEY", raising=False)
    with pytest.raises(ValidationError, match="secrets_key"):
        NotifierSettings()
    with pytest.raises(ValidationError, match="Fernet key"):
        NotifierSettings(secrets_key="not-a-key")


async def test_a_subscription_is_on_its_topic_before_the_answer_with_its_secret_sealed(
        settings_for: Callable[..., NotifierSettings]) -> None:
    settings = settings_for(NotifierSettings, allow_private_targets=True)
    topic = Topics(settings.topic_prefix).subscriptions
    secret = new_secret()
    async with running(create_app(settings)) as client:
        answer = await client.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook",
                                                               "event_types": ["*"], "secret": secret})
        assert answer.status_code == 201, answer.text
        subscription_id = answer.json()["id"]
        [(key, value)] = await records_of(settings.kafka_bootstrap, topic)  # already there: no wait

        assert key == subscription_id.encode()
        assert secret.encode() not in value and secret.removeprefix("whsec_").encode() not in value
        data = CloudEvent.model_validate_json(value).data
        assert (data["status"], data["url"], data["event_types"]) == ("active", "http://127.0.0.1:9/hook", ["*"])
        assert Sealer(settings.secrets_key).open(data["sealed_secret"]) == secret
        with pytest.raises(UnreadableSecret):
            Sealer(SecretStr("M2JkbGlaWk5uR1J5b0VmZ1hhbGdwR1Z3Y3d0eGZ2a0E=")).open(data["sealed_secret"])

        assert (await client.delete(f"/v1/subscriptions/{subscription_id}")).status_code == 204
        *_, (_, gone) = await records_of(settings.kafka_bootstrap, topic)
        deleted = json.loads(gone)["data"]
        assert (deleted["status"], deleted["sealed_secret"], deleted["revision"]) == ("deleted", None, 2)

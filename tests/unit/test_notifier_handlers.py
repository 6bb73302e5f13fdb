"""Consuming an event, with its collaborators faked: subscribers get it even when no message can be composed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from pydantic import ValidationError

from notifier import handlers
from notifier.config import NotifierSettings
from notifier.messages import Composer
from notifier.store import NotificationLog
from notifier.webhooks.deliveries import DeliveryLog
from notifier.webhooks.subscriptions import SubscriptionStore
from tests.notifier_samples import backlogged
from tests.support import event


class Fakes:
    def __init__(self) -> None:
        self.fanned_out: list[str] = []

    async def matching(self, event_types: set[str]) -> dict[str, list[SimpleNamespace]]:
        return {kind: [SimpleNamespace(id="sub-1")] for kind in event_types}

    async def fan_out(self, wanted: list[tuple[Any, list[SimpleNamespace]]], **_: Any) -> list[str]:
        self.fanned_out += [e.id for e, _ in wanted]
        return [f"{e.id}/{s.id}" for e, subscriptions in wanted for s in subscriptions]

    async def record(self, drafts: list[Any], **_: Any) -> int:
        return len(drafts)

    def drafts(self, *_: Any) -> list[Any]:
        raise KeyError("template request.backlogged.requester.email")


@pytest.mark.parametrize("alone", [True, False])
async def test_subscribers_get_an_event_whose_message_cannot_be_composed(alone: bool) -> None:
    fakes, woken = Fakes(), []
    consuming = handlers.Consuming(composer=cast(Composer, fakes), notifications=cast(NotificationLog, fakes),
                                   subscriptions=cast(SubscriptionStore, fakes),
                                   deliveries=cast(DeliveryLog, fakes), wake=lambda: woken.append(True))
    samples = [event(backlogged("r-1")), event(backlogged("r-2"))]
    # Alone, or a run of them: each is given to its subscribers before any message is composed.
    handled = consuming.routes()["request.backlogged"](samples[0]) if alone \
        else consuming.runs()["request.backlogged"](samples)
    with pytest.raises(KeyError):  # the event is retried, then dead-lettered: visibly
        await handled
    assert fakes.fanned_out == [e.id for e in samples[:1 if alone else 2]] and woken == [True]


def test_a_lease_must_outlast_two_sends_and_then_some() -> None:
    with pytest.raises(ValidationError, match="lease_s"):
        NotifierSettings(send_timeout_s=10.0, lease_s=29.0)
    assert NotifierSettings(send_timeout_s=10.0, lease_s=30.0).lease_s == 30.0


def test_the_slack_webhook_token_stays_out_of_reprs() -> None:
    settings = NotifierSettings(slack_webhook_url="https://hooks.slack.com/services/T0/B0/sEcReTtOkEn")
    assert "sEcReTtOkEn" not in repr(settings) and "sEcReTtOkEn" not in str(settings.model_dump())
    assert settings.slack_webhook_url is not None
    assert settings.slack_webhook_url.get_secret_value().endswith("sEcReTtOkEn")

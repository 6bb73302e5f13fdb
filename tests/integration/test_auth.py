"""Every mutating route of every service refuses a caller without a known API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from capacity.app import create_app as create_capacity
from capacity.config import CapacitySettings
from classifier.app import create_app as create_classifier
from classifier.config import ClassifierSettings
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from notifier.app import create_app as create_notifier
from notifier.config import NotifierSettings
from tests.builders import okr_set
from tests.support import request_body, running

pytestmark = pytest.mark.integration

ROUTES: list[tuple[Callable[..., FastAPI], type[Any], str, str, dict[str, Any] | None]] = [
    (create_intake, IntakeSettings, "POST", "/v1/requests", request_body()),
    (create_intake, IntakeSettings, "POST", "/v1/requests/x/withdraw", None),
    (create_classifier, ClassifierSettings, "PUT", "/v1/okrs/2026-Q4", okr_set(3)),
    (create_capacity, CapacitySettings, "PUT", "/v1/policy", {}),
    (create_capacity, CapacitySettings, "POST", "/v1/work/x/start", None),
    (create_capacity, CapacitySettings, "POST", "/v1/tradeoffs/x/decision", {"defer": True}),
    (create_notifier, NotifierSettings, "POST", "/v1/dead-letters/x/replay", None),
]


@pytest.mark.parametrize(("create", "settings_cls", "method", "path", "body"), ROUTES,
                         ids=[f"{m} {p}" for _, _, m, p, _ in ROUTES])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}], ids=["no key", "wrong key"])
async def test_mutating_route_without_a_known_key_is_401(
        settings_for: Callable[..., Any], create: Callable[..., FastAPI], settings_cls: type[Any], method: str,
        path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> None:
    async with running(create(settings_for(settings_cls)), key=None) as client:
        answer = await client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"] == "Bearer"

"""A request's requester notices also go to whoever joined it by a merge: a requester tool reading the
surviving request's timeline sees the notices to its own requester, and of the others only that they were
told, never their address or the words sent to them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from intake.app import create_app
from intake.config import IntakeSettings
from shared.events import NotificationSent
from shared.topics import Topics
from tests.support import CRM_KEY, FORM_KEY, auth, event, eventually, publish, request_body, running

pytestmark = pytest.mark.integration

SALES = {"id": "u-2201", "name": "Dave Morrison", "email": "dave@example.com", "team": "Enterprise Sales",
         "type": "sales"}
BRAND = {"id": "u-3301", "name": "Mia Brandt", "email": "mia@example.com", "team": "Brand", "type": "business_unit"}


@pytest.fixture
def settings(settings_for: Callable[..., IntakeSettings]) -> IntakeSettings:
    return settings_for(IntakeSettings)


def _told(survivor_id: str, person: dict[str, str], notification_id: str) -> NotificationSent:
    return NotificationSent(notification_id=notification_id, request_id=survivor_id, about_event_id="e-1",
                            about_event_type="request.scheduled", recipient=person["email"], channel="email",
                            text=f"Hi {person['name']}, it is committed.", sent_at=datetime.now(UTC),
                            audience="requester")


async def test_a_requester_tool_reads_no_other_requesters_notice_on_a_request_merged_into(
        settings: IntakeSettings) -> None:
    async with running(create_app(settings)) as client:
        merged_id = (await client.post("/v1/requests", headers=auth(CRM_KEY), json=request_body(
            title="Customer logos on the website", requester=SALES))).json()["id"]
        survivor_id = (await client.post("/v1/requests", headers=auth(FORM_KEY), json=request_body(
            title="Brand marks on our public pages", requester=BRAND))).json()["id"]
        assert (await client.post(f"/v1/requests/{merged_id}/merge",
                                  json={"into": survivor_id})).status_code == 202
        # The survivor is committed: its requester is told, and so is the merged request's, who follows it.
        await publish(settings.kafka_bootstrap, Topics(settings.topic_prefix),
                      event(_told(survivor_id, BRAND, "n-mia")), event(_told(survivor_id, SALES, "n-dave")))

        async def read() -> dict[str, Any] | None:
            found = (await client.get(f"/v1/requests/{survivor_id}", headers=auth(FORM_KEY))).json()
            return found if sum(e["type"] == "notification.sent" for e in found["timeline"]) == 2 else None

        timeline = (await eventually(read))["timeline"]
        told = {e["data"]["notification_id"]: e for e in timeline if e["type"] == "notification.sent"}
        assert told["n-mia"]["data"]["recipient"] == "mia@example.com"
        assert "dave@example.com" not in str(timeline) and "Dave" not in str(timeline)
        assert told["n-dave"]["summary"] == "Told another requester who follows it."

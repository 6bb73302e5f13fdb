"""Overlaps and reuse across intake, capacity and the notifier, on the real broker, Redis and an SMTP server:
two stakeholders ask for the same work, both are told, the board links the cards; the team merges one into
the other through intake; the merged card's points are freed, both requesters are told, and the merged
requester hears the survivor's news. Asked again or delivered twice, nothing is said twice; capacity's
rebuild keeps it all. The classifications are published as the classifier would (with ``similar``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from capacity.app import create_app as create_capacity
from capacity.config import CapacitySettings
from capacity.rebuild import rebuild as rebuild_capacity
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from notifier.app import create_app as create_notifier
from notifier.config import NotifierSettings
from shared.envelope import CloudEvent
from shared.topics import Topics
from tests.builders import POLICY, classified
from tests.receivers import MailSink
from tests.support import (
    AUTH,
    CRM_KEY,
    TEAM_KEY,
    EventTap,
    auth,
    emptied,
    eventually,
    publish,
    request_body,
    running,
    settled,
)

pytestmark = pytest.mark.integration

OPS = "marketing-ops@example.com"
DAVE = {"id": "u-2201", "name": "Dave Morrison", "email": "dave@example.com", "team": "Enterprise Sales",
        "type": "sales"}
AISHA = {"id": "u-3301", "name": "Aisha Khan", "email": "aisha@example.com", "team": "Atlas Product",
         "type": "business_unit"}
MARKS, LOGOS = "Brand marks on our public pages", "Customer logos on the website"


def _classified(request_id: str, title: str, requester: dict[str, Any], by: str,
                similar: list[dict[str, Any]]) -> CloudEvent:
    found = classified(request_id, lane=requester["type"], title=title, requester=requester, size="S")
    return found.model_copy(update={"data": {**found.data, "submitted_by": by, "similar": similar}})


async def _committed_points(capacity: httpx.AsyncClient) -> int:
    return int((await capacity.get("/v1/capacity")).json()["committed_points"])


async def _card(capacity: httpx.AsyncClient, request_id: str) -> dict[str, Any] | None:
    board = (await capacity.get("/v1/board")).json()
    return next((c for column in board["columns"].values() for c in column if c["request_id"] == request_id), None)


async def test_a_merge_end_to_end(settings_for: Callable[..., Any]) -> None:
    async with MailSink() as sink:
        intake_settings = settings_for(IntakeSettings)
        capacity_settings = settings_for(CapacitySettings)
        notifier_settings = settings_for(NotifierSettings, smtp_host="127.0.0.1", smtp_port=sink.port,
                                         dispatch_poll_s=0.05, shutdown_grace_s=0.0, ops_email=OPS)
        topics = Topics(intake_settings.topic_prefix)
        async with running(create_intake(intake_settings)) as intake, \
                running(create_capacity(capacity_settings)) as capacity, \
                running(create_notifier(notifier_settings)), \
                EventTap(intake_settings.kafka_bootstrap, topics.requests) as tap:
            assert (await capacity.put("/v1/policy", json=POLICY)).status_code == 200
            survivor = (await intake.post("/v1/requests", json=request_body(title=MARKS, requester=AISHA))).json()["id"]
            merged = (await intake.post("/v1/requests", headers=auth(CRM_KEY),
                                        json=request_body(title=LOGOS, requester=DAVE))).json()["id"]
            await tap.wait_for(lambda es: {survivor, merged} <= {e.subject for e in es})
            alike = {"request_id": survivor, "score": 0.86, "kind": "duplicate", "shared_terms": ["logos"],
                     "title": MARKS, "team": AISHA["team"], "lane": "business_unit",
                     "submitted_at": "2026-11-24T09:00:00+00:00"}
            await publish(intake_settings.kafka_bootstrap, topics,
                          _classified(survivor, MARKS, AISHA, "test-tool", []),
                          _classified(merged, LOGOS, DAVE, "crm", [alike]))

            # Both requesters and ops hear of the overlap; the board links the two cards.
            await settled(lambda: _sorted_mail(sink))
            assert _to(sink, "do it once") == sorted([AISHA["email"], DAVE["email"]])
            assert _to(sink, "Reuse:") == [OPS]
            linked = await eventually(lambda: _card(capacity, survivor))
            assert [x["request_id"] for x in linked["linked"]] == [merged]
            overlaps = (await capacity.get("/v1/dashboard")).json()["overlaps"]
            teams = [sorted(r["team"] for r in o["requests"]) for o in overlaps]
            assert teams == [["Atlas Product", "Enterprise Sales"]]
            assert await eventually(lambda: _points_are(capacity, 4))

            answer = await intake.post(f"/v1/requests/{merged}/merge", headers=auth(TEAM_KEY),
                                       json={"into": survivor, "reason": "The same pages"})
            assert answer.status_code == 202
            events = await tap.wait_for(lambda es: any(e.type == "request.merged" for e in es))
            [merge] = [e for e in events if e.type == "request.merged"]
            assert (merge.subject, merge.data["into"]) == (merged, survivor)

            # Capacity frees the merged card's points; the survivor names what was merged into it.
            assert await eventually(lambda: _points_are(capacity, 2))
            assert await _card(capacity, merged) is None
            kept = await _card(capacity, survivor)
            assert kept is not None and kept["merged_from"] == [merged] and kept["linked"] == []
            assert (await capacity.get("/v1/dashboard")).json()["overlaps"] == []
            assert (await intake.get(f"/v1/requests/{merged}")).json()["status"] == "merged"
            assert (await intake.get(f"/v1/requests/{survivor}")).json()["status"] in ("classified", "committed")

            # Both requesters are told; asked again and delivered again, nothing more is said.
            told = await settled(lambda: _sorted_mail(sink))
            assert _to(sink, "goes ahead as") == [DAVE["email"]]
            assert _to(sink, "joins your request") == [AISHA["email"]]
            again = await intake.post(f"/v1/requests/{merged}/merge", headers=auth(TEAM_KEY),
                                      json={"into": survivor})
            assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
            await publish(intake_settings.kafka_bootstrap, topics, merge)
            assert await settled(lambda: _sorted_mail(sink)) == told

            # The merged requester hears the survivor's news: work on it starts.
            assert (await capacity.post(f"/v1/work/{survivor}/start", headers=auth(TEAM_KEY))).status_code == 200
            await settled(lambda: _sorted_mail(sink))
            assert _to(sink, "has started") == sorted([AISHA["email"], DAVE["email"]])
            assert len([e for e in tap.events if e.type == "request.merged"]) == 2  # the one event, and our replay

        await emptied(capacity_settings.redis_url)
        await rebuild_capacity(capacity_settings)  # from the log alone
        async with running(create_capacity(capacity_settings)) as capacity:
            assert await _card(capacity, merged) is None
            kept = await _card(capacity, survivor)
            assert kept is not None and kept["merged_from"] == [merged]
            assert await _committed_points(capacity) == 2


async def _points_are(capacity: httpx.AsyncClient, points: int) -> bool:
    return await _committed_points(capacity) == points


def _to(sink: MailSink, subject: str) -> list[str]:
    return sorted(to for m in sink.mail if subject in m.subject for to in m.to)


async def _sorted_mail(sink: MailSink) -> list[tuple[str, str]]:
    return sorted((m.to[0], m.subject) for m in sink.mail)


async def test_a_board_linked_by_a_classification_survives_capacitys_rebuild(settings_for: Callable[..., Any]) -> None:
    settings = settings_for(CapacitySettings)
    topics = Topics(settings.topic_prefix)
    alike = {"request_id": "r-a", "score": 0.9, "kind": "overlap", "shared_terms": [], "title": MARKS,
             "team": AISHA["team"], "lane": "business_unit", "submitted_at": "2026-11-24T09:00:00+00:00"}
    async with running(create_capacity(settings)) as capacity:
        assert (await capacity.put("/v1/policy", json=POLICY, headers=AUTH)).status_code == 200
        await publish(settings.kafka_bootstrap, topics, _classified("r-a", MARKS, AISHA, "test-tool", []),
                      _classified("r-b", LOGOS, DAVE, "crm", [alike]))
        before = await eventually(lambda: _card(capacity, "r-b"))
        assert [x["request_id"] for x in before["linked"]] == ["r-a"]
        crm_view = await capacity.get("/v1/board", headers=auth(CRM_KEY))
        [mine] = [c for column in crm_view.json()["columns"].values() for c in column]
        assert mine["request_id"] == "r-b" and mine["linked"] == []  # the other tool's card is not named
    await emptied(settings.redis_url)
    await rebuild_capacity(settings)
    async with running(create_capacity(settings)) as capacity:
        after = await _card(capacity, "r-b")
        assert after is not None and after["linked"] == before["linked"]
        overlaps = (await capacity.get("/v1/dashboard")).json()["overlaps"]
        assert [[r["request_id"] for r in o["requests"]] for o in overlaps] == [["r-a", "r-b"]]

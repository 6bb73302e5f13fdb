"""Who may do what, on the real broker and Redis: keys, roles, lanes, isolation and limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from capacity.app import create_app as create_capacity
from capacity.config import CapacitySettings
from classifier.app import create_app as create_classifier
from classifier.config import ClassifierSettings
from intake.app import create_app as create_intake
from intake.config import IntakeSettings
from notifier.app import create_app as create_notifier
from notifier.config import NotifierSettings
from shared.topics import Topics
from tests.builders import okr_set
from tests.support import (
    CRM_KEY,
    FORM_KEY,
    HEAT_SHIELD_KEY,
    TEAM_KEY,
    EventTap,
    auth,
    eventually,
    request_body,
    running,
)

pytestmark = pytest.mark.integration


class Services:
    """Intake, classifier and capacity on one broker and Redis, each with an HTTP client."""

    def __init__(self, settings_for: Callable[..., Any]) -> None:
        self.settings_for = settings_for
        self.clients: dict[str, httpx.AsyncClient] = {}

    @property
    def intake(self) -> httpx.AsyncClient:
        return self.clients["intake"]

    @property
    def capacity(self) -> httpx.AsyncClient:
        return self.clients["capacity"]


@pytest.fixture
async def services(settings_for: Callable[..., Any]) -> AsyncIterator[Services]:
    found = Services(settings_for)
    async with AsyncExitStack() as stack:
        for name, create, cls in (("intake", create_intake, IntakeSettings),
                                  ("classifier", create_classifier, ClassifierSettings),
                                  ("capacity", create_capacity, CapacitySettings),
                                  ("notifier", create_notifier, NotifierSettings)):
            found.clients[name] = await stack.enter_async_context(running(create(settings_for(cls))))
        yield found


def sales_request(**overrides: Any) -> dict[str, Any]:
    return request_body(**overrides)


def customer_request(**overrides: Any) -> dict[str, Any]:
    return request_body(title="Customer webinar series", requester={
        "id": "u-1", "name": "Mia Chen", "email": "mia@example.com", "team": "Marketing", "type": "customer"},
        **overrides)


async def new_key(client: httpx.AsyncClient, **spec: Any) -> dict[str, Any]:
    answer = await client.post("/v1/keys", json=spec)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_key_is_shown_once_and_only_its_hash_is_kept(services: Services, redis_url: str,
                                                            topic_prefix: str, endpoints: Any) -> None:
    made = await new_key(services.intake, tool="events-bot", role="requester_tool", lanes=["sales"])
    secret = made["key"]
    assert secret.startswith("gov_") and len(secret) > 40
    listed = (await services.intake.get("/v1/keys")).json()["items"]
    assert made["key_id"] in [k["key_id"] for k in listed]
    assert secret not in str(listed) and "secret_sha256" not in str(listed)
    async with EventTap(endpoints.kafka_bootstrap, Topics(topic_prefix).access_keys) as tap:
        await tap.wait_for(lambda es: any(e.subject == made["key_id"] for e in es))
        assert secret not in str([e.model_dump() for e in tap.events])
    redis = Redis.from_url(redis_url)
    try:
        for key in await redis.keys("*"):
            dump = await redis.dump(key)
            assert dump is None or secret.encode() not in dump
    finally:
        await redis.aclose()
    # The new key works at once where it was made, and in the other services through the keys topic.
    assert (await services.intake.post("/v1/requests", json=sales_request(), headers=auth(secret))).status_code == 202
    await eventually(lambda: _status(services.capacity, "/v1/board", secret, 200))


async def test_a_revoked_key_is_refused_by_every_service_and_after_a_restart(
        services: Services, settings_for: Callable[..., Any]) -> None:
    made = await new_key(services.intake, tool="old-form", role="requester_tool", lanes=["customer"])
    await eventually(lambda: _status(services.capacity, "/v1/board", made["key"], 200))
    revoked = await services.intake.delete(f"/v1/keys/{made['key_id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = await services.intake.post("/v1/requests", json=customer_request(), headers=auth(made["key"]))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    await eventually(lambda: _status(services.capacity, "/v1/board", made["key"], 401))
    async with running(create_intake(settings_for(IntakeSettings))) as restarted:
        answer = await restarted.get("/v1/requests", headers=auth(made["key"]))
        assert answer.status_code == 401
        assert (await restarted.get(f"/v1/keys/{made['key_id']}")).json()["revoked_by"] == "test-tool"


async def test_a_key_made_with_the_cli_is_accepted(services: Services, endpoints: Any, topic_prefix: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.keys_cli import KeysCliSettings, create

    monkeypatch.setenv("KEYS_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("KEYS_TOPIC_PREFIX", topic_prefix)
    from shared.access import KeySpec, Role

    made = await create(KeysCliSettings(), KeySpec(tool="chat-bot", role=Role.REQUESTER_TOOL, lanes=("legal",)))
    me = await eventually(lambda: _json(services.intake, "/v1/me", str(made["key"])))
    assert me["tool"] == "chat-bot" and me["role"] == "requester_tool" and me["lanes"] == ["legal"]


# (service, method, path, body, key): calls a key's role may not make.
FORBIDDEN: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
    ("intake", "POST", "/v1/requests", request_body(), TEAM_KEY),
    ("intake", "POST", "/v1/keys", {"tool": "x", "role": "ops"}, HEAT_SHIELD_KEY),
    ("intake", "GET", "/v1/keys", None, CRM_KEY),
    ("intake", "GET", "/v1/dead-letters", None, TEAM_KEY),
    ("classifier", "PUT", "/v1/okrs/2026-Q4", okr_set(3), TEAM_KEY),
    ("capacity", "PUT", "/v1/policy", {}, HEAT_SHIELD_KEY),
    ("capacity", "POST", "/v1/work/r-1/start", None, CRM_KEY),
    ("capacity", "POST", "/v1/tradeoffs/t-1/decision", {"defer": True}, TEAM_KEY),
    ("capacity", "GET", "/v1/bypass-attempts", None, FORM_KEY),
    ("notifier", "GET", "/v1/notifications?request_id=r-1", None, CRM_KEY),
    ("notifier", "POST", "/v1/subscriptions", {"url": "https://hooks.example.com/x", "event_types": ["*"]},
     HEAT_SHIELD_KEY),
    ("notifier", "GET", "/v1/deliveries", None, TEAM_KEY),
]


async def test_each_role_is_refused_the_calls_of_other_roles(services: Services) -> None:
    for service, method, path, body, key in FORBIDDEN:
        answer = await services.clients[service].request(method, path, json=body, headers=auth(key))
        assert answer.status_code == 403, (service, method, path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert "role" in answer.json()["detail"]
    # The same routes let the right roles through to the rule behind them: a bypass, no such trade-off.
    assert (await services.capacity.post("/v1/work/r-1/start", headers=auth(TEAM_KEY))).status_code == 409
    assert (await services.capacity.post("/v1/tradeoffs/t-1/decision", json={"defer": True},
                                         headers=auth(HEAT_SHIELD_KEY))).status_code == 404
    told = await services.clients["notifier"].get("/v1/notifications?request_id=r-1", headers=auth(TEAM_KEY))
    assert told.status_code == 200 and told.json()["items"] == []


async def test_the_lane_comes_from_the_key(services: Services, endpoints: Any, topic_prefix: str) -> None:
    async with EventTap(endpoints.kafka_bootstrap, Topics(topic_prefix).requests) as tap:
        as_executive = sales_request(requester={**request_body()["requester"], "type": "executive"})
        refused = await services.intake.post("/v1/requests", json=as_executive, headers=auth(CRM_KEY))
        assert refused.status_code == 403
        assert "sales, not executive" in refused.json()["detail"]
        team_bound = await new_key(services.intake, tool="field-form", role="requester_tool", lanes=["sales"],
                                   teams=["Field Sales"])
        other_team = await services.intake.post("/v1/requests", json=sales_request(), headers=auth(team_bound["key"]))
        assert other_team.status_code == 403 and "Enterprise Sales" in other_team.json()["detail"]
        accepted = await services.intake.post("/v1/requests", json=sales_request(), headers=auth(CRM_KEY))
        assert accepted.status_code == 202
        await tap.wait_for(lambda es: any(e.subject == accepted.json()["id"] for e in es))
        assert [e.data["request"]["requester"]["type"] for e in tap.events] == ["sales"]
    listed = (await services.intake.get("/v1/requests")).json()["items"]
    assert [r["id"] for r in listed] == [accepted.json()["id"]]


async def test_a_requester_tool_sees_only_the_requests_it_posted(services: Services) -> None:
    mine = (await services.intake.post("/v1/requests", json=sales_request(), headers=auth(CRM_KEY))).json()["id"]
    theirs = (await services.intake.post("/v1/requests", json=customer_request(),
                                         headers=auth(FORM_KEY))).json()["id"]
    assert (await services.intake.get(f"/v1/requests/{mine}", headers=auth(CRM_KEY))).status_code == 200
    hidden = await services.intake.get(f"/v1/requests/{theirs}", headers=auth(CRM_KEY))
    unknown = await services.intake.get("/v1/requests/no-such-request", headers=auth(CRM_KEY))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["title"] == unknown.json()["title"]
    withdraw = await services.intake.post(f"/v1/requests/{theirs}/withdraw", headers=auth(CRM_KEY))
    assert withdraw.status_code == 404
    listed = (await services.intake.get("/v1/requests", headers=auth(CRM_KEY))).json()["items"]
    assert [r["id"] for r in listed] == [mine]
    everything = (await services.intake.get("/v1/requests", headers=auth(TEAM_KEY))).json()["items"]
    assert {r["id"] for r in everything} == {mine, theirs}


async def test_a_flood_from_one_key_gets_429_and_other_keys_are_unaffected(services: Services) -> None:
    flooder = await new_key(services.intake, tool="runaway-script", role="requester_tool", lanes=["sales"],
                            rate_limit_per_minute=5)
    answers = await asyncio.gather(*(services.intake.get("/v1/requests", headers=auth(flooder["key"]))
                                     for _ in range(12)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 5 + [429] * 7
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert (await services.intake.get("/v1/requests", headers=auth(CRM_KEY))).status_code == 200
    # Each service counts on its own: the flooder may still read the board.
    assert (await services.capacity.get("/v1/board", headers=auth(flooder["key"]))).status_code == 200


@pytest.mark.parametrize("field", [{"status": "done"}, {"score": 0.99}, {"cycle": "2026-W48"},
                                   {"submitted_by": "someone-else"}, {"id": "chosen-id"}])
async def test_nobody_sets_a_status_score_or_cycle_through_the_api(services: Services, field: dict[str, Any]) -> None:
    answer = await services.intake.post("/v1/requests", json={**request_body(), **field}, headers=auth(CRM_KEY))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert (await services.intake.get("/v1/requests")).json()["items"] == []


async def test_other_bodies_refuse_unknown_fields_sizes_and_pages(services: Services) -> None:
    policy = (await services.capacity.get("/v1/policy")).json()
    assert (await services.capacity.put("/v1/policy", json={**policy, "version": 99})).status_code == 422
    assert (await services.capacity.get("/v1/policy")).json() == policy
    made = await services.intake.post("/v1/keys", json={"tool": "x", "role": "ops", "key_id": "key_mine"})
    assert made.status_code == 422
    huge = okr_set(3)
    huge["objectives"][0]["description"] = "x" * 100_000
    assert (await services.clients["classifier"].put("/v1/okrs/2026-Q4", json=huge)).status_code == 413
    assert (await services.intake.get("/v1/requests?limit=1000")).status_code == 422
    notifier = services.clients["notifier"]
    for listing in ("/v1/deliveries", "/v1/subscriptions"):
        assert (await notifier.get(f"{listing}?limit=100")).status_code == 200
        refused = await notifier.get(f"{listing}?limit=101")
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"


async def _status(client: httpx.AsyncClient, path: str, key: str, expected: int) -> bool:
    return (await client.get(path, headers=auth(key))).status_code == expected


async def _json(client: httpx.AsyncClient, path: str, key: str) -> dict[str, Any] | None:
    answer = await client.get(path, headers=auth(key))
    return dict(answer.json()) if answer.status_code == 200 else None

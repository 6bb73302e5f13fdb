"""Signed links on the real broker and Redis: a link opens and withdraws its one request and nothing else;
a public form's submit-only key posts and reads nothing; the classifier answers the form's page across origins."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from classifier.app import create_app as create_classifier
from classifier.config import ClassifierSettings
from intake.app import create_app
from intake.config import IntakeSettings
from shared.links import LINK_HEADER, LinkSigner
from tests.support import API_KEYS, eventually, request_body, running

pytestmark = pytest.mark.integration

SECRET = "a-link-secret-for-tests-only-0123456789"
PUBLIC_FORM_KEY = "test-public-form-key-0123456789"
KEYS: dict[str, dict[str, Any]] = {**API_KEYS, PUBLIC_FORM_KEY: {
    "tool": "request-form", "role": "requester_tool", "lanes": ["sales", "customer"], "submit_only": True}}
PAGE_ORIGIN = "http://intake.example:8001"


@pytest.fixture
def settings(settings_for: Callable[..., IntakeSettings]) -> IntakeSettings:
    return settings_for(IntakeSettings, link_secret=SECRET, api_keys=KEYS)


def token_of(answer: dict[str, Any]) -> str:
    page = answer["links"]["page"]
    assert page.startswith(f"/pages/mine#request={answer['id']}&token=")
    return str(page.split("token=", 1)[1])


def link(token: str) -> dict[str, str]:
    return {LINK_HEADER: token}


async def test_a_link_opens_its_request_without_a_key_as_its_requester_reads_it(settings: IntakeSettings) -> None:
    async with running(create_app(settings), key=None) as client:
        posted = (await client.post("/v1/requests", json=request_body(),
                                    headers={"Authorization": f"Bearer {PUBLIC_FORM_KEY}"})).json()
        found = await client.get(f"/v1/requests/{posted['id']}", headers=link(token_of(posted)))
        assert found.status_code == 200
        assert found.json()["id"] == posted["id"] and found.json()["request"]["title"] == request_body()["title"]
        assert [e["type"] for e in found.json()["timeline"]] == ["request.submitted"]


async def test_a_changed_or_foreign_token_is_401_problem_json(settings: IntakeSettings) -> None:
    async with running(create_app(settings)) as client:
        posted = (await client.post("/v1/requests", json=request_body())).json()
        token = token_of(posted)
        tampered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
        foreign = LinkSigner("not-our-secret-0123456789", ttl_s=60).token(posted["id"], "dave@example.com")
        for bad in (tampered, foreign, "nonsense"):
            answer = await client.get(f"/v1/requests/{posted['id']}", headers={**link(bad), "Authorization": ""})
            assert answer.status_code == 401, bad
            assert answer.headers["content-type"] == "application/problem+json"


async def test_an_expired_link_is_refused_and_says_so(settings_for: Callable[..., IntakeSettings]) -> None:
    settings = settings_for(IntakeSettings, link_secret=SECRET, link_ttl_days=1 / 86_400)  # one second
    async with running(create_app(settings)) as client:
        posted = (await client.post("/v1/requests", json=request_body())).json()
        await asyncio.sleep(2.2)
        answer = await client.get(f"/v1/requests/{posted['id']}", headers=link(token_of(posted)))
        assert answer.status_code == 401
        assert "expired" in answer.json()["detail"]


async def test_a_link_opens_no_other_request_and_no_list(settings: IntakeSettings) -> None:
    async with running(create_app(settings)) as client:
        mine = (await client.post("/v1/requests", json=request_body())).json()
        other = (await client.post("/v1/requests", json=request_body(title="Another page"))).json()
        anonymous = {**link(token_of(mine)), "Authorization": ""}
        assert (await client.get(f"/v1/requests/{other['id']}", headers=anonymous)).status_code == 403
        withdraw = await client.post(f"/v1/requests/{other['id']}/withdraw", headers=anonymous)
        assert withdraw.status_code == 403
        assert (await client.get("/v1/requests", headers=anonymous)).status_code == 401
        made_for_someone_else = LinkSigner(SECRET, ttl_s=60).token(mine["id"], "mallory@example.com")
        assert (await client.get(f"/v1/requests/{mine['id']}",
                                 headers={**link(made_for_someone_else), "Authorization": ""})).status_code == 403
        assert (await client.get(f"/v1/requests/{other['id']}")).json()["status"] == "submitted"


async def test_a_link_withdraws_its_request(settings: IntakeSettings) -> None:
    async with running(create_app(settings), key=None) as client:
        posted = (await client.post("/v1/requests", json=request_body(),
                                    headers={"Authorization": f"Bearer {PUBLIC_FORM_KEY}"})).json()
        headers = link(token_of(posted))
        answer = await client.post(f"/v1/requests/{posted['id']}/withdraw", json={"reason": "No longer needed"},
                                   headers=headers)
        assert answer.status_code == 202

        async def withdrawn() -> dict[str, Any] | None:
            found = (await client.get(f"/v1/requests/{posted['id']}", headers=headers)).json()
            return found if found["status"] == "withdrawn" else None

        found = await eventually(withdrawn)
        [entry] = [e for e in found["timeline"] if e["type"] == "request.withdrawn"]
        assert entry["data"]["withdrawn_by"] == "requester-link"
        again = await client.post(f"/v1/requests/{posted['id']}/withdraw", headers=headers)
        assert again.status_code == 409


async def test_a_submit_only_key_posts_but_reads_and_withdraws_nothing(settings: IntakeSettings) -> None:
    form = {"Authorization": f"Bearer {PUBLIC_FORM_KEY}"}
    async with running(create_app(settings), key=None) as client:
        posted = await client.post("/v1/requests", json=request_body(), headers={**form, "Idempotency-Key": "f-1"})
        assert posted.status_code == 202
        request_id = posted.json()["id"]
        for method, path in (("GET", f"/v1/requests/{request_id}"), ("GET", "/v1/requests"),
                             ("POST", f"/v1/requests/{request_id}/withdraw"), ("GET", "/v1/me")):
            answer = await client.request(method, path, headers=form)
            assert answer.status_code == 403, path
            assert "only submits requests" in answer.json()["detail"]


async def test_the_classifier_answers_the_form_page_across_origins(
        settings_for: Callable[..., ClassifierSettings]) -> None:
    settings = settings_for(ClassifierSettings, api_keys=KEYS, cors_origins=[PAGE_ORIGIN])
    asking = {"Origin": PAGE_ORIGIN, "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "authorization,content-type"}
    async with running(create_classifier(settings), key=None) as client:
        preflight = await client.options("/v1/classify", headers=asking)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == PAGE_ORIGIN
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        elsewhere = await client.options("/v1/classify", headers={**asking, "Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in elsewhere.headers
        assert elsewhere.status_code == 400 and elsewhere.headers["content-type"] == "application/problem+json"
        assert "Disallowed CORS origin" in elsewhere.json()["detail"]
        form = {"Authorization": f"Bearer {PUBLIC_FORM_KEY}", "Origin": PAGE_ORIGIN}
        body = {k: v for k, v in request_body().items() if k != "size"}
        dry = await client.post("/v1/classify", json=body, headers=form)
        assert dry.status_code == 200 and dry.json()["lane"] == "sales"
        assert dry.headers["access-control-allow-origin"] == PAGE_ORIGIN
        assert (await client.get("/v1/okrs/current", headers=form)).status_code == 404  # none published
        assert (await client.get("/v1/okrs/2026-Q4", headers=form)).status_code == 403

"""The request form's public page carries the form's key only while it is a submit-only requester tool's key that
is not revoked; a key made with ``POST /v1/keys`` is known only from the keys topic, so it is checked on each page."""

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient

from intake.app import publishable
from shared.access import ApiKeyRevoked, KeyRegistry, KeySpec, Role, issue
from shared.pages import pages_router

AT = datetime(2026, 12, 1, tzinfo=UTC)


def made(registry: KeyRegistry, **spec: object) -> tuple[str, str]:
    secret, created = issue(KeySpec.model_validate(spec), by="ops", at=AT)
    registry.apply(created)
    return secret, created.key.key_id


def test_only_a_submit_only_requester_tools_key_still_valid_is_written_into_the_page() -> None:
    registry = KeyRegistry({}, AT)
    form, form_id = made(registry, tool="form", role=Role.REQUESTER_TOOL, lanes=["customer"], submit_only=True)
    crm, _ = made(registry, tool="crm", role=Role.REQUESTER_TOOL, lanes=["sales"])
    ops, _ = made(registry, tool="ops-console", role=Role.OPS)
    assert publishable(form, registry) == form
    assert publishable(crm, registry) == "" and publishable(ops, registry) == ""
    assert publishable("gov_not-a-key-anyone-made", registry) == ""  # maybe another service's ops key

    app = FastAPI()
    key = [form]
    app.include_router(pages_router("intake", {"request": "request.html"}, values={"classifier": "http://c"},
                                    values_now=lambda: {"form_key": publishable(key[0], registry)}))
    page = TestClient(app).get("/pages/request").text
    assert f'data-form-key="{form}"' in page
    registry.apply(ApiKeyRevoked(key_id=form_id, revoked_at=AT, revoked_by="ops"))  # revoked while serving
    assert 'data-form-key=""' in TestClient(app).get("/pages/request").text
    key[0] = ops  # set by mistake to a key that does more
    assert ops not in TestClient(app).get("/pages/request").text

"""Signed links: what a token grants, and the links every requester notice and trade-off question carry."""

from __future__ import annotations

import base64
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from notifier.domain import DEFAULT_CHANNELS, Team
from notifier.messages import Composer, Links
from notifier.templates import Templates
from shared.links import LinkError, LinkSigner, email_hash
from shared.pages import pages_router
from tests.notifier_samples import DAVE, HEAT_SHIELD, samples
from tests.support import event

SECRET = "a-link-secret-for-tests-only-0123456789"
TEAM = Team(ops="marketing-ops@example.com", heat_shield=HEAT_SHIELD)
LINKS = Links(intake="http://intake.example:8001", capacity="http://capacity.example:8003",
              signer=LinkSigner(SECRET, ttl_s=3_600))


def composer(links: Links | None = LINKS) -> Composer:
    return Composer(Templates(), TEAM, channels=DEFAULT_CHANNELS, slack_channel=None, team_name="Team", links=links)


def test_a_token_names_its_request_and_the_requesters_email_hash_only() -> None:
    token = LinkSigner(SECRET, ttl_s=60).token("r-1", "Dave@Example.com ")
    link = LinkSigner(SECRET, ttl_s=60).read(token)
    assert (link.request_id, link.requester) == ("r-1", email_hash("dave@example.com"))
    assert "dave" not in token.lower()


def test_a_token_is_signed_with_hmac_sha256_and_one_signed_before_with_sha1_is_still_read() -> None:
    token = LinkSigner(SECRET, ttl_s=60).token("r-1", "dave@example.com")
    signature = token.rsplit(".", 1)[1]
    assert len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))) == 32  # SHA-256's size
    before = URLSafeTimedSerializer(SECRET, salt="governance.request-link.v1").dumps(
        {"r": "r-1", "h": email_hash("dave@example.com")})  # itsdangerous' default: SHA-1
    assert LinkSigner(SECRET, ttl_s=60).read(str(before)).request_id == "r-1"


def test_a_changed_token_or_another_secret_is_refused_as_not_valid() -> None:
    token = LinkSigner(SECRET, ttl_s=60).token("r-1", "dave@example.com")
    payload, stamp, signature = token.split(".")
    tampered = ".".join((payload, stamp, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    for bad, signer in ((tampered, LinkSigner(SECRET, 60)), (token, LinkSigner("another-secret-0123456789", 60))):
        with pytest.raises(LinkError) as refused:
            signer.read(bad)
        assert not refused.value.expired


def test_every_requester_notice_ends_with_a_signed_link_to_the_request_page() -> None:
    drafts = composer().drafts(event(samples()["request.backlogged"]))
    [mail] = [d for d in drafts if d.audience == "requester"]
    assert "token=" not in mail.text  # the published text never carries the link; the email does
    found = re.search(r"Follow your request \(no key needed\): (\S+)$", mail.sent_text())
    assert found is not None
    url = found.group(1)
    assert url.startswith("http://intake.example:8001/pages/mine#request=r-1&token=")
    link = LINKS.signer.read(url.split("token=")[1]) if LINKS.signer else None
    assert link is not None and link.request_id == "r-1" and link.requester == email_hash(DAVE.email)


def test_notices_to_others_carry_no_request_link_and_none_without_a_secret() -> None:
    drafts = composer().drafts(event(samples()["request.tradeoff_required"]))
    assert all(d.follow is None for d in drafts if d.audience != "requester")
    plain = composer(Links(intake="http://intake.example", capacity="http://capacity.example")).drafts(
        event(samples()["request.backlogged"]))
    assert all(d.follow is None for d in plain)


def test_the_heat_shield_is_asked_on_the_tradeoffs_page() -> None:
    sample = samples()["request.tradeoff_required"]
    drafts = composer().drafts(event(sample))
    [mail] = [d for d in drafts if d.audience == "heat_shield" and d.channel == "email"]
    assert f"http://capacity.example:8003/pages/tradeoffs?id={event(sample).data['tradeoff_id']}" in mail.text
    [plain] = [d for d in composer(None).drafts(event(sample)) if d.audience == "heat_shield" and d.channel == "email"]
    assert "/pages/tradeoffs" not in plain.text and "/decision" in plain.text


def test_the_form_page_names_the_classifier_and_escapes_what_it_is_given() -> None:
    app = FastAPI()
    app.include_router(pages_router("intake", {"request": "request.html"}, connect=("http://classifier.example",),
                                    values={"classifier": "http://classifier.example", "form_key": 'k"<x>'}))
    answer = TestClient(app).get("/pages/request")
    assert 'data-classifier="http://classifier.example"' in answer.text
    assert 'data-form-key="k&quot;&lt;x&gt;"' in answer.text and "{{" not in answer.text
    assert "connect-src 'self' http://classifier.example;" in answer.headers["content-security-policy"]


def test_each_stakeholder_of_a_collision_is_linked_to_their_own_request() -> None:
    sample = event(samples()["request.conflict_detected"])
    asked_by = {item["requester"]["email"]: item["request_id"] for item in sample.data["requests"]}
    drafts = [d for d in composer().drafts(sample) if d.audience == "stakeholders" and d.channel == "email"]
    assert drafts and {d.recipient for d in drafts} <= set(asked_by)
    for draft in drafts:
        found = re.search(r"#request=([^&]+)&token=(\S+)$", draft.sent_text())
        assert found is not None and found.group(1) == asked_by[draft.recipient]
        assert LINKS.signer is not None and LINKS.signer.read(found.group(2)).requester == email_hash(draft.recipient)

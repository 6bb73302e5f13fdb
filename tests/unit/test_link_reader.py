"""What a signed link shows of a request merged into: the survivor as its other requester may read it, without
its own requester's contact details or the notices (and the links in them) sent to its own requester."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from intake.links import followed
from shared.links import LinkSigner
from shared.problems import Problem

SECRET = "a-link-secret-for-tests-only-0123456789"
SIGNER = LinkSigner(SECRET, ttl_s=3_600)
ALICE = {"id": "alice@example.com", "name": "Alice", "email": "alice@example.com", "team": "Brand",
         "type": "business_unit"}
BOB = {"id": "bob@example.com", "name": "Bob", "email": "bob@example.com", "team": "Sales", "type": "sales"}


class Store:
    def __init__(self, *found: dict[str, Any]) -> None:
        self.found = {request["id"]: request for request in found}

    async def get(self, request_id: str) -> dict[str, Any] | None:
        return self.found.get(request_id)


def notice(recipient: str, text: str) -> dict[str, Any]:
    return {"type": "notification.sent", "time": "2026-12-01T10:00:00+00:00",
            "summary": f"Told {recipient} by email.",
            "data": {"recipient": recipient, "channel": "email", "audience": "requester", "status": "sent",
                     "text": text, "email_subject": "Your request", "request_id": "r-a"}}


def survivor() -> dict[str, Any]:
    alices_link = SIGNER.page_url("http://intake", "r-a", ALICE["email"])
    merged = {"type": "request.merged", "time": "2026-12-01T11:00:00+00:00", "summary": "merged",
              "data": {"request_id": "r-b", "into": "r-a", "title": "Logos", "into_title": "Logos",
                       "requester": BOB, "into_requester": ALICE}, "changes_status": False}
    # The survivor's own events carry its requester in full, as intake stored them.
    submitted = {"type": "request.submitted", "time": "2026-12-01T09:00:00+00:00", "summary": "Received.",
                 "data": {"request_id": "r-a", "request": {"title": "Customer logos", "requester": ALICE},
                          "submitted_by": "form"}}
    backlogged = {"type": "request.backlogged", "time": "2026-12-01T09:01:00+00:00", "summary": "Waits.",
                  "data": {"request_id": "r-a", "requester": ALICE, "lane": "business_unit", "position": 2}}
    return {"id": "r-a", "status": "backlogged", "submitted_by": "form", "merged_from": ["r-b"],
            "request": {"title": "Customer logos", "requester": ALICE},
            "timeline": [submitted, backlogged, notice(ALICE["email"], f"Your request waits.\n\n{alices_link}"),
                         merged, notice(BOB["email"], "The request yours was merged into waits.")]}


def read(email: str) -> dict[str, Any]:
    link = SIGNER.read(SIGNER.token("r-a", email))
    return asyncio.run(followed(Store(survivor()), link, "r-a"))  # type: ignore[arg-type]


def test_the_merged_requester_reads_the_survivor_without_its_requesters_address_or_link() -> None:
    seen = read(BOB["email"])
    assert "alice@example.com" not in str(seen)
    assert "token=" not in str(seen)
    assert seen["request"]["requester"] == {"name": "Alice", "team": "Brand", "type": "business_unit"}
    submitted, backlogged = seen["timeline"][:2]
    assert submitted["data"]["request"]["requester"] == {"name": "Alice", "team": "Brand", "type": "business_unit"}
    assert backlogged["data"]["requester"] == {"name": "Alice", "team": "Brand", "type": "business_unit"}
    assert backlogged["data"]["position"] == 2
    [theirs] = [e for e in seen["timeline"] if e["type"] == "notification.sent" and "text" in e["data"]]
    assert theirs["data"]["recipient"] == BOB["email"]


def test_the_survivors_own_requester_reads_everything_sent_to_them() -> None:
    seen = read(ALICE["email"])
    assert seen["request"]["requester"] == ALICE
    assert seen["timeline"][0]["data"]["request"]["requester"] == ALICE
    assert seen["timeline"][1]["data"]["requester"] == ALICE
    first = seen["timeline"][2]
    assert first["data"]["recipient"] == ALICE["email"] and "token=" in first["data"]["text"]


CAROL = {"id": "carol@example.com", "name": "Carol", "email": "carol@example.com", "team": "Events",
         "type": "business_unit"}


def test_a_requester_whose_request_was_merged_into_one_merged_on_reads_the_survivor_and_may_not_withdraw_it() -> None:
    # Carol's r-c was merged into Bob's r-b, then r-b into Alice's r-a: Carol hears r-a's news, with a link to it.
    into_b = {"type": "request.merged", "time": "2026-12-01T10:30:00+00:00", "summary": "merged",
              "data": {"request_id": "r-c", "into": "r-b", "title": "Stands", "into_title": "Logos",
                       "requester": CAROL, "into_requester": BOB}, "changes_status": False}
    merged_b = {"id": "r-b", "status": "merged", "request": {"title": "Logos", "requester": BOB},
                "timeline": [into_b]}
    link = SIGNER.read(SIGNER.token("r-a", CAROL["email"]))
    seen = asyncio.run(followed(Store(survivor(), merged_b), link, "r-a"))  # type: ignore[arg-type]
    assert seen["id"] == "r-a" and seen["link_may_withdraw"] is False
    assert "alice@example.com" not in str(seen)
    with pytest.raises(Problem) as refused:
        asyncio.run(followed(Store(survivor(), merged_b), link, "r-a", withdraw=True))  # type: ignore[arg-type]
    assert refused.value.status == 403
    assert read(ALICE["email"])["link_may_withdraw"] is True

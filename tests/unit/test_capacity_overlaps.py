"""Overlaps and merges on capacity's board, as pure folds and views."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from capacity import views
from capacity.dashboard.snapshot import dashboard
from capacity.domain import Ledger
from capacity.events import fold
from capacity.overlaps import board_overlaps
from capacity.planning import plan
from tests.builders import classification, merged

TODAY = date(2026, 11, 25)
T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def _similar(request_id: str, score: float, kind: str = "duplicate") -> dict[str, Any]:
    return {"request_id": request_id, "score": score, "kind": kind, "shared_terms": ["logos"], "title": "x",
            "team": "Brand", "lane": "business_unit", "submitted_at": T0.isoformat()}



def _classify(ledger: Ledger, request_id: str, minutes: int, *, by: str = "test-tool", team: str = "Sales",
              similar: list[dict[str, Any]] | None = None, size: str = "M") -> None:
    requester = {"id": f"u-{request_id}", "name": "Pat Lee", "email": "pat@example.com", "team": team,
                 "type": "sales"}
    fold(ledger, classification(request_id, {"submitted_by": by, "similar": similar or []},
                                submitted_at=T0 + timedelta(minutes=minutes), title=f"Ask {request_id}",
                                requester=requester, size=size))


def _board_card(ledger: Ledger, request_id: str, only: str | None = None) -> dict[str, Any]:
    planned = plan(ledger.items(), ledger.policy, TODAY)
    return views.card(ledger, planned, request_id, only)


def test_a_link_named_by_one_request_marks_both_open_cards() -> None:
    ledger = Ledger()
    _classify(ledger, "a", 0, team="Brand")
    _classify(ledger, "b", 1, similar=[_similar("a", 0.91)])
    assert _board_card(ledger, "b")["linked"] == [{"request_id": "a", "score": 0.91, "kind": "duplicate"}]
    assert _board_card(ledger, "a")["linked"] == [{"request_id": "b", "score": 0.91, "kind": "duplicate"}]
    assert board_overlaps(ledger) == [{"score": 0.91, "kind": "duplicate", "hidden": 0, "requests": [
        {"request_id": "a", "title": "Ask a", "team": "Brand"},
        {"request_id": "b", "title": "Ask b", "team": "Sales"}]}]


def test_a_merged_card_leaves_the_board_frees_its_points_and_the_survivor_names_it() -> None:
    ledger = Ledger()
    _classify(ledger, "a", 0, size="S")
    _classify(ledger, "b", 1, similar=[_similar("a", 0.8, "overlap")], size="S")
    before = views.capacity(ledger, plan(ledger.items(), ledger.policy, TODAY))["committed_points"]
    fold(ledger, merged("b", into="a"))
    after = views.capacity(ledger, plan(ledger.items(), ledger.policy, TODAY))["committed_points"]
    assert "b" not in ledger.cards and after < before
    assert _board_card(ledger, "a")["merged_from"] == ["b"]
    assert _board_card(ledger, "a")["linked"] == [] and board_overlaps(ledger) == []
    _classify(ledger, "b", 1)  # a late classification never brings a merged card back
    assert "b" not in ledger.cards


def test_a_merge_that_arrives_before_the_classification_still_keeps_the_card_off() -> None:
    ledger = Ledger()
    fold(ledger, merged("b", into="a"))
    _classify(ledger, "b", 1)
    _classify(ledger, "a", 0)
    assert list(ledger.cards) == ["a"] and _board_card(ledger, "a")["merged_from"] == ["b"]


def test_a_requester_tool_sees_links_to_its_own_cards_and_counts_the_others() -> None:
    ledger = Ledger()
    _classify(ledger, "a", 0, by="crm")
    _classify(ledger, "b", 1, by="intake-form", similar=[_similar("a", 0.9)])
    assert _board_card(ledger, "a", only="crm")["linked"] == []
    assert _board_card(ledger, "a", only="crm")["merged_from"] == []
    found = board_overlaps(ledger, only="crm")
    assert found == [{"score": 0.9, "kind": "duplicate", "hidden": 1,
                      "requests": [{"request_id": "a", "title": "Ask a", "team": "Sales"}]}]


def test_the_dashboard_lists_open_overlaps_and_marks_linked_cards() -> None:
    ledger = Ledger()
    _classify(ledger, "a", 0)
    _classify(ledger, "b", 1, similar=[_similar("a", 0.85)])
    found = dashboard(ledger, plan(ledger.items(), ledger.policy, TODAY), version=1, generated_at=T0,
                      history={"from": "2026-09-01", "to": "2026-11-25", "customer_reserve": 0.5, "cycles": []})
    faces = [c for column in found["columns"] for c in column["cards"]]
    assert {c["request_id"]: [x["request_id"] for x in c["linked"]] for c in faces} == {"a": ["b"], "b": ["a"]}
    assert [[r["title"] for r in o["requests"]] for o in found["overlaps"]] == [["Ask a", "Ask b"]]
    assert found["overlaps"][0]["requests"][0]["hex"]  # drawn in the card's lane colour

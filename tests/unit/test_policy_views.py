"""The policy page's pure parts: what a proposed policy would move, and what each saved version changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from capacity.domain import Card, Ledger, policy_to
from capacity.planning import Item, Policy, State, plan
from capacity.policy_views import changes, preview, versions

TODAY = date(2026, 11, 25)
T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def card(request_id: str, lane: str, points: int, *, state: State = "open", minutes: int = 0) -> Card:
    item = Item(request_id=request_id, lane=lane, team=f"{lane} team", objective_id=None, objective_rank=None,
                score=0.0, points=points, submitted_at=T0 + timedelta(minutes=minutes), state=state,
                committed_cycle=date(2026, 11, 23) if state == "committed" else None)
    return Card(item, request_id.title(), {"id": "u", "name": "Pat Lee", "email": "pat@example.com",
                                           "team": f"{lane} team", "type": lane}, "orange")


def ledger_of(*cards: Card, policy: Policy | None = None) -> Ledger:
    ledger = Ledger(policy=policy or Policy(version=3))
    for c in cards:
        ledger.put(c)
    return ledger


def test_changes_name_each_setting_that_differs_inside_the_maps_too() -> None:
    before = policy_to(Policy(version=1))
    after = policy_to(Policy(version=2, capacity_points=30, lane_caps={**Policy().lane_caps, "legal": 0.05}))
    assert changes(before, after) == [{"setting": "capacity_points", "before": 20, "after": 30},
                                      {"setting": "lane_caps.legal", "before": 0.1, "after": 0.05}]
    assert changes(before, before) == []


def test_a_smaller_cap_keeps_committed_work_and_moves_waiting_work_later() -> None:
    # Sales may use 4 points: the committed page stays committed whatever the policy says now.
    ledger = ledger_of(card("committed-page", "sales", 3, state="committed"),
                       card("waiting-page", "sales", 1, minutes=1), card("webinar", "customer", 2, minutes=2))
    current = plan(ledger.items(), ledger.policy, TODAY)
    assert current.slots["waiting-page"].committed  # 3 + 1 fit the sales share of 4 points
    smaller = Policy(version=4, lane_caps={**Policy().lane_caps, "sales": 0.15})  # 3 points
    found = preview(ledger, current, smaller, TODAY)
    assert {m["request_id"]: m["move"] for m in found["moves"]} == {"waiting-page": "out of the cycle"}
    assert [c["request_id"] for c in found["after"]["committed"]] == ["committed-page", "webinar"]
    assert (found["before"]["shares"]["sales"], found["after"]["shares"]["sales"]) == (0.2, 0.15)
    assert found["after"]["budgets"]["sales"] == 3 and found["saved"] is False
    assert ledger.policy.version == 3  # the ledger itself is left as it was


def test_a_longer_cycle_is_previewed_from_its_own_current_cycle() -> None:
    ledger = ledger_of(*(card(f"page-{i}", "sales", 3, minutes=i) for i in range(3)))
    current = plan(ledger.items(), ledger.policy, TODAY)
    found = preview(ledger, current, replace(ledger.policy, version=4, cycle_days=14), TODAY)
    assert found["changes"] == [{"setting": "cycle_days", "before": 7, "after": 14}]
    assert found["after"]["committed_points"] == 3 and found["after"]["backlog_depth"] == 2


def test_versions_list_the_newest_first_with_who_changed_what() -> None:
    policies = {1: policy_to(Policy(version=1, wip_total=8)), 2: policy_to(Policy(version=2, wip_total=6))}
    found = versions(policies, {1: "ops-console", 2: "ops-page"})
    assert [(v["version"], v["updated_by"]) for v in found] == [(2, "ops-page"), (1, "ops-console")]
    assert found[0]["changes"] == [{"setting": "wip_total", "before": 8, "after": 6}]
    assert found[1]["changes"] == [{"setting": "wip_total", "before": 5, "after": 8}]  # from the defaults
    assert versions({}, {}) == []

"""``GET /v1/capacity`` lists the active alerts: those raised this cycle that the plan still shows. An alert a
policy change has resolved since is no longer listed, nor counted in ``capacity_active_alerts``."""

from dataclasses import replace
from datetime import UTC, date, datetime

from capacity.decisions import decide
from capacity.domain import Card, Ledger
from capacity.events import fold
from capacity.planning import Item, Policy, plan
from capacity.views import capacity
from shared.events import CapacityAlert

W48 = date(2026, 11, 23)


def committed(request_id: str, lane: str, points: int) -> Card:
    item = Item(request_id=request_id, lane=lane, team=lane, objective_id=None, objective_rank=None, score=0.0,
                points=points, submitted_at=datetime(2026, 11, 23, 9, tzinfo=UTC), state="committed",
                committed_cycle=W48)
    return Card(item, request_id.title(), {"id": "u", "name": "Pat", "email": "p@example.com", "team": lane,
                                           "type": lane}, "orange")


def test_an_alert_resolved_by_a_policy_change_is_no_longer_active() -> None:
    # The ops press the reserve to 80%: the 4 + 4 internal points committed now crowd it out (40% internal).
    ledger = Ledger(policy=Policy(customer_reserve=0.8))
    ledger.put(committed("launch-kit", "sales", 4))
    ledger.put(committed("microsite", "business_unit", 4))
    made = decide(ledger, plan(ledger.live_items(), ledger.policy, W48), new=None, heat_shield="shield@example.com")
    for data in made:
        fold(ledger, data)
    assert [a.kind for a in made if isinstance(a, CapacityAlert)] == ["reserve_crowded_out"]
    shown = capacity(ledger, plan(ledger.live_items(), ledger.policy, W48))["alerts"]
    assert [a["kind"] for a in shown] == ["reserve_crowded_out"] and "80%" in shown[0]["observation"]
    ledger.policy = replace(ledger.policy, version=2, customer_reserve=0.5)  # back to half: 40% internal is fine
    assert capacity(ledger, plan(ledger.live_items(), ledger.policy, W48))["alerts"] == []

from datetime import UTC, date, datetime

from capacity.cycles import CycleHeld, held_now
from capacity.domain import Card, Ledger
from capacity.planning import Item, Policy, plan

W48 = date(2026, 11, 23)


def card(request_id: str, lane: str, points: int, state: str) -> Card:
    item = Item(request_id=request_id, lane=lane, team=lane, objective_id=None, objective_rank=None, score=0.0,
                points=points, submitted_at=datetime(2026, 11, 23, 9, tzinfo=UTC), state=state,  # type: ignore[arg-type]
                committed_cycle=W48)
    return Card(item, request_id.title(), {"id": "u", "name": "Pat", "email": "p@example.com", "team": lane,
                                           "type": lane}, "orange")


def test_a_cycles_first_record_counts_the_work_already_finished_in_it_at_most_its_lane_share() -> None:
    ledger = Ledger(policy=Policy())
    for c in (card("launch-kit", "sales", 8, "done"), card("banner", "customer", 2, "committed")):
        ledger.put(c)
    [record] = held_now(ledger, plan(ledger.live_items(), ledger.policy, W48))
    assert isinstance(record, CycleHeld) and record.cycle_start == W48
    assert {h.request_id: h.points for h in record.held} == {"launch-kit": 4, "banner": 2}  # sales: 4 a cycle
    ledger.cycles[W48] = record
    assert held_now(ledger, plan(ledger.live_items(), ledger.policy, W48)) == []  # nothing changed since

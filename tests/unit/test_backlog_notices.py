"""A backlog notice is sent when a request's expected start changes. Work with no place within the horizon is
told once that it waits beyond it: the first cycle after the horizon moves on with every cycle while nothing
changes for the request, so it is told again only once it gets a place. Pure: the decisions on a ledger."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from capacity.decisions import decide
from capacity.domain import Card, Ledger
from capacity.events import fold
from capacity.planning import Item, Policy, plan
from shared.events import RequestBacklogged, RequestScheduled, TradeoffRequired

W48 = date(2026, 11, 23)


def card(request_id: str, points: int, state: str, minutes: int = 0) -> Card:
    item = Item(request_id=request_id, lane="sales", team="sales", objective_id=None, objective_rank=None,
                score=0.0, points=points, state=state,  # type: ignore[arg-type]
                submitted_at=datetime(2026, 11, 23, 9, minutes, tzinfo=UTC),
                committed_cycle=W48 if state == "committed" else None)
    return Card(item, request_id.title(), {"id": "u", "name": "Pat", "email": "p@example.com", "team": "Sales",
                                           "type": "sales"}, "orange")


def told(ledger: Ledger, week: int) -> list[RequestBacklogged | RequestScheduled]:
    """What a planning in week 48 + ``week`` tells of waiting work, folded into the ledger as capacity does."""
    made = decide(ledger, plan(ledger.live_items(), ledger.policy, W48 + timedelta(weeks=week)), new=None,
                  heat_shield="shield@example.com")
    for data in made:
        fold(ledger, data)
    return [data for data in made if isinstance(data, RequestBacklogged | RequestScheduled)]


def test_work_beyond_the_horizon_is_told_so_once_and_again_when_it_gets_a_place() -> None:
    # Sales gets 4 points a week and plans two weeks ahead. With 4 committed now, 8 points would need the two
    # weeks after this one: one past the horizon, however it moves on, while the committed work goes on.
    ledger = Ledger(policy=Policy(horizon_cycles=2))
    ledger.put(card("kit", 4, "committed"))
    ledger.put(card("rollout", 8, "open", minutes=1))
    [first] = told(ledger, 0)
    assert isinstance(first, RequestBacklogged)
    assert (first.request_id, first.beyond_horizon, first.expected_start) == ("rollout", True, W48 + timedelta(weeks=2))
    assert told(ledger, 1) == []  # still no place: its start "after the horizon" moved on, nothing to tell
    ledger.put(card("brochure", 4, "open", minutes=2))  # placed in week 50, the second of the horizon
    assert [(n.request_id, n.expected_start) for n in told(ledger, 1) if isinstance(n, RequestBacklogged)] == [
        ("brochure", W48 + timedelta(weeks=2))]
    ledger.move("kit", state="done")  # the week's 4 points free: the rollout gets a place, and is told; the
    # brochure behind it now waits beyond the horizon, and is told that
    assert [(n.request_id, type(n).__name__, getattr(n, "beyond_horizon", None)) for n in told(ledger, 1)] == [
        ("rollout", "RequestScheduled", None), ("brochure", "RequestBacklogged", True)]


def urgent(request_id: str, lane: str, points: int) -> Card:
    found = card(request_id, points, "open")
    item = replace(found.item, lane=lane, expedite=True)
    return replace(found, item=item, justification="The board meets on Friday")


def test_a_trade_off_question_says_why_there_is_no_room_and_offers_nothing_when_nothing_is_committed() -> None:
    ledger = Ledger(policy=Policy())
    ledger.put(replace(card("exec-report", 3, "committed"), item=replace(card("exec-report", 3, "committed").item,
                                                                       lane="executive")))
    ledger.put(urgent("board-slides", "executive", 2))
    made = decide(ledger, plan(ledger.live_items(), ledger.policy, W48), new="board-slides", heat_shield="s@x.com")
    [question] = [d for d in made if isinstance(d, TradeoffRequired)]
    assert "The executive share of this cycle (3 of 20 points) is already committed." in question.question
    assert question.question.endswith("what would you like us to pause?")

    closed = Ledger(policy=Policy(lane_caps={**Policy().lane_caps, "legal": 0.0}))  # legal closed by ops
    closed.put(urgent("contract-review", "legal", 1))
    made = decide(closed, plan(closed.live_items(), closed.policy, W48), new="contract-review", heat_shield="s@x.com")
    [question] = [d for d in made if isinstance(d, TradeoffRequired)]
    assert question.committed == [] and "The legal share of a cycle is 0 of 20 points" in question.question
    assert "nothing to pause" in question.question and "what would you like us to pause" not in question.question

    reserved = Ledger(policy=Policy(customer_reserve=1.0))  # every point reserved for customer work
    reserved.put(urgent("contract-review", "legal", 1))
    made = decide(reserved, plan(reserved.live_items(), reserved.policy, W48), new="contract-review",
                  heat_shield="s@x.com")
    [question] = [d for d in made if isinstance(d, TradeoffRequired)]
    assert "The customer reserve (100%) leaves internal requests no points of a cycle." in question.question

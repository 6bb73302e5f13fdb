from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from capacity.board import Refused, move
from capacity.decisions import decide, settled
from capacity.domain import Card, Ledger, status_of
from capacity.events import fold
from capacity.planning import Item, Plan, Policy, cycle_start, plan
from shared.envelope import derived_id
from shared.events import (
    ConflictDetected,
    EventData,
    RequestBacklogged,
    RequestPaused,
    RequestScheduled,
    TradeoffRequired,
)
from tests.builders import about_card, classification, withdrawn

TODAY = date(2026, 11, 25)
T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def card(request_id: str, lane: str, points: int, *, minutes: int = 0, state: str = "open",
         expedite: bool = False) -> Card:
    item = Item(request_id=request_id, lane=lane, team=lane, objective_id=None, objective_rank=None, score=0.0,
                points=points, submitted_at=T0 + timedelta(minutes=minutes), expedite=expedite,
                state=state, committed_cycle=date(2026, 11, 23) if state == "committed" else None)  # type: ignore[arg-type]
    return Card(item, request_id.title(), {"id": "u", "name": "Pat", "email": f"{request_id}@example.com",
                                           "team": lane, "type": lane}, "orange")


def ledger_of(*cards: Card) -> Ledger:
    ledger = Ledger(policy=Policy())
    for c in cards:
        ledger.put(c)
    return ledger


def decisions(ledger: Ledger, new: str | None = None) -> list[EventData]:
    return decide(ledger, plan(ledger.items(), ledger.policy, TODAY), new=new, heat_shield="shield@example.com")


def decided(ledger: Ledger, new: str | None = None) -> list[dict[str, object]]:
    return [{"type": e.event_type, **e.model_dump(mode="json")} for e in decisions(ledger, new)]


def paused(request_id: str) -> RequestPaused:
    return about_card(RequestPaused, request_id, by="ops", resume_from=date(2026, 11, 30))


def test_work_that_fits_is_committed_and_the_rest_told_why_it_waits() -> None:
    ledger = ledger_of(card("first", "sales", 3), card("second", "sales", 3, minutes=1))
    events = {e["request_id"]: e for e in decided(ledger, new="second")}
    assert events["first"]["type"] == "request.scheduled"
    assert events["second"]["type"] == "request.backlogged"
    assert "sales share of this cycle (4 of 20 points)" in str(events["second"]["reason"])


def test_waiting_because_internal_lanes_used_their_half_names_the_customer_reserve() -> None:
    ledger = ledger_of(card("s", "sales", 4, state="committed"), card("b", "business_unit", 4, state="committed"),
                       card("e", "executive", 2, state="committed"), card("legal", "legal", 1, minutes=5))
    [waiting] = [e for e in decided(ledger, new="legal") if e["request_id"] == "legal"]
    assert waiting["type"] == "request.backlogged"
    assert "not reserved for customer work (50%)" in str(waiting["reason"])


def test_an_expedite_that_does_not_fit_asks_the_requester_and_the_heat_shield_what_to_pause() -> None:
    ledger = ledger_of(card("keynote", "executive", 3, state="committed"),
                       card("slides", "executive", 2, minutes=1, expedite=True))
    [question] = [e for e in decided(ledger, new="slides") if e["type"] == "request.tradeoff_required"]
    assert question["addressed_to"] == ["shield@example.com", "slides@example.com"]  # heat shield first
    assert [c["request_id"] for c in question["committed"]] == ["keynote"]  # type: ignore[attr-defined]


def test_the_tradeoff_question_lists_work_the_same_plan_commits() -> None:
    # Both arrive in one run: the page is committed by this plan, and the urgent one does not fit beside it.
    ledger = ledger_of(card("page", "sales", 4), card("urgent", "sales", 2, minutes=1, expedite=True))
    [question] = [e for e in decided(ledger, new="urgent") if e["type"] == "request.tradeoff_required"]
    assert [c["request_id"] for c in question["committed"]] == ["page"]  # type: ignore[attr-defined]
    assert "(4 points)" in str(question["question"])


def test_only_items_whose_expected_start_changed_are_announced_again() -> None:
    ledger = ledger_of(card("a", "sales", 3), card("b", "sales", 3, minutes=1), card("c", "sales", 3, minutes=2))
    for event in decisions(ledger, new="c"):
        fold(ledger, event)
    assert decided(ledger) == []
    ledger.put(card("d", "sales", 3, minutes=3))
    assert [e["request_id"] for e in decided(ledger, new="d")] == ["d"]


def test_a_withdrawn_request_leaves_the_board_and_its_tradeoff_closes() -> None:
    ledger = ledger_of(card("keynote", "executive", 3, state="committed"),
                       card("slides", "executive", 2, minutes=1, expedite=True))
    for event in decisions(ledger, new="slides"):
        fold(ledger, event)
    [tradeoff] = ledger.tradeoffs.values()
    fold(ledger, withdrawn("slides"))
    assert "slides" not in ledger.cards and "slides" in ledger.dirty
    assert ledger.tradeoffs[tradeoff.tradeoff_id].status == "closed"


def test_a_paused_card_may_start_again_from_the_cycle_its_pause_names() -> None:
    ledger = ledger_of(card("page", "sales", 3, state="committed"))
    fold(ledger, paused("page"))
    item = ledger.cards["page"].item
    assert (item.state, item.head_of_backlog, item.not_before) == ("paused", True, date(2026, 11, 30))
    assert not plan(ledger.items(), ledger.policy, TODAY).slots["page"].committed
    assert plan(ledger.items(), ledger.policy, date(2026, 12, 2)).slots["page"].committed


def test_starting_a_paused_card_is_refused_with_when_it_comes_back_and_is_no_bypass() -> None:
    ledger = ledger_of(card("page", "sales", 3, state="committed"))
    fold(ledger, paused("page"))
    for action in ("start", "done"):
        with pytest.raises(Refused) as refused:
            move(ledger, plan(ledger.items(), ledger.policy, TODAY), "page", action, by="ops")
        assert refused.value.status == 409 and refused.value.bypass is None
        assert "committed again from the cycle of 30 Nov 2026" in refused.value.detail
    with pytest.raises(Refused) as bypass:  # work never committed: a bypass, recorded
        move(ledger_of(card("open", "sales", 3)), plan([], Policy(), TODAY), "open", "start", by="ops")
    assert bypass.value.bypass is not None


def test_a_paused_card_waiting_at_the_head_of_the_backlog_is_announced_as_paused() -> None:
    ledger = ledger_of(card("page", "sales", 3, state="committed"))
    fold(ledger, paused("page"))
    [told] = decided(ledger)
    assert (told["type"], told["paused"]) == ("request.backlogged", True)
    waiting = ledger_of(card("first", "sales", 3, state="committed"), card("other", "sales", 3, minutes=1))
    assert [(e["type"], e["paused"]) for e in decided(waiting, new="other")] == [("request.backlogged", False)]


def test_a_card_status_comes_from_its_state_and_its_plan_slot() -> None:
    ledger = ledger_of(card("fits", "sales", 3), card("waits", "sales", 3, minutes=1),
                       card("going", "sales", 1, state="committed"))
    fold(ledger, paused("going"))
    current = plan(ledger.items(), ledger.policy, TODAY)
    assert {rid: status_of(c.item, current.slots.get(rid)) for rid, c in ledger.cards.items()} == {
        "fits": "committed", "waits": "backlogged", "going": "paused"}


def test_a_tradeoff_replayed_after_its_request_was_withdrawn_stays_closed() -> None:
    """A rebuild folds by time: intake's withdrawal can come before capacity's late question."""
    ledger = ledger_of(card("keynote", "executive", 3, state="committed"),
                       card("slides", "executive", 2, minutes=1, expedite=True))
    [question] = [e for e in decisions(ledger, new="slides") if isinstance(e, TradeoffRequired)]
    fold(ledger, withdrawn("slides"))
    fold(ledger, question)
    assert [t.status for t in ledger.tradeoffs.values()] == ["closed"]


def test_a_withdrawn_card_is_no_longer_offered_for_pausing_in_an_open_tradeoff() -> None:
    ledger = ledger_of(card("keynote", "executive", 2, state="committed"),
                       card("memo", "executive", 1, minutes=1, state="committed"),
                       card("slides", "executive", 2, minutes=2, expedite=True))
    for event in decisions(ledger, new="slides"):
        fold(ledger, event)
    fold(ledger, withdrawn("memo"))
    [tradeoff] = ledger.tradeoffs.values()
    assert (tradeoff.status, tradeoff.candidates) == ("open", ("keynote",))
    assert "memo" not in ledger.cards


def test_a_withdrawn_request_classified_late_never_reaches_the_board() -> None:
    ledger = ledger_of()
    fold(ledger, withdrawn("late"))
    fold(ledger, classification("late", lane="customer"))
    assert ledger.cards == {} and decided(ledger, new="late") == []


def test_a_decision_names_the_objective_as_its_classification_did() -> None:
    ledger = ledger_of()
    fold(ledger, classification("webinar", objective="O2", rank=2, lane="customer",
                                objective_title="Reduce customer churn"))
    [scheduled] = decided(ledger, new="webinar")
    assert (scheduled["type"], scheduled["objective_id"], scheduled["objective_title"]) == (
        "request.scheduled", "O2", "Reduce customer churn")
    assert Card.from_json(ledger.cards["webinar"].to_json()) == ledger.cards["webinar"]  # kept in Redis too


def test_a_card_classified_before_classifications_carried_titles_decides_without_one() -> None:
    ledger = ledger_of()
    fold(ledger, classification("webinar", objective="O2", rank=2, lane="customer"))
    [scheduled] = decided(ledger, new="webinar")
    assert (scheduled["objective_id"], scheduled["objective_title"]) == ("O2", None)


def test_a_classification_under_an_older_okr_set_arriving_late_does_not_undo_the_newer_one() -> None:
    ledger = ledger_of()
    fold(ledger, classification("r", {"okr_quarter": "2026-Q4", "okr_version": 2, "objective_id": "O3",
                                      "objective_rank": 3}))  # the rollover's, under the set that replaced v1
    fold(ledger, classification("r", {"okr_quarter": "2026-Q4", "okr_version": 1, "objective_id": "O1",
                                      "objective_rank": 1}))  # the first one, published late
    kept = ledger.cards["r"]
    assert (kept.okr_version, kept.item.objective_id) == (2, "O3")
    fold(ledger, classification("r", {"okr_quarter": "2027-Q1", "okr_version": 1, "objective_id": None,
                                      "objective_rank": None}))  # a new quarter's set: newer
    assert (ledger.cards["r"].okr_quarter, ledger.cards["r"].item.objective_id) == ("2027-Q1", None)


def test_waiting_for_a_full_cycle_says_so_and_blames_no_lane_share() -> None:
    # Customer work has the whole cycle; the sales share (4 points) holds nothing.
    ledger = ledger_of(card("webinar", "customer", 20, state="committed"), card("site", "sales", 8, minutes=1))
    [waiting] = [e for e in decided(ledger, new="site") if e["request_id"] == "site"]
    assert "sales share" not in str(waiting["reason"])
    assert "This cycle's 20 points are committed (20 taken; it needs 4 to start)." in str(waiting["reason"])


def test_a_collision_is_announced_once_though_its_requests_change_places_in_the_queue() -> None:
    due = TODAY + timedelta(weeks=6)
    summit, roadshow = card("summit", "sales", 16, minutes=10), card("roadshow", "sales", 16)
    aligned = replace(summit, item=replace(summit.item, team="sales-emea", objective_id="O1", objective_rank=1,
                                           due_date=due))
    older = replace(roadshow, item=replace(roadshow.item, team="sales-na", due_date=due))
    ledger = ledger_of(aligned, older)
    first = [e for e in decisions(ledger) if isinstance(e, ConflictDetected)]
    assert [e.request_id for e in first] == ["summit", "roadshow"]  # the aligned one first
    for event in first:
        fold(ledger, event)
    # Four weeks on, the older one has waited past the ageing bound and goes first; the collision is the same.
    later = TODAY + timedelta(weeks=4)
    again = decide(ledger, plan(ledger.items(), ledger.policy, later), new=None, heat_shield="shield@example.com")
    assert [e for e in again if isinstance(e, ConflictDetected)] == []
    # Announced before collisions had one id whatever the order: its id followed the queue order of then.
    ledger.conflicts = {derived_id("conflict", cycle_start(due, ledger.policy).isoformat(), "summit", "roadshow")}
    again = decide(ledger, plan(ledger.items(), ledger.policy, later), new=None, heat_shield="shield@example.com")
    assert [e for e in again if isinstance(e, ConflictDetected)] == []


def test_waiting_work_hears_the_start_the_next_planning_keeps_when_the_same_plan_commits_other_work() -> None:
    # The executive deck is committed by this plan; its later cycles' points then come before the objective
    # work's at every planning after (committed work first), so the date told must already count them.
    objective = card("microsite", "business_unit", 5)
    ledger = ledger_of(card("sales-kit", "sales", 8, state="committed"),
                       card("flyer", "business_unit", 3, state="committed"),
                       replace(objective, item=replace(objective.item, objective_id="O1", objective_rank=1)),
                       card("deck", "executive", 8, minutes=1))

    def replan(folded: Ledger) -> Plan:
        return plan(folded.items(), folded.policy, TODAY)

    told, planned = settled(ledger, replan(ledger), replan, new=["microsite", "deck"],
                            heat_shield="shield@example.com")
    assert [e.request_id for e in told if isinstance(e, RequestScheduled)] == ["deck"]
    for event in told:
        fold(ledger, event)
    [waiting] = [e for e in told if isinstance(e, RequestBacklogged)]
    assert waiting.expected_start == replan(ledger).slots["microsite"].start == planned.slots["microsite"].start
    assert [e for e in decisions(ledger) if isinstance(e, RequestBacklogged)] == []  # nothing moved since


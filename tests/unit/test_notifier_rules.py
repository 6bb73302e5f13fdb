from notifier.domain import Audience, messages_for
from tests.builders import backlogged

TEAM = Audience(ops="ops@example.com", heat_shield="shield@example.com")


def test_not_right_now_comes_with_position_expected_start_and_reason() -> None:
    [message] = messages_for("request.backlogged", backlogged("r-1", position=4).data, TEAM)
    assert message.recipient == "dave@example.com" and message.channel == "email"
    assert "not right now" in message.text
    assert "number 4 in the backlog" in message.text and "2026-W49" in message.text
    assert "Queued after objective work." in message.text


def test_events_nobody_needs_to_hear_about_send_nothing() -> None:
    assert messages_for("request.classified", {"title": "x"}, TEAM) == []


def test_a_tradeoff_question_goes_to_the_requester_and_the_heat_shield_with_the_candidates() -> None:
    data = {"title": "Board slides", "tradeoff_id": "t-1", "addressed_to": ["vp@example.com", "shield@example.com"],
            "question": "What would you like us to pause?",
            "committed": [{"request_id": "r", "title": "Exec report", "lane": "executive", "points": 3}]}
    messages = messages_for("request.tradeoff_required", data, TEAM)
    assert [m.recipient for m in messages] == ["vp@example.com", "shield@example.com"]
    assert all("\"Exec report\" (executive, 3 points)" in m.text for m in messages)


def test_a_collision_reaches_every_stakeholder_and_ops_once() -> None:
    people = [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "a@example.com"}]
    data = {"observation": "Both need large work.", "stakeholders": people, "conflict_id": "c-1",
            "requests": [{"title": "Summit", "lane": "sales", "points": 8}]}
    messages = messages_for("request.conflict_detected", data, TEAM)
    assert [m.recipient for m in messages] == ["a@example.com", "b@example.com", "ops@example.com"]
    # One notice per person for the whole collision, whichever request's event announces it.
    assert {m.about for m in messages} == {"c-1"}


def test_share_alerts_go_to_ops_and_the_heat_shield() -> None:
    data = {"cycle": "2026-W48", "observation": "About 40% of this cycle goes to business-unit requests."}
    messages = messages_for("capacity.alert", data, TEAM)
    assert {m.recipient for m in messages} == {"ops@example.com", "shield@example.com"}
    assert messages[0].text.startswith("Cycle 2026-W48: About 40%")

from notifier.domain import messages_for
from tests.builders import backlogged


def test_not_right_now_comes_with_position_expected_start_and_reason() -> None:
    [message] = messages_for("request.backlogged", backlogged("r-1", position=4).data)
    assert message.recipient == "dave@example.com" and message.channel == "email"
    assert "not right now" in message.text
    assert "number 4 in the backlog" in message.text and "2026-W49" in message.text
    assert "Queued after objective work." in message.text


def test_events_nobody_needs_to_hear_about_send_nothing() -> None:
    assert messages_for("request.classified", {"title": "x"}) == []

"""The one status machine every service and view derives a request's status from."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from intake.domain import redacted
from shared.lifecycle import OPEN, STATUS_AFTER, TERMINAL, TRANSITIONS, fold_status, next_status


def test_a_paused_card_listed_again_in_the_backlog_stays_paused() -> None:
    assert fold_status(["request.submitted", "request.classified", "request.scheduled", "request.paused",
                        "request.backlogged"]) == "paused"


def test_paused_work_comes_back_when_committed_again_or_started() -> None:
    paused = ["request.classified", "request.scheduled", "request.paused"]
    assert fold_status([*paused, "request.scheduled"]) == "committed"
    assert fold_status([*paused, "request.started"]) == "in_progress"


def test_committed_work_never_goes_back_to_the_backlog_or_to_classified() -> None:
    assert next_status("committed", "request.backlogged") == "committed"
    assert next_status("in_progress", "request.classified") == "in_progress"


def test_work_cannot_be_done_before_it_was_committed() -> None:
    assert next_status("backlogged", "request.done") == "backlogged"


@given(st.lists(st.sampled_from(sorted(STATUS_AFTER)), max_size=12))
def test_the_first_terminal_event_is_final(events: list[str]) -> None:
    status = fold_status(events)
    for cut in range(len(events)):
        if fold_status(events[:cut]) in TERMINAL:
            assert status == fold_status(events[:cut])
            break


def test_every_open_status_may_be_withdrawn_and_no_terminal_one_moves() -> None:
    assert all("withdrawn" in TRANSITIONS[s] and "merged" in TRANSITIONS[s] for s in OPEN)
    assert all(not TRANSITIONS[s] for s in TERMINAL)


def test_a_requester_tool_reads_that_the_heat_shield_was_told_not_who_it_is() -> None:
    entry: dict[str, Any] = {"type": "notification.sent", "summary": "Told shield@example.com by email.",
             "data": {"recipient": "shield@example.com", "audience": "heat_shield", "status": "sent",
                      "text": "Dear heat shield", "channel": "email"}}
    seen = redacted(entry, set())
    assert "shield@example.com" not in str(seen)
    assert seen["summary"] == "Told the heat-shield manager."
    own = {**entry, "data": {**entry["data"], "audience": "requester", "recipient": "dave@example.com"}}
    assert redacted(own, set())["data"]["recipient"] == "dave@example.com"

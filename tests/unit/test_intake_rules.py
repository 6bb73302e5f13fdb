from datetime import UTC, datetime, timedelta

from intake.domain import TimelineEntry, can_withdraw, current_status, request_id_for, summarize
from shared.events import NotificationSent, RequestClassified
from tests.builders import classified

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def entry(event_type: str, seconds: float) -> TimelineEntry:
    return TimelineEntry(f"{event_type}-{seconds}", event_type, T0 + timedelta(seconds=seconds), "")


def test_status_follows_the_latest_lifecycle_event() -> None:
    timeline = [entry("request.submitted", 0), entry("request.classified", 1), entry("request.backlogged", 2)]
    assert current_status(timeline) == "backlogged"


def test_events_consumed_out_of_order_still_give_the_latest_status() -> None:
    timeline = [entry("request.backlogged", 2), entry("request.submitted", 0), entry("request.classified", 1)]
    assert current_status(timeline) == "backlogged"


def test_done_and_withdrawn_are_final_whatever_comes_after() -> None:
    assert current_status([entry("request.withdrawn", 1), entry("request.backlogged", 2)]) == "withdrawn"
    assert current_status([entry("request.scheduled", 0), entry("request.done", 1),
                           entry("request.paused", 2)]) == "done"


def test_notifications_and_tradeoffs_do_not_change_the_status() -> None:
    timeline = [entry("request.backlogged", 1), entry("notification.sent", 2),
                entry("request.tradeoff_required", 3)]
    assert current_status(timeline) == "backlogged"


def test_finished_requests_cannot_be_withdrawn() -> None:
    assert can_withdraw("backlogged") and can_withdraw("in_progress")
    assert not can_withdraw("done") and not can_withdraw("withdrawn")


def test_request_id_is_stable_for_the_same_idempotency_key_and_caller() -> None:
    assert request_id_for("crm", "k1", "x") == request_id_for("crm", "k1", "y")
    assert request_id_for("crm", "k1", "x") != request_id_for("chat", "k1", "x")
    assert request_id_for("crm", None, "fresh") == "fresh"


def test_the_first_final_event_wins_when_both_done_and_withdrawn_arrive() -> None:
    started = [entry("request.scheduled", 0), entry("request.started", 0.5)]
    assert current_status([*started, entry("request.done", 1), entry("request.withdrawn", 2)]) == "done"
    assert current_status([*started, entry("request.withdrawn", 1), entry("request.done", 2)]) == "withdrawn"


def test_a_reclassification_does_not_move_committed_work_back() -> None:
    measured_again = {**classified("r").data, "reclassified": True, "previous_objective_id": "O2"}
    again = TimelineEntry.of("r", T0 + timedelta(seconds=9), RequestClassified.model_validate(measured_again),
                             measured_again)
    assert again.summary == "Measured again against new objectives: now no published objective (was O2)."
    assert current_status([entry("request.scheduled", 1), entry("request.started", 2), again]) == "in_progress"


def test_the_timeline_says_plainly_when_nobody_could_be_told() -> None:
    sent = NotificationSent(notification_id="n-1", request_id="r-1", about_event_id="e-1",
                            about_event_type="request.backlogged", recipient="dave@example.com", channel="email",
                            text="Hi Dave", sent_at=T0)
    not_sent = sent.model_copy(update={"status": "not_sent", "detail": "No SMTP server is configured."})
    assert summarize(sent) == "Told dave@example.com by email."
    assert summarize(not_sent) == (
        "Not told dave@example.com by email: No SMTP server is configured.")

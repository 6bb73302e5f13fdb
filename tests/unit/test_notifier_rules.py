"""Who hears what, through which channel, and when to try again: the notifier's pure rules."""

from notifier.domain import (
    DEFAULT_CHANNELS,
    Notice,
    Team,
    notices_for,
    retry_delay,
    route,
    subscribed,
    unknown_event_types,
    webhook_verdict,
)
from tests.notifier_samples import HEAT_SHIELD, samples

TEAM = Team(ops="ops@example.com", heat_shield=HEAT_SHIELD)


def data(event_type: str) -> dict[str, object]:
    return samples()[event_type].model_dump(mode="json")


def test_the_requester_hears_of_each_step_of_their_request() -> None:
    for event_type in ("request.backlogged", "request.scheduled", "request.started", "request.paused",
                       "request.done"):
        assert notices_for(event_type, data(event_type), TEAM) == [
            Notice("requester", "dave@example.com", "Dave Morrison")]


def test_events_nobody_needs_to_hear_about_send_nothing() -> None:
    assert notices_for("request.classified", {"title": "x"}, TEAM) == []
    assert notices_for("notification.sent", {}, TEAM) == []


def test_a_tradeoff_question_goes_to_the_heat_shield_first_then_the_requester_and_ops_sees_it() -> None:
    notices = notices_for("request.tradeoff_required", data("request.tradeoff_required"), TEAM)
    assert [(n.audience, n.recipient) for n in notices] == [
        ("heat_shield", HEAT_SHIELD), ("requester", "vp@example.com"), ("ops", "ops@example.com")]


def test_every_tradeoff_decision_reaches_ops_and_the_heat_shield() -> None:
    notices = notices_for("request.tradeoff_decided", data("request.tradeoff_decided"), TEAM)
    assert {(n.audience, n.recipient) for n in notices} == {("heat_shield", HEAT_SHIELD), ("ops", "ops@example.com")}


def test_a_collision_reaches_every_stakeholder_and_ops_once_for_the_whole_collision() -> None:
    notices = notices_for("request.conflict_detected", data("request.conflict_detected"), TEAM)
    assert [(n.audience, n.recipient) for n in notices] == [
        ("stakeholders", "dave@example.com"), ("stakeholders", "aisha@example.com"), ("ops", "ops@example.com")]
    # One notice per person for the whole collision, whichever request's event announces it.
    assert {n.about for n in notices} == {"c-1"}


def test_share_alerts_go_to_ops_and_the_heat_shield() -> None:
    notices = notices_for("capacity.alert", data("capacity.alert"), TEAM)
    assert {n.recipient for n in notices} == {"ops@example.com", HEAT_SHIELD}


def test_channels_are_configured_per_audience_and_slack_is_posted_once_per_event() -> None:
    notices = notices_for("capacity.alert", data("capacity.alert"), TEAM)
    messages = route(notices, DEFAULT_CHANNELS, "#marketing-ops")
    assert [(m.recipient, m.channel, m.notice.audience) for m in messages] == [
        ("ops@example.com", "email", "ops"), ("#marketing-ops", "slack", "ops"), (HEAT_SHIELD, "email", "heat_shield")]


def test_slack_is_skipped_while_no_slack_webhook_is_configured() -> None:
    notices = notices_for("capacity.alert", data("capacity.alert"), TEAM)
    assert {m.channel for m in route(notices, DEFAULT_CHANNELS, None)} == {"email"}


def test_an_audience_configured_for_no_channel_hears_nothing() -> None:
    notices = notices_for("request.done", data("request.done"), TEAM)
    assert route(notices, {**DEFAULT_CHANNELS, "requester": []}, "#ops") == []


def test_retries_follow_the_schedule_with_jitter_then_give_up() -> None:
    schedule = [5.0, 300.0, 1800.0]
    assert retry_delay(1, schedule, 0.2, 0.5) == 5.0
    assert retry_delay(2, schedule, 0.2, 0.0) == 240.0
    assert retry_delay(3, schedule, 0.2, 0.999999) == 1800.0 * 1.2 - 1800.0 * 0.2 * 2e-6
    assert retry_delay(4, schedule, 0.2, 0.5) is None


def test_the_default_schedule_spans_about_three_days() -> None:
    from notifier.config import RETRY_SCHEDULE_S

    assert 2.5 * 86400 < sum(RETRY_SCHEDULE_S) < 3.5 * 86400


def test_any_2xx_succeeds_410_disables_and_everything_else_is_retried() -> None:
    assert [webhook_verdict(s) for s in (200, 202, 204, 299)] == ["succeeded"] * 4
    assert webhook_verdict(410) == "gone"
    assert [webhook_verdict(s) for s in (None, 301, 302, 400, 404, 429, 500, 503)] == ["retry"] * 8


def test_subscriptions_name_known_event_types_or_the_wildcard() -> None:
    assert unknown_event_types(["*", "request.scheduled", "notification.sent"]) == []
    assert unknown_event_types(["request.scheduled", "request.exploded"]) == ["request.exploded"]
    assert subscribed(["*"], "capacity.alert") and subscribed(["capacity.alert"], "capacity.alert")
    assert not subscribed(["request.done"], "capacity.alert")

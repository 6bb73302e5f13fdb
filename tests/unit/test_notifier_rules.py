"""Who hears what, through which channel, and when to try again: the notifier's pure rules."""

from notifier.domain import (
    DEFAULT_CHANNELS,
    Notice,
    Team,
    allowed_domains,
    escalation_released,
    notices_for,
    recipient_refusal,
    retry_delay,
    route,
    silenced_by_withdrawal,
    subscribed,
    told_first,
    unknown_event_types,
    update_due,
    webhook_verdict,
)
from notifier.messages import Composer
from notifier.templates import Templates
from shared.events import EventData, RequestWithdrawn
from tests.notifier_samples import HEAT_SHIELD, samples
from tests.support import event

TEAM = Team(ops="ops@example.com", heat_shield=HEAT_SHIELD)


def data(event_type: str) -> EventData:
    return samples()[event_type]


def test_the_requester_hears_of_each_step_of_their_request() -> None:
    for event_type in ("request.backlogged", "request.scheduled", "request.started", "request.paused",
                       "request.done"):
        assert notices_for(data(event_type), TEAM) == [
            Notice("requester", "dave@example.com", "Dave Morrison")]


def test_events_nobody_needs_to_hear_about_send_nothing() -> None:
    assert notices_for(data("request.classified"), TEAM) == []
    assert notices_for(RequestWithdrawn(request_id="r-1", withdrawn_by="intake-form"), TEAM) == []


def test_a_tradeoff_question_goes_to_the_heat_shield_first_then_the_requester_and_ops_sees_it() -> None:
    notices = notices_for(data("request.tradeoff_required"), TEAM)
    assert [(n.audience, n.recipient) for n in notices] == [
        ("heat_shield", HEAT_SHIELD), ("requester", "vp@example.com"), ("ops", "ops@example.com")]


def test_every_tradeoff_decision_reaches_ops_and_the_heat_shield_and_a_deferral_its_requester() -> None:
    deferred = data("request.tradeoff_decided")
    assert {(n.audience, n.recipient) for n in notices_for(deferred, TEAM)} == {
        ("requester", "vp@example.com"), ("heat_shield", HEAT_SHIELD), ("ops", "ops@example.com")}
    paused = deferred.model_copy(update={"decision": "pause", "paused_request_id": "r-11"})
    # A pause commits the urgent request: its requester hears that instead.
    assert {(n.audience, n.recipient) for n in notices_for(paused, TEAM)} == {
        ("heat_shield", HEAT_SHIELD), ("ops", "ops@example.com")}


def test_a_collision_reaches_every_stakeholder_and_ops_once_for_the_whole_collision() -> None:
    notices = notices_for(data("request.conflict_detected"), TEAM)
    assert [(n.audience, n.recipient) for n in notices] == [
        ("stakeholders", "dave@example.com"), ("stakeholders", "aisha@example.com"), ("ops", "ops@example.com")]
    # One notice per person for the whole collision, whichever request's event announces it.
    assert {n.about for n in notices} == {"c-1"}


def test_share_alerts_go_to_ops_and_the_heat_shield() -> None:
    notices = notices_for(data("capacity.alert"), TEAM)
    assert {n.recipient for n in notices} == {"ops@example.com", HEAT_SHIELD}


def test_channels_are_configured_per_audience_and_slack_is_posted_once_per_event() -> None:
    notices = notices_for(data("capacity.alert"), TEAM)
    messages = route(notices, DEFAULT_CHANNELS, "#marketing-ops")
    assert [(m.recipient, m.channel, m.notice.audience) for m in messages] == [
        ("ops@example.com", "email", "ops"), ("#marketing-ops", "slack", "ops"), (HEAT_SHIELD, "email", "heat_shield")]


def test_slack_is_skipped_while_no_slack_webhook_is_configured() -> None:
    notices = notices_for(data("capacity.alert"), TEAM)
    assert {m.channel for m in route(notices, DEFAULT_CHANNELS, None)} == {"email"}


def test_an_audience_configured_for_no_channel_hears_nothing() -> None:
    notices = notices_for(data("request.done"), TEAM)
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


def test_an_escalation_is_told_to_the_heat_shield_first_and_nothing_else_waits() -> None:
    assert told_first("request.tradeoff_required") == "heat_shield"
    assert [told_first(t) for t in ("request.backlogged", "request.tradeoff_decided", "capacity.alert")] == [
        None, None, None]


def test_the_requester_and_ops_hear_of_a_tradeoff_only_once_the_heat_shield_was_told() -> None:
    composer = Composer(Templates(), TEAM, channels=DEFAULT_CHANNELS, slack_channel=None, team_name="Team")
    drafts = composer.drafts(event(samples()["request.tradeoff_required"]))
    [first] = [d for d in drafts if d.audience == "heat_shield"]
    others = [d for d in drafts if d.audience != "heat_shield"]
    assert {d.audience for d in others} == {"requester", "ops"}
    assert all(d.after == (first.id,) for d in others) and not first.after
    assert set(first.releases) == {d.id for d in others}


def test_a_held_notice_goes_once_the_first_was_sent_or_cannot_be_or_its_hold_ran_out() -> None:
    assert not escalation_released(["pending"], now=10.0, hold_until=20.0)
    assert not escalation_released(["pending", "not_sent"], now=10.0, hold_until=20.0)
    assert escalation_released(["pending", "sent"], now=10.0, hold_until=20.0)  # told on one channel
    assert escalation_released(["failed", "not_sent"], now=10.0, hold_until=20.0)  # no channel can tell them
    assert escalation_released([None], now=10.0, hold_until=20.0)  # nothing left to wait for
    assert escalation_released(["pending"], now=20.0, hold_until=20.0)


def test_mail_goes_only_to_the_teams_domains_and_the_listed_ones_and_their_subdomains() -> None:
    allowed = allowed_domains("ops@Example.com", "heat-shield@example.com", extra=["Partner.test."])
    assert allowed == {"example.com", "partner.test"}
    assert recipient_refusal("dave@example.com", allowed) is None
    assert recipient_refusal("Dave@EMEA.Example.COM", allowed) is None
    assert recipient_refusal("ana@partner.test", allowed) is None
    refusal = recipient_refusal("victim@elsewhere.test", allowed)
    assert refusal is not None and "elsewhere.test is not on the allow-list" in refusal
    assert recipient_refusal("someone@notexample.com", allowed) is not None  # a suffix is not a subdomain
    assert recipient_refusal("no-at-sign", allowed) is not None


def test_a_withdrawn_request_hears_of_nothing_but_its_withdrawal() -> None:
    assert not silenced_by_withdrawal("request.withdrawn")
    assert all(silenced_by_withdrawal(t) for t in (
        "request.scheduled", "request.backlogged", "request.tradeoff_required", "request.conflict_detected",
        "request.tradeoff_decided", "request.started"))


def test_a_paused_card_waiting_in_the_backlog_is_not_announced_as_new_backlog_work() -> None:
    paused = samples()["request.backlogged"].model_copy(update={"paused": True})
    assert notices_for(paused, TEAM) == []
    assert notices_for(data("request.backlogged"), TEAM) != []


def test_an_update_waits_for_the_window_since_the_last_one_unless_another_notice_came_between() -> None:
    hour = 3600.0
    assert update_due(1000.0, last_sent=0.0, reset_at=0.0, window_s=hour) == 1000.0  # the first: at once
    assert update_due(1000.0, last_sent=900.0, reset_at=0.0, window_s=hour) == 900.0 + hour
    assert update_due(1000.0, last_sent=900.0, reset_at=950.0, window_s=hour) == 1000.0  # a commitment came
    assert update_due(9000.0, last_sent=900.0, reset_at=0.0, window_s=hour) == 9000.0  # the window is over
    assert update_due(1000.0, last_sent=900.0, reset_at=0.0, window_s=0.0) == 1000.0  # coalescing off


def test_a_requesters_notices_about_their_request_share_a_thread_and_only_moved_starts_are_updates() -> None:
    composer = Composer(Templates(), TEAM, channels=DEFAULT_CHANNELS, slack_channel=None, team_name="Team")
    by_type = {t: composer.drafts(event(samples()[t])) for t in
               ("request.backlogged", "request.forecast_slipped", "request.scheduled", "request.done",
                "request.conflict_detected")}
    threads = {d.thread for t in ("request.backlogged", "request.forecast_slipped", "request.scheduled",
                                  "request.done") for d in by_type[t]}
    assert len(threads) == 1 and None not in threads  # r-1, Dave, email
    assert [d.update for d in by_type["request.backlogged"]] == [True]
    assert [d.update for d in by_type["request.forecast_slipped"]] == [True]
    assert [d.update for d in by_type["request.scheduled"]] == [False]
    # Stakeholders and ops are told of a collision at once, outside any requester's thread.
    assert {(d.audience, d.thread, d.update) for d in by_type["request.conflict_detected"]} == {
        ("stakeholders", None, False), ("ops", None, False)}

"""What requesters and the team hear about forecasts: a range on the backlog notice, a slip, an SLE breach."""

from datetime import date

from notifier.domain import DEFAULT_CHANNELS, Team
from notifier.messages import Composer
from notifier.templates import Templates
from shared.events import StartForecast
from tests.notifier_samples import HEAT_SHIELD, backlogged, samples
from tests.support import event

COMPOSER = Composer(Templates(), Team(ops="ops@example.com", heat_shield=HEAT_SHIELD), channels=DEFAULT_CHANNELS,
                    slack_channel="#marketing-ops", team_name="The marketing team")
RANGE = StartForecast(likely=date(2026, 12, 2), p85=date(2026, 12, 16), p95=date(2026, 12, 23),
                      method="monte_carlo", history_items=40)


def test_the_backlog_notice_gives_the_85_percent_start_beside_the_most_likely_one() -> None:
    [draft] = COMPOSER.drafts(event(backlogged(start_forecast=RANGE)))
    assert ("Most likely start: Wednesday 2 December 2026; 85% likely by Wednesday 16 December 2026 "
            "(95% by Wednesday 23 December 2026)") in draft.text


def test_without_enough_history_the_backlog_notice_says_its_date_is_the_plans_estimate() -> None:
    points = RANGE.model_copy(update={"method": "points", "history_items": 4})
    [draft] = COMPOSER.drafts(event(backlogged(start_forecast=points)))
    assert "too little history (4 finished requests)" in draft.text and "85% likely" not in draft.text
    one = RANGE.model_copy(update={"method": "points", "history_items": 1})
    [draft] = COMPOSER.drafts(event(backlogged(start_forecast=one)))
    assert "too little history (1 finished request)" in draft.text


def test_a_slipped_forecast_tells_the_requester_the_new_and_the_old_85_percent_dates() -> None:
    [draft] = COMPOSER.drafts(event(samples()["request.forecast_slipped"]))
    assert draft.audience == "requester" and draft.recipient == "dave@example.com"
    assert "by Monday 21 December 2026 with 85% confidence" in draft.text
    assert "Before, the 85% date was Monday 7 December 2026." in draft.text


def test_work_past_its_sle_is_told_to_ops_and_to_its_requester() -> None:
    drafts = COMPOSER.drafts(event(samples()["request.sle_at_risk"]))
    assert {(d.audience, d.channel) for d in drafts} == {("requester", "email"), ("ops", "email"), ("ops", "slack")}
    ops = next(d for d in drafts if d.audience == "ops" and d.channel == "email")
    assert "85% of its work finishes within 11.5 days" in ops.text and "15.2 days" in ops.text

"""The messages' words come from templates, one per event and audience, in the team's voice."""

import re

import pytest
from jinja2 import UndefinedError

from notifier.domain import DEFAULT_CHANNELS, Team
from notifier.messages import Composer
from notifier.reuse import told_about
from notifier.templates import Templates, slack_escape
from shared.envelope import CloudEvent
from tests.notifier_samples import HEAT_SHIELD, backlogged, samples
from tests.support import event

TEAM = Team(ops="ops@example.com", heat_shield=HEAT_SHIELD)
TEMPLATES = Templates()
COMPOSER = Composer(TEMPLATES, TEAM, channels=DEFAULT_CHANNELS, slack_channel="#marketing-ops",
                    team_name="The marketing team")
BLAME = re.compile(r"\b(unfortunately|rejected|denied|refused|sorry|fault|blame|cannot accept)\b", re.IGNORECASE)


def told(sample: CloudEvent) -> dict[str, str]:
    return {f"{d.audience}/{d.channel}/{d.recipient}": d.text for d in COMPOSER.drafts(sample)}


def test_every_audience_of_every_event_has_a_template_and_every_template_is_used() -> None:
    needed = {f"{t}.{n.audience}" for t, e in samples().items()
              for n in told_about(e, TEAM)}
    assert needed == set(TEMPLATES.names())


@pytest.mark.parametrize("event_type", sorted(samples()))
def test_every_template_renders_its_event_without_blame(event_type: str) -> None:
    drafts = COMPOSER.drafts(event(samples()[event_type]))
    assert drafts
    for draft in drafts:
        assert draft.title and draft.text and "{{" not in draft.text
        assert not BLAME.search(draft.text), draft.text


def test_not_right_now_comes_with_position_expected_start_reason_and_objective() -> None:
    sample = backlogged(position=4, objective_id="O2", objective_title="Reduce customer churn")
    [draft] = COMPOSER.drafts(event(sample))
    assert "not right now" in draft.text and "number 4 in the backlog" in draft.text
    assert "cycle 2026-W49 (the week of Monday 30 November 2026)" in draft.text
    assert "The sales share of this cycle (4 of 20 points) is already committed." in draft.text
    assert 'O2, "Reduce customer churn"' in draft.text
    assert draft.text.startswith("Hi Dave,")
    assert draft.title == ('"Landing page for Halvorsen Logistics": not right now; number 4 in the backlog, '
                           "expected to start in 2026-W49")


def test_work_with_no_place_within_the_horizon_is_told_not_before_rather_than_a_date_that_moves() -> None:
    [draft] = COMPOSER.drafts(event(backlogged(position=9).model_copy(update={"beyond_horizon": True})))
    assert "no place in them yet" in draft.text and "cannot start before cycle 2026-W49" in draft.text
    assert "should start" not in draft.text and "when it gets a place in the plan" in draft.text
    assert draft.title.endswith("number 9 in the backlog, not before 2026-W49")


def test_a_decision_from_before_decisions_carried_the_title_names_the_objective_by_its_id() -> None:
    [draft] = COMPOSER.drafts(event(backlogged(objective_id="O2")))
    assert "Objective it ladders up to: O2\n" in draft.text


def test_the_commitment_names_the_objective_by_the_title_its_event_carries() -> None:
    scheduled = samples()["request.scheduled"].model_copy(update={"objective_id": "O1",
                                                                  "objective_title": "Win the mid-market"})
    [draft] = COMPOSER.drafts(event(scheduled))
    assert 'Objective it ladders up to: O1, "Win the mid-market"' in draft.text


def test_the_acknowledgement_says_so_when_a_request_ladders_up_to_no_objective() -> None:
    [draft] = COMPOSER.drafts(event(backlogged(objective_id=None)))
    assert "Objective it ladders up to: none of this quarter's published objectives" in draft.text


def test_the_tradeoff_question_lists_the_candidates_to_pause() -> None:
    texts = told(event(samples()["request.tradeoff_required"]))
    for key in ("requester/email/vp@example.com", f"heat_shield/email/{HEAT_SHIELD}"):
        assert "what would you like us to pause?" in texts[key]
        assert '"Customer webinar series" (customer, 5 points; request r-10)' in texts[key]
        assert "In all: 8 points." in texts[key]


def test_stakeholders_of_a_collision_read_who_needs_what_and_are_invited_to_settle_it() -> None:
    texts = told(event(samples()["request.conflict_detected"]))
    text = texts["stakeholders/email/aisha@example.com"]
    assert 'Dave Morrison (Enterprise Sales): "Sponsored summit booth" (sales, 8 points' in text
    assert 'Aisha Khan (Atlas Product): "Atlas 3.0 launch kit" (business-unit, 8 points' in text
    assert "cycle 2026-W50" in text and "settle the priorities together" in text


def test_a_share_alert_speaks_with_numbers_in_email_and_in_one_slack_post() -> None:
    texts = told(event(samples()["capacity.alert"]))
    assert "executive 35%" in texts["ops/email/ops@example.com"]
    assert texts["ops/slack/#marketing-ops"].startswith("*Cycle 2026-W48:* About 35% of this cycle")
    assert "heat_shield/slack/#marketing-ops" not in texts


def test_a_field_a_template_needs_but_the_event_lacks_fails_loudly() -> None:
    data = backlogged().model_dump(mode="json")
    del data["reason"]
    with pytest.raises(UndefinedError):
        TEMPLATES.render("request.backlogged.requester", {**data, "recipient": {"name": "Dave"},
                                                           "objective": None, "team_name": "x"})


def test_slack_control_characters_are_escaped() -> None:
    assert slack_escape("R&D <b> >") == "R&amp;D &lt;b&gt; &gt;"


@pytest.mark.parametrize("reason", [
    "Paused by the team; it goes back to the head of the backlog.",
    'Paused by heat-shield to make room for "Board slides" (trade-off t-1, policy version 1). heat-shield wrote: '
    "the board deck first."])
def test_a_pause_notice_gives_capacitys_reason_once_and_when_it_may_come_back(reason: str) -> None:
    paused = samples()["request.paused"].model_copy(update={"reason": reason})
    [draft] = [d for d in COMPOSER.drafts(event(paused)) if d.audience == "requester"]
    assert draft.text.count("head of the backlog") <= 1 and draft.text.count("to make room for") <= 1
    assert reason in draft.text and "can be committed again from" in draft.text

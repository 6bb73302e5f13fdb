"""A request link is signed for the person a notice is emailed to: none is posted to the shared Slack channel,
where it would be signed for the channel's name and open nothing."""

from __future__ import annotations

from notifier.domain import Team
from notifier.messages import Composer, Links
from notifier.templates import Templates
from shared.links import LinkSigner
from tests.notifier_samples import HEAT_SHIELD, samples
from tests.support import event

LINKS = Links(intake="http://intake.example:8001", capacity="http://capacity.example:8003",
              signer=LinkSigner("a-link-secret-for-tests-only-0123456789", ttl_s=3_600))


def test_a_requester_notice_on_slack_carries_no_request_link() -> None:
    composer = Composer(Templates(), Team(ops="marketing-ops@example.com", heat_shield=HEAT_SHIELD),
                        channels={"requester": ["email", "slack"]}, slack_channel="#marketing-requests",
                        team_name="Team", links=LINKS)
    drafts = [d for d in composer.drafts(event(samples()["request.backlogged"])) if d.audience == "requester"]
    assert {d.channel for d in drafts} == {"email", "slack"}
    for draft in drafts:
        assert ("Follow your request" in draft.sent_text()) == (draft.channel == "email"), draft.channel
        assert "token=" not in draft.text

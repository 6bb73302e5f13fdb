"""Who hears about look-alike asks and merges, and who follows a merged request: pure rules."""

from __future__ import annotations

from notifier.domain import DEFAULT_CHANNELS, Notice, Team
from notifier.messages import Composer
from notifier.reuse import Known, join, told_about
from notifier.templates import Templates
from shared.events import RequestClassified, Requester, RequestMerged
from tests.notifier_samples import AISHA, DAVE, VP, reuse, samples
from tests.support import event

TEAM = Team(ops="ops@example.com", heat_shield="heat-shield@example.com")
COMPOSER = Composer(Templates(), TEAM, channels=DEFAULT_CHANNELS, slack_channel="#marketing-ops",
                    team_name="The marketing team")


def _classified() -> RequestClassified:
    return reuse()[0]


def _knowing(other: Requester | None, about: str = "r-40") -> Known:
    """What the notifier knows of the look-alike request: its requester, or nothing."""
    return Known(requesters={} if other is None else {about: other.model_dump()})


def _merged(request_id: str, into: str, requester: Requester, into_requester: Requester) -> RequestMerged:
    return RequestMerged.model_validate({**reuse()[1].model_dump(), "request_id": request_id, "into": into,
                                         "requester": requester, "into_requester": into_requester})


def test_both_requesters_and_ops_hear_of_an_ask_like_another_stakeholders() -> None:
    told = told_about(_classified(), TEAM, _knowing(AISHA))
    assert [(n.audience, n.recipient, n.pair) for n in told] == [
        ("stakeholders", DAVE.email, ("r-41", "r-40")), ("stakeholders", AISHA.email, ("r-40", "r-41")),
        ("ops", TEAM.ops, ("r-41", "r-40"))]
    assert len({n.about for n in told}) == 1


def test_one_pair_is_one_notice_per_person_whichever_request_names_it() -> None:
    first = told_about(_classified(), TEAM, _knowing(AISHA))
    data = _classified().model_dump()
    named_back = RequestClassified.model_validate({
        **data, "request_id": "r-40", "request": {**data["request"], "requester": AISHA.model_dump()},
        "similar": [{**data["similar"][0], "request_id": "r-41"}]})
    again = told_about(named_back, TEAM, _knowing(DAVE, about="r-41"))
    assert {(n.recipient, n.about) for n in first} == {(n.recipient, n.about) for n in again}


def test_the_same_person_asking_twice_is_no_overlap_and_an_unknown_other_is_not_written_to() -> None:
    assert told_about(_classified(), TEAM, _knowing(DAVE)) == []
    unknown = told_about(_classified(), TEAM, _knowing(None))
    assert [n.recipient for n in unknown] == [DAVE.email, TEAM.ops]
    assert told_about(_classified().model_copy(update={"similar": []}), TEAM) == []


def test_a_merge_tells_both_requesters_and_the_merged_requester_follows_the_survivor() -> None:
    merged = _merged("r-41", "r-40", DAVE, AISHA)
    assert told_about(merged, TEAM) == [
        Notice("requester", DAVE.email, DAVE.name), Notice("stakeholders", AISHA.email, AISHA.name)]
    audience = join({}, merged, merged.into)
    started = samples()["request.started"].model_copy(update={"requester": AISHA})
    followed = told_about(started, TEAM, Known(joined=tuple(audience.values())))
    assert [n.recipient for n in followed] == [AISHA.email, DAVE.email]


def test_who_followed_a_merged_request_follows_the_one_it_went_into() -> None:
    first = join({}, _merged("r-1", "r-2", VP, DAVE), "r-2")
    second = join({"r-2": first}, _merged("r-2", "r-3", DAVE, AISHA), "r-3")
    assert sorted(second) == [DAVE.email, VP.email]
    assert join({}, _merged("r-1", "r-2", DAVE, DAVE), "r-2") == {}


def test_the_overlap_notices_name_the_other_ask_and_its_team_in_each_voice() -> None:
    drafts = COMPOSER.drafts(event(reuse()[0]), reuse()[0], _knowing(AISHA))
    text = {(d.recipient, d.channel): d.text for d in drafts}
    to_dave, to_aisha = text[(DAVE.email, "email")], text[(AISHA.email, "email")]
    assert "Brand marks on our public pages" in to_dave and AISHA.team in to_dave
    assert "Customer logos on the website" in to_aisha and DAVE.team in to_aisha
    assert (TEAM.ops, "email") in text and ("#marketing-ops", "slack") in text
    assert len({d.id for d in drafts}) == len(drafts) == 4


def test_a_chain_of_merges_ends_in_the_last_survivors_audience_whatever_order_they_arrive_in() -> None:
    from notifier.asks import Asks, Person
    from tests.support import event as wrapped

    vp = VP.model_dump()
    a_into_b = wrapped(reuse()[1].model_copy(update={"request_id": "a", "into": "b", "requester": DAVE,
                                                     "into_requester": AISHA}))
    b_into_c = wrapped(reuse()[1].model_copy(update={"request_id": "b", "into": "c", "requester": AISHA,
                                                     "into_requester": VP}))
    for order in ((a_into_b, b_into_c), (b_into_c, a_into_b)):
        audiences: dict[str, dict[str, Person]] = {}
        merged_into: dict[str, str] = {}
        for merge in order:
            Asks.fold(merge, {}, audiences, merged_into)
        assert set(audiences["c"]) == {DAVE.email, AISHA.email}, order
        assert vp["email"] not in audiences["c"]


def test_one_who_follows_a_merged_request_is_told_of_its_merge_as_a_follower_not_as_its_requester() -> None:
    # VP's r-1 went into Dave's r-2; now r-2 goes into Aisha's r-3. VP follows r-2: it is not VP's request.
    merged = _merged("r-2", "r-3", DAVE, AISHA)
    drafts = COMPOSER.drafts(event(merged), merged, Known(joined=(VP.model_dump(),)))
    text = {d.recipient: d.text for d in drafts if d.audience == "requester"}
    assert f'your request "{merged.title}"' in text[DAVE.email]
    assert "your request" not in text[VP.email] and "the request you follow" in text[VP.email]

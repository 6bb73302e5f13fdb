"""A requester tool reads its own requester's notices on a timeline in full, unless the event a notice tells of
names work or people the tool does not see: a trade-off question lists the cycle's committed work and the
heat-shield manager, a merge the request it joined. Then the notice is told, not shown, as the event's data is
redacted. A pause decided before capacity stopped naming the urgent request in its reason is read without it."""

from typing import Any

from intake.domain import names_others, redacted

QUESTION: dict[str, Any] = {
    "event_id": "e-question", "type": "request.tradeoff_required", "summary": "",
    "data": {"request_id": "video", "committed": [{"request_id": "crm-page", "title": "Halvorsen page"}],
             "addressed_to": ["shield@example.com"], "question": "What would you like us to pause?"}}


def notice(about: str, text: str) -> dict[str, Any]:
    return {"event_id": f"n-{about}", "type": "notification.sent", "summary": "Told mia@example.com by email.",
            "data": {"recipient": "mia@example.com", "audience": "requester", "status": "sent", "channel": "email",
                     "about_event_id": about, "text": text, "email_subject": "Subject"}}


def test_a_notice_about_an_event_naming_others_is_told_without_its_text() -> None:
    own = {"video"}
    assert names_others(QUESTION, own)
    told = notice("e-question", 'Committed: "Halvorsen page"; the heat-shield manager (shield@example.com)')
    seen = redacted(told, own, "mia@example.com".__eq__, untold={"e-question"})
    assert "Halvorsen" not in str(seen) and "shield@example.com" not in str(seen)
    assert seen["data"]["recipient"] == "mia@example.com" and seen["summary"].startswith("Told its requester")
    # The question's own entry keeps what the tool may read: its own committed work only, counted otherwise.
    assert redacted(QUESTION, own)["data"]["hidden_committed"] == 1


def test_a_notice_about_the_requests_own_news_keeps_its_text() -> None:
    backlogged = {"event_id": "e-backlog", "type": "request.backlogged", "data": {"request_id": "video",
                                                                                  "position": 2}}
    assert not names_others(backlogged, {"video"})
    told = notice("e-backlog", "Your request is second in the backlog.")
    assert redacted(told, {"video"}, "mia@example.com".__eq__, untold=set())["data"]["text"] == told["data"]["text"]


def test_a_merge_names_others_unless_both_requests_are_the_tools() -> None:
    merge = {"event_id": "e-merge", "type": "request.merged", "data": {"request_id": "mine", "into": "theirs"}}
    assert names_others(merge, {"mine"}) and not names_others(merge, {"mine", "theirs"})


def test_a_trade_off_decision_names_the_paused_card_only_to_the_tool_that_posted_it() -> None:
    decided = {"event_id": "e-decided", "type": "request.tradeoff_decided",
               "data": {"request_id": "video", "paused_request_id": "crm-page", "decision": "pause"}}
    assert names_others(decided, {"video"})
    assert redacted(decided, {"video"})["data"]["paused_request_id"] is None
    assert redacted(decided, {"video", "crm-page"})["data"]["paused_request_id"] == "crm-page"


def test_an_older_pause_reason_loses_only_the_title_whatever_the_note_says() -> None:
    paused = {"event_id": "e-paused", "type": "request.paused", "summary": "",
              "data": {"request_id": "crm-page", "tradeoff_id": "t-1",
                       "reason": 'Paused by heat-shield to make room for "Atlas video" (trade-off t-1, policy version '
                                 '3). heat-shield wrote: see "Q1 review" (trade-off notes in the wiki)'}}
    assert redacted(paused, {"crm-page"})["data"]["reason"] == (
        'Paused by heat-shield to make room for urgent work (trade-off t-1, policy version 3). heat-shield wrote: '
        'see "Q1 review" (trade-off notes in the wiki)')


def test_an_older_pause_reason_is_read_without_the_urgent_requests_title() -> None:
    paused = {"event_id": "e-paused", "type": "request.paused", "summary": "",
              "data": {"request_id": "crm-page", "tradeoff_id": "t-1",
                       "reason": 'Paused by heat-shield to make room for "Atlas "launch" video" (trade-off t-1, '
                                 'policy version 3). heat-shield wrote: the launch is Tuesday'}}
    assert names_others(paused, {"crm-page"})
    reason = redacted(paused, {"crm-page"})["data"]["reason"]
    assert reason == ("Paused by heat-shield to make room for urgent work (trade-off t-1, policy version 3). "
                      "heat-shield wrote: the launch is Tuesday")

"""Card moves and trade-off decisions: who may do what on the board. Pure.

Refusals are ``Refused``; the API answers them as problems, and a start of work that
was never committed is also recorded as a bypass attempt. WIP limits gate starting
work, per lane and in total, counting the cards in progress: a start past one is
refused, but it is no bypass (the card was committed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from capacity.decisions import scheduled
from capacity.domain import ACTIVE, WAITING, Card, Ledger
from capacity.planning import Plan
from shared.events import (
    BypassRefused,
    EventData,
    RequestDone,
    Requester,
    RequestPaused,
    RequestStarted,
    TradeoffDecided,
    lane_words,
)

__all__ = ["Action", "Refused", "decide_tradeoff", "decided_already", "move", "wip_refusal"]

Action = Literal["start", "done", "pause"]


class Refused(Exception):
    """A move or decision the board does not allow; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, detail: str, bypass: BypassRefused | None = None,
                 kind: str = "about:blank") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.bypass = bypass
        self.kind = kind  # the problem type


def wip_refusal(ledger: Ledger, lane: str) -> str | None:
    """Why one more card of ``lane`` may not start (a WIP limit it would pass); None when it may."""
    policy = ledger.policy
    started = [card.item.lane for card in ledger.cards.values() if card.item.state == "in_progress"]
    limit, in_lane = policy.wip_limits.get(lane), started.count(lane)
    if limit is not None and in_lane >= limit:
        return (f"the {lane_words(lane)} lane has {in_lane} card(s) in progress against its WIP limit of "
                f"{limit}")
    if len(started) >= policy.wip_total:
        return f"{len(started)} cards are in progress against the team's WIP limit of {policy.wip_total}"
    return None


def _paused(card: Card, plan: Plan, ledger: Ledger, by: str, reason: str,
            tradeoff_id: str | None = None) -> RequestPaused:
    return RequestPaused(
        request_id=card.request_id, title=card.title, lane=card.item.lane,
        requester=Requester.model_validate(card.requester), by=by, reason=reason, tradeoff_id=tradeoff_id,
        resume_from=plan.current_cycle + timedelta(days=ledger.policy.cycle_days))


def move(ledger: Ledger, plan: Plan, request_id: str, action: Action, by: str) -> list[EventData]:
    """The events of a card move. Work starts only from the committed column; anything else is a bypass."""
    card = ledger.cards.get(request_id)
    state = card.item.state if card else None
    if card is not None and state == "paused" and action in ("start", "done"):
        # Committed once, so no bypass: its capacity went to other work, and it waits at the head of the backlog
        # until the plan commits it again.
        resume = card.item.not_before
        when = f" from the cycle of {resume:%d %b %Y}" if resume else ""
        raise Refused(409, f"Request {request_id} is paused: it waits at the head of the backlog and is committed "
                           f"again{when}, when capacity allows; then it can be started.")
    if action == "start" and (card is None or state not in ACTIVE):
        why = ("it never came through intake" if card is None
               else f"it was never committed to a cycle (it is {state})")
        raise Refused(409, f"Cannot start {request_id}: {why}. Work starts only from the committed column.",
                      BypassRefused(request_id=request_id, attempted_by=by, action=action, reason=why))
    if card is None:
        raise Refused(404, f"No request {request_id} on the board.")
    if state not in ACTIVE:
        verb = "finished" if action == "done" else "paused"
        raise Refused(409, f"Request {request_id} is {state}; only committed or started work can be {verb}.")
    common = {"request_id": request_id, "title": card.title, "lane": card.item.lane,
              "requester": Requester.model_validate(card.requester), "by": by}
    if action == "start":
        if state == "in_progress":
            return []
        if (over := wip_refusal(ledger, card.item.lane)) is not None:
            raise Refused(409, f"Cannot start {request_id} yet: {over}. Finish or pause work in progress first; "
                               "it stays committed.", kind="/problems/wip-limit")
        return [RequestStarted(**common)]
    if action == "done":
        return [RequestDone(**common)]
    return [_paused(card, plan, ledger, by, "Paused by the team; it goes back to the head of the backlog.")]


def decided_already(ledger: Ledger, tradeoff_id: str, pause: str | None, by: str, note: str | None) -> bool:
    """Whether this very decision (the same choice and note, by the same tool) was made already: asked again
    because its answer was lost, it is answered as the first time, not refused."""
    made = ledger.tradeoffs.get(tradeoff_id)
    asked = ("paused", pause) if pause else ("deferred", None)
    return made is not None and (made.status, made.paused_request_id, made.decided_by, made.note) == (*asked, by, note)


def decide_tradeoff(ledger: Ledger, plan: Plan, tradeoff_id: str, pause: str | None, by: str,
                    note: str | None = None) -> list[EventData]:
    """Pause one committed item to commit the expedite (even beyond its lane's cap), or defer it; the
    decider's ``note`` goes with the decision and into the paused card's reason."""
    tradeoff = ledger.tradeoffs.get(tradeoff_id)
    if tradeoff is None:
        raise Refused(404, f"No trade-off {tradeoff_id}.")
    if tradeoff.status != "open":
        raise Refused(409, f"Trade-off {tradeoff_id} is already {tradeoff.status}.")
    expedite = ledger.cards.get(tradeoff.request_id)
    if expedite is None or expedite.item.state not in WAITING:
        raise Refused(409, f"The urgent request {tradeoff.request_id} is no longer waiting "
                           f"({expedite.item.state if expedite else 'withdrawn'}).")
    decided = TradeoffDecided(request_id=tradeoff.request_id, tradeoff_id=tradeoff_id,
                              decision="pause" if pause else "defer", paused_request_id=pause,
                              decided_by=by, policy_version=ledger.policy.version, note=note,
                              title=expedite.title, requester=Requester.model_validate(expedite.requester))
    if pause is None:
        return [decided]
    target = ledger.cards.get(pause)
    if target is None or target.item.state not in ACTIVE:
        raise Refused(422, f"{pause} is not committed this cycle; pause one of: "
                           f"{', '.join(tradeoff.candidates) or 'nothing is committed'}.")
    # The urgent request is not named: the paused card's requester tool reads this reason on its timeline, and
    # sees only the requests it posted (the heat shield and ops see both on the trade-off).
    reason = (f"Paused by {by} to make room for urgent work (trade-off {tradeoff_id}, "
              f"policy version {ledger.policy.version})." + (f" {by} wrote: {note}" if note else ""))
    return [_paused(target, plan, ledger, by, reason, tradeoff_id),
            scheduled(expedite, plan.current_cycle, ledger, tradeoff_id), decided]

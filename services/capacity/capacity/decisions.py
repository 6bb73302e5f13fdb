"""What capacity announces after each replan, in words a team can say without blame. Pure."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection
from datetime import date

from capacity.domain import ACTIVE, BEYOND_HORIZON, Card, Ledger, status_of
from capacity.events import fold
from capacity.planning import Plan, Slot, cycle_label, internal_allowance, lane_budgets, limits_of, priority
from capacity.planning.signals import Alert, collisions, share_alerts
from shared.envelope import derived_id
from shared.events import (
    CapacityAlert,
    CommittedItem,
    ConflictDetected,
    EventData,
    RequestBacklogged,
    Requester,
    RequestScheduled,
    TradeoffRequired,
    lane_words,
)

__all__ = ["committed_now", "decide", "load_shares", "scheduled", "settled"]

def load_shares(plan: Plan, capacity_points: int) -> dict[str, float]:
    """Share of the current cycle's capacity planned for each lane."""
    load = plan.load.get(plan.current_cycle, {})
    return {lane: round(points / capacity_points, 4) for lane, points in sorted(load.items())}


def committed_now(ledger: Ledger) -> list[Card]:
    return sorted((c for c in (ledger.cards[r] for r in ledger.live_ids()) if c.item.state in ACTIVE),
                  key=lambda c: c.request_id)


def decide(ledger: Ledger, plan: Plan, *, new: str | Collection[str] | None, heat_shield: str) -> list[EventData]:
    """The decisions a plan implies: commitments, changed expected starts, trade-off questions,
    collisions and share alerts. Only what changed is announced; ``new`` (one request or several, just
    classified) is announced in any case."""
    news = [new] if isinstance(new, str) else list(new or ())
    fresh = set(news)
    events: list[EventData] = []
    for slot in sorted(plan.slots.values(), key=lambda s: (s.position or 0, s.request_id)):
        card = ledger.cards[slot.request_id]
        if card.item.state in ACTIVE or card.item.state == "done":
            continue
        if slot.committed:
            events.append(scheduled(card, plan.current_cycle, ledger))
        elif slot.request_id in fresh or ledger.announced.get(slot.request_id) != told_start(slot):
            events.append(_backlogged(card, slot, plan, ledger))
    for request_id in news:
        if request_id in plan.slots:
            events.extend(_tradeoff(ledger, plan, ledger.cards[request_id], heat_shield))
    events.extend(_collisions(ledger, plan))
    events.extend(_alerts(ledger, plan))
    return events


def settled(ledger: Ledger, plan: Plan, replan: Callable[[Ledger], Plan], *, new: str | Collection[str] | None,
            heat_shield: str) -> tuple[list[EventData], Plan]:
    """``decide``, and while that commits work, the same again on a plan made with that work committed.

    The planner places committed work first, whatever its priority, and waiting work in priority order: work
    this plan commits takes its later cycles after waiting work ranked before it, and would take them before it
    at the next planning. Announced from the first plan, a waiting request's date moved at the next planning
    with nothing new. The commitments are folded into ``ledger``; the decisions and the plan they were made on
    are returned (the commitments first)."""
    made: list[EventData] = []
    for _ in range(len(plan.slots) + 1):  # each round commits at least one more request
        found = decide(ledger, plan, new=new, heat_shield=heat_shield)
        commits = [data for data in found if isinstance(data, RequestScheduled)]
        if not _overtaken(ledger, plan, commits):
            break
        for data in commits:
            fold(ledger, data)
        made.extend(commits)
        plan = replan(ledger)
    return [*made, *found], plan


def _overtaken(ledger: Ledger, plan: Plan, commits: list[RequestScheduled]) -> bool:
    """Whether work waiting in the backlog ranks before work this plan commits, which the next planning places
    first. The backlog is in priority order, so its head decides (work beyond the horizon, listed last, has no
    place to lose)."""
    if not commits or not plan.backlog:
        return False
    current, policy = plan.current_cycle, ledger.policy
    head = priority(ledger.cards[plan.backlog[0]].item, current, policy)
    return any(head < priority(ledger.cards[c.request_id].item, current, policy) for c in commits)


def told_start(slot: Slot) -> date:
    """The start a backlog notice tells: its date, or for work with no room within the horizon that it waits
    beyond it (``BEYOND_HORIZON``), which does not change as the horizon moves on."""
    return slot.start if slot.points_by_cycle else BEYOND_HORIZON


def _requester(card: Card) -> Requester:
    return Requester.model_validate(card.requester)


def scheduled(card: Card, cycle: date, ledger: Ledger, tradeoff_id: str | None = None) -> RequestScheduled:
    return RequestScheduled(
        request_id=card.request_id, title=card.title, requester=_requester(card), lane=card.item.lane,
        cycle=cycle_label(cycle, ledger.policy), cycle_start=cycle, points=card.item.points,
        objective_id=card.item.objective_id, objective_title=card.objective_title, tradeoff_id=tradeoff_id)


def _backlogged(card: Card, slot: Slot, plan: Plan, ledger: Ledger) -> RequestBacklogged:
    return RequestBacklogged(
        request_id=card.request_id, title=card.title, requester=_requester(card), lane=card.item.lane,
        objective_id=card.item.objective_id, objective_title=card.objective_title, position=slot.position or 1,
        expected_start_cycle=cycle_label(slot.start, ledger.policy), expected_start=slot.start,
        points=card.item.points, reason=reason(card, plan, ledger), paused=status_of(card.item, slot) == "paused",
        beyond_horizon=not slot.points_by_cycle)


def reason(card: Card, plan: Plan, ledger: Ledger) -> str:
    """Why it waits: the lane's share, or the order of objective work."""
    item = card.item
    parts = []
    if item.head_of_backlog:
        parts.append("It was paused, so it is back at the head of the backlog.")
    elif item.objective_id is not None:
        parts.append(f"It ladders up to objective {item.objective_id} (rank {item.objective_rank}); "
                     "objective work is planned first, in rank order.")
    else:
        parts.append("It does not ladder up to one of this quarter's published objectives, so it is "
                     "accepted and queued after the objective work.")
    return " ".join([*parts, *filter(None, [_no_room(card, plan, ledger)])])


def _no_room(card: Card, plan: Plan, ledger: Ledger) -> str | None:
    """Why the current cycle has no room for it, in numbers; None when it has (work ranked before it waits)."""
    item, policy = card.item, ledger.policy
    budget = lane_budgets(policy).get(item.lane, policy.capacity_points)
    load = plan.load.get(plan.current_cycle, {})
    used = load.get(item.lane, 0)
    internal = sum(points for name, points in load.items() if name != "customer")
    allowance = internal_allowance(policy)
    limits = limits_of(policy)
    first = limits.need(item.lane, max(item.points, 0))  # what it must get in a cycle to start there
    if item.lane != "customer" and allowance <= 0:
        return (f"The customer reserve ({policy.customer_reserve:.0%}) leaves internal requests no points of a "
                "cycle.")
    if limits.effective(item.lane) <= 0:
        return (f"The {lane_words(item.lane)} share of a cycle is 0 of {policy.capacity_points} points: the "
                "policy gives that lane none.")
    if item.lane != "customer" and used + first > budget:
        return (f"The {lane_words(item.lane)} share of this cycle ({budget} of {policy.capacity_points} points) "
                "is already committed.")
    if item.lane != "customer" and internal + first > allowance:
        return (f"Internal requests already use the {allowance} points of this cycle that are not "
                f"reserved for customer work ({policy.customer_reserve:.0%}).")
    if sum(load.values()) + first > policy.capacity_points:
        return (f"This cycle's {policy.capacity_points} points are committed ({sum(load.values())} "
                f"taken; it needs {first} to start).")
    return None


def _tradeoff(ledger: Ledger, plan: Plan, card: Card, heat_shield: str) -> list[EventData]:
    slot = plan.slots[card.request_id]
    if not card.item.expedite or slot.committed:
        return []
    tradeoff_id = derived_id("tradeoff", card.request_id)
    if tradeoff_id in ledger.tradeoffs:
        return []
    # What this cycle holds once this plan stands: work committed before, and work this plan commits (in the
    # same run, its request.scheduled is not folded yet).
    committing = {r for r, s in plan.slots.items() if s.committed and s.start == plan.current_cycle}
    holding = sorted({*(c.request_id for c in committed_now(ledger)), *committing})
    committed = [CommittedItem(request_id=c.request_id, title=c.title, lane=c.item.lane, points=c.item.points)
                 for c in (ledger.cards[r] for r in holding)]
    cycle = cycle_label(plan.current_cycle, ledger.policy)
    why = _no_room(card, plan, ledger) or "Work ranked before it takes the room there is."
    ask = (f"Here is everything committed this cycle ({sum(c.points for c in committed)} points) — what would "
           "you like us to pause?" if committed else
           "Nothing is committed this cycle, so there is nothing to pause: it waits its turn unless the policy "
           "changes.")
    return [TradeoffRequired(
        request_id=card.request_id, title=card.title, requester=_requester(card), lane=card.item.lane,
        tradeoff_id=tradeoff_id, cycle=cycle, committed=committed,
        addressed_to=[heat_shield, card.requester["email"]],  # the heat-shield manager first
        question=f"\"{card.title}\" is marked urgent but does not fit cycle {cycle}. {why} {ask}")]


def _collisions(ledger: Ledger, plan: Plan) -> list[EventData]:
    events: list[EventData] = []
    for found in collisions(ledger.live_items(), plan, ledger.policy):
        # One collision is its cycle and its requests, whatever their order in the queue (which ageing, an OKR
        # rollover or a pause may change).
        conflict_id = derived_id("conflict", found.cycle.isoformat(), *sorted(found.request_ids))
        if conflict_id in ledger.conflicts:
            continue
        if _announced_in_queue_order(ledger, found.cycle, found.request_ids):
            ledger.conflicts.add(conflict_id)  # known by its new id from now on: no search next time
            continue
        cards = [ledger.cards[r] for r in found.request_ids]
        cycle = cycle_label(found.cycle, ledger.policy)
        listed = [CommittedItem(request_id=c.request_id, title=c.title, lane=c.item.lane,
                                points=c.item.points, requester=_requester(c)) for c in cards]
        teams = " and ".join(found.teams)
        observation = (f"{teams} each need large work by cycle {cycle}: {found.points_needed} points against "
                       f"{found.points_available} available. They cannot all be done in time; please settle "
                       "the priorities together before the cycle starts.")
        for card in cards:
            events.append(ConflictDetected(
                request_id=card.request_id, conflict_id=conflict_id, cycle=cycle, requests=listed,
                stakeholders=[_requester(c) for c in cards], observation=observation))
    return events


def _announced_in_queue_order(ledger: Ledger, cycle: date, request_ids: tuple[str, ...]) -> bool:
    """Whether the collision was announced under an id of this version's forerunner, which followed the queue
    order of then (any order of its requests). Up to six requests (720 orders); a larger one is announced again."""
    if len(request_ids) > 6:
        return False
    return any(derived_id("conflict", cycle.isoformat(), *order) in ledger.conflicts
               for order in itertools.permutations(request_ids))


def alert_id(alert: Alert) -> str:
    """An alert's id: its kind, lane and cycle, so it is raised once a cycle however often the plan shows it."""
    return derived_id("alert", alert.kind, alert.lane or "", alert.cycle.isoformat())


def _alerts(ledger: Ledger, plan: Plan) -> list[EventData]:
    events: list[EventData] = []
    for alert in share_alerts(ledger.live_items(), plan, ledger.policy):
        if (found := alert_id(alert)) in ledger.alerts:
            continue
        events.append(CapacityAlert(
            alert_id=found, cycle=cycle_label(alert.cycle, ledger.policy), kind=alert.kind,
            observation=alert.observation, shares=dict(alert.shares), lane=alert.lane))
    return events

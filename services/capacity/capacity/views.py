"""What ops reads: the current cycle's numbers, the board, the backlog (the shares over time: ``shares``).

A view built for ``only`` (a requester tool's name, ``Caller.only_posted_by``) shows the cards that
tool posted and counts the others (``hidden``) without showing them; ``only=None`` shows every card.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from capacity.decisions import alert_id, load_shares
from capacity.domain import Card, Ledger, Tradeoff, status_of
from capacity.overlaps import card_links
from capacity.planning import Plan, cycle_label, lane_budgets
from capacity.planning.signals import collisions as found_collisions
from capacity.planning.signals import share_alerts
from shared.lifecycle import BOARD_COLUMN

COLUMNS = ("backlog", "committed", "in_progress", "paused", "done")


def card(ledger: Ledger, plan: Plan, request_id: str, only: str | None = None) -> dict[str, Any]:
    found = ledger.cards[request_id]
    item = found.item
    slot = plan.slots.get(request_id)
    status = status_of(item, slot)
    return {
        "request_id": request_id, "title": found.title, "lane": item.lane, "colour": found.colour,
        "status": status, "column": BOARD_COLUMN[status], "requester": found.requester, "team": item.team,
        "objective_id": item.objective_id,
        "points": item.points, "expedite": item.expedite,
        "position": slot.position if slot and not slot.committed else None,
        "expected_start_cycle": cycle_label(slot.start, ledger.policy) if slot else None,
        "expected_start": slot.start.isoformat() if slot else None,
        "committed_cycle": (cycle_label(item.committed_cycle, ledger.policy) if item.committed_cycle else None),
        "linked": card_links(ledger, request_id, only),
        # Merged cards left the board, and with them whose tool posted them: named to those who see all.
        "merged_from": ledger.overlaps.merged_from(request_id) if only is None else [],
    }



def shown(found: Card, only: str | None) -> bool:
    """Whether a view kept to the cards of tool ``only`` (None: every card) may show ``found``."""
    return only is None or found.submitted_by == only


def board(ledger: Ledger, plan: Plan, only: str | None = None) -> dict[str, Any]:
    columns: dict[str, list[dict[str, Any]]] = {c: [] for c in COLUMNS}
    hidden = dict.fromkeys(COLUMNS, 0)
    # Oldest request first, and waiting cards by position: an order of their own, not the order the
    # ledger's hash happens to hold them in (which a rebuild, or any save, may change).
    for request_id, found in sorted(ledger.cards.items(), key=lambda kv: (kv[1].item.submitted_at, kv[0])):
        if shown(found, only):
            view = card(ledger, plan, request_id, only)
            columns[view["column"]].append(view)
        else:
            hidden[BOARD_COLUMN[status_of(found.item, plan.slots.get(request_id))]] += 1
    for waiting in ("backlog", "paused"):
        columns[waiting].sort(key=lambda v: v["position"] or 0)
    return {"cycle": cycle_label(plan.current_cycle, ledger.policy), "columns": columns, "hidden": hidden,
            "wip": wip(ledger)}


def wip(ledger: Ledger) -> dict[str, Any]:
    started = [c for c in ledger.cards.values() if c.item.state == "in_progress"]
    lanes = {lane: {"in_progress": sum(1 for c in started if c.item.lane == lane), "limit": limit}
             for lane, limit in ledger.policy.wip_limits.items()}
    return {"lanes": lanes, "total": {"in_progress": len(started), "limit": ledger.policy.wip_total}}


def backlog(ledger: Ledger, plan: Plan, only: str | None = None) -> dict[str, Any]:
    """The waiting cards in order; ``depth`` counts them all, ``hidden`` those not shown."""
    items = [card(ledger, plan, rid, only) for rid in plan.backlog if shown(ledger.cards[rid], only)]
    return {"items": items, "depth": len(plan.backlog), "hidden": len(plan.backlog) - len(items)}


def capacity(ledger: Ledger, plan: Plan, only: str | None = None) -> dict[str, Any]:
    policy = ledger.policy
    load = plan.load.get(plan.current_cycle, {})
    by_objective: dict[str, int] = {}
    for slot in plan.slots.values():
        points = dict(slot.points_by_cycle).get(plan.current_cycle, 0)
        if slot.committed and points:
            objective = ledger.cards[slot.request_id].item.objective_id or "none"
            by_objective[objective] = by_objective.get(objective, 0) + points
    budgets = lane_budgets(policy)
    cycle = cycle_label(plan.current_cycle, policy)
    return {
        "cycle": cycle, "cycle_start": plan.current_cycle.isoformat(),
        "policy_version": policy.version, "capacity_points": policy.capacity_points,
        "committed_points": sum(load.values()),
        "lanes": {lane: {"committed_points": load.get(lane, 0), "budget_points": budgets.get(lane),
                         "share": round(load.get(lane, 0) / policy.capacity_points, 4)}
                  for lane in budgets},
        "objectives": {o: {"committed_points": p, "share": round(p / policy.capacity_points, 4)}
                       for o, p in sorted(by_objective.items())},
        "customer_share": load_shares(plan, policy.capacity_points).get("customer", 0.0),
        "customer_reserve": policy.customer_reserve,
        "wip": wip(ledger), "backlog_depth": len(plan.backlog),
        "alerts": active_alerts(ledger, plan),
        "open_tradeoffs": tradeoffs(ledger, only, open_only=True),
    }


def active_alerts(ledger: Ledger, plan: Plan) -> list[dict[str, Any]]:
    """The alerts raised this cycle that the plan still shows, as it shows them now: one a policy change or a
    finished card has resolved since is no longer active (it stays on the log, as raised)."""
    now = {alert_id(alert): alert for alert in share_alerts(ledger.live_items(), plan, ledger.policy)}
    return [{**raised, "observation": now[found].observation, "shares": dict(now[found].shares)}
            for found, raised in ledger.alerts.items() if found in now]


def tradeoff_shown(ledger: Ledger, found: Tradeoff, only: str | None) -> bool:
    """A trade-off is shown with its urgent request (one withdrawn since, to every caller who sees all)."""
    urgent = ledger.cards.get(found.request_id)
    return only is None or (urgent is not None and shown(urgent, only))


def tradeoff(ledger: Ledger, found: Tradeoff, only: str | None = None) -> dict[str, Any]:
    """A trade-off; the committed work it offers to pause, and the card it paused, are named where the viewer
    may see them, else counted (or left out)."""

    def visible(request_id: str) -> bool:
        return only is None or (request_id in ledger.cards and shown(ledger.cards[request_id], only))

    candidates = [c for c in found.candidates if visible(c)]
    paused = found.paused_request_id if found.paused_request_id and visible(found.paused_request_id) else None
    urgent = ledger.cards.get(found.request_id)
    return {**asdict(found), "candidates": candidates, "hidden_candidates": len(found.candidates) - len(candidates),
            "paused_request_id": paused,
            "request": None if urgent is None else {**_brief(urgent), "justification": urgent.justification},
            "committed": [_brief(ledger.cards[c]) for c in candidates if c in ledger.cards]}


def _brief(found: Card) -> dict[str, Any]:
    """A card as a trade-off names it: what it is, whose, its lane and points, and where it is now."""
    return {"request_id": found.request_id, "title": found.title, "lane": found.item.lane,
            "points": found.item.points, "state": found.item.state,
            "requester": {"name": found.requester.get("name"), "team": found.item.team}}


def tradeoffs(ledger: Ledger, only: str | None = None, *, open_only: bool = False) -> list[dict[str, Any]]:
    return [tradeoff(ledger, t, only) for t in ledger.tradeoffs.values()
            if tradeoff_shown(ledger, t, only) and (t.status == "open" or not open_only)]


def collisions(ledger: Ledger, plan: Plan, only: str | None = None) -> list[dict[str, Any]]:
    """Large work of several teams due in the same cycle that the plan cannot all finish by then, as it stands.

    A viewer kept to its own cards sees the collisions they are part of, naming only its cards and teams."""
    found = []
    for c in found_collisions(ledger.items(), plan, ledger.policy):
        mine = [r for r in c.request_ids if shown(ledger.cards[r], only)]
        if not mine:
            continue
        teams = sorted({ledger.cards[r].item.team for r in mine}) if only is not None else list(c.teams)
        found.append({"cycle": cycle_label(c.cycle, ledger.policy), "request_ids": mine, "teams": teams,
                      "hidden": len(c.request_ids) - len(mine), "points_needed": c.points_needed,
                      "points_available": c.points_available})
    return found

"""The dashboard's snapshot: everything the board page shows, as one JSON document. Pure.

Built from what ops already reads (``views``: board, capacity, backlog, shares report), plus what a
page needs to draw it plainly: each lane's shade and text colour, WIP (cards in progress) against the limits,
each lane's share of this cycle against the policy's reserve or cap, collisions as the plan stands,
open overlaps (pairs of cards that look like the same work; each card names its links),
and the moves the board allows for each card. Objectives carry their titles, as the published OKR sets
name them (``objectives``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from capacity import views
from capacity.dashboard.charts import hex_of, ink
from capacity.domain import Ledger, status_of
from capacity.objectives import NO_TITLES, Titles
from capacity.overlaps import board_overlaps
from capacity.planning import CUSTOMER, Plan
from shared.lanes import LANE_COLOURS, LANES, every_lane

__all__ = ["COLUMN_TITLES", "MAX_DONE", "dashboard", "lane_colours"]

COLUMN_TITLES = {"backlog": "Backlog", "committed": "Committed", "in_progress": "In progress",
                 "paused": "Paused", "done": "Done"}
MOVES = {"committed": ["start", "done", "pause"], "in_progress": ["done", "pause"]}  # what the board allows
MAX_DONE = 20  # the done column shows the latest; its count is all of them
_EPS = 1e-9


def lane_colours(ledger: Ledger) -> dict[str, str]:
    """Each lane's colour: the classifier's, as the lane's cards carry it, else the product brief's."""
    colours = dict(LANE_COLOURS)
    for card in ledger.cards.values():
        colours[card.item.lane] = card.colour
    return colours


def _lane(lane: str, colour: str) -> dict[str, str]:
    shade = hex_of(colour)
    return {"lane": lane, "label": lane.replace("_", " "), "colour": colour, "hex": shade, "ink": ink(shade)}


def _face(view: Mapping[str, Any], colours: Mapping[str, str], objective_title: str | None) -> dict[str, Any]:
    requester = view["requester"]
    return {**_lane(view["lane"], view["colour"] or colours.get(view["lane"], "grey")),
            "request_id": view["request_id"], "title": view["title"], "column": view["column"],
            "requester": requester.get("name"), "team": view["team"], "objective_id": view["objective_id"],
            "objective_title": objective_title, "points": view["points"], "expedite": view["expedite"],
            "position": view["position"], "expected_start_cycle": view["expected_start_cycle"],
            "committed_cycle": view["committed_cycle"], "linked": view["linked"], "merged_from": view["merged_from"],
            "moves": MOVES.get(view["column"], [])}


def _by_lane(face: Mapping[str, Any]) -> tuple[int, str, str]:
    lane = face["lane"]
    return LANES.index(lane) if lane in LANES else len(LANES), face["title"], face["request_id"]


def _count(count: int, limit: int | None) -> dict[str, Any]:
    return {"count": count, "limit": limit, "over": limit is not None and count > limit}


def _wip(ledger: Ledger) -> dict[str, dict[str, Any]]:
    """WIP of the in-progress column against the team's and each lane's limit, counting every card in
    progress (shown or not). WIP limits gate starting work, so committed cards count in points
    (``shares``), never against them."""
    policy = ledger.policy
    lanes = every_lane(policy.wip_limits)
    started = [card.item.lane for card in ledger.cards.values() if card.item.state == "in_progress"]
    per_lane = [{"lane": lane, **_count(started.count(lane), policy.wip_limits.get(lane))}
                for lane in lanes if lane in policy.wip_limits]
    return {"in_progress": {"caption": "WIP", "counts": "in progress", **_count(len(started), policy.wip_total),
                            "lanes": per_lane}}


def _shares(ledger: Ledger, capacity: Mapping[str, Any], named: Mapping[str, str]) -> dict[str, Any]:
    policy = ledger.policy
    lanes = []
    for lane in every_lane(capacity["lanes"]):
        found = capacity["lanes"].get(lane, {"committed_points": 0, "budget_points": None, "share": 0.0})
        customer = lane == CUSTOMER
        target = policy.customer_reserve if customer else policy.lane_caps.get(lane)
        over = not customer and target is not None and found["share"] > target + _EPS
        lanes.append({"lane": lane, "points": found["committed_points"], "share": found["share"],
                      "budget_points": found["budget_points"], "policy_share": target,
                      "policy_kind": "reserve" if customer else "cap", "over": over,
                      "under_reserve": customer and found["share"] + _EPS < policy.customer_reserve})
    internal = round(sum(row["share"] for row in lanes if row["lane"] != CUSTOMER), 4)
    objectives = [{"objective_id": None if key == "none" else key, "title": named.get(key),
                   "points": v["committed_points"], "share": v["share"]}
                  for key, v in sorted(capacity["objectives"].items(), key=lambda kv: (kv[0] == "none", kv[0]))]
    return {"capacity_points": policy.capacity_points, "committed_points": capacity["committed_points"],
            "customer_share": capacity["customer_share"], "customer_reserve": policy.customer_reserve,
            "internal_share": internal, "internal_allowance": round(1 - policy.customer_reserve, 4),
            "internal_over": internal > 1 - policy.customer_reserve + _EPS, "lanes": lanes,
            "objectives": objectives}


def dashboard(ledger: Ledger, plan: Plan, *, version: int, history: Mapping[str, Any],
              generated_at: datetime, titles: Titles = NO_TITLES, only: str | None = None) -> dict[str, Any]:
    """The whole dashboard at ledger ``version`` and ``titles``; ``history`` is the shares report of the
    last cycles. Built for ``only`` (a requester tool), it shows that tool's cards and counts the others."""
    colours = lane_colours(ledger)
    board = views.board(ledger, plan, only)
    capacity = views.capacity(ledger, plan, only)
    backlog = views.backlog(ledger, plan, only)

    def face(view: Mapping[str, Any]) -> dict[str, Any]:
        return _face(view, colours, titles.of_card(ledger.cards[view["request_id"]]))

    faces = {name: [face(v) for v in cards] for name, cards in board["columns"].items()}
    for name in ("committed", "in_progress", "paused"):  # grouped by lane, so the colours read as blocks
        faces[name].sort(key=_by_lane)
    done = sorted(faces["done"], key=lambda c: c["committed_cycle"] or "", reverse=True)
    wip = _wip(ledger)
    this_cycle = [c for c in ledger.cards.values()
                  if status_of(c.item, plan.slots.get(c.request_id)) in ("committed", "in_progress")]
    # ^ the cards this cycle's shares count, so each objective is named as they name it
    columns = [{"name": name, "title": title, "count": len(faces[name]), "hidden": board["hidden"][name],
                "wip": wip.get(name), "cards": done[:MAX_DONE] if name == "done" else faces[name]}
               for name, title in COLUMN_TITLES.items()]

    def brief(request_id: str) -> dict[str, Any]:
        card = ledger.cards.get(request_id)
        if card is None:
            return {"request_id": request_id, "title": request_id, **_lane("unknown", "grey")}
        return {"request_id": request_id, "title": card.title, **_lane(card.item.lane, card.colour)}

    return {
        "version": version, "titles_version": titles.version, "generated_at": generated_at.isoformat(),
        "cycle": capacity["cycle"], "cycle_start": capacity["cycle_start"],
        "policy_version": capacity["policy_version"],
        "lanes": [_lane(lane, colours[lane]) for lane in every_lane(colours)],
        "columns": columns,
        "shares": _shares(ledger, capacity, titles.by_objective(this_cycle)),
        "history": dict(history),
        "backlog": [face(v) for v in backlog["items"]],
        "backlog_depth": backlog["depth"], "backlog_hidden": backlog["hidden"],
        "tradeoffs": [{"tradeoff_id": t["tradeoff_id"], "cycle": t["cycle"], **brief(t["request_id"]),
                       "candidates": [brief(c) for c in t["candidates"]], "hidden_candidates": t["hidden_candidates"]}
                      for t in capacity["open_tradeoffs"]],
        "collisions": [{**c, "requests": [brief(r) for r in c["request_ids"]]}
                       for c in views.collisions(ledger, plan, only)],
        "overlaps": [{**o, "requests": [{**brief(r["request_id"]), **r} for r in o["requests"]]}
                     for o in board_overlaps(ledger, only)],
        "alerts": [{"alert_id": a["alert_id"], "kind": a["kind"], "lane": a.get("lane"), "cycle": a["cycle"],
                    "observation": a["observation"]} for a in capacity["alerts"]],
    }

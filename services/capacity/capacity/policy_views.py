"""What a policy would change before it is saved, and who changed what in each saved version. Pure.

The preview runs the planner on a copy of the ledger under the proposed policy, as ``PUT /v1/policy``
would: committed work keeps its place, waiting work is placed again. Nothing is saved or announced.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from capacity import views
from capacity.decisions import load_shares
from capacity.domain import Ledger, policy_to
from capacity.planning import Plan, Policy, cycle_label, lane_budgets, plan
from shared.lanes import every_lane

__all__ = ["changes", "preview", "versions"]


def _flat(policy: dict[str, Any]) -> dict[str, Any]:
    """``{"lane_caps": {"sales": 0.2}}`` as ``{"lane_caps.sales": 0.2}``; the version is no setting."""
    flat: dict[str, Any] = {}
    for name, value in policy.items():
        if name == "version":
            continue
        if isinstance(value, dict):
            flat.update({f"{name}.{key}": inner for key, inner in value.items()})
        else:
            flat[name] = value
    return flat


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Each setting whose value differs, as ``{"setting", "before", "after"}`` (``before`` None: new)."""
    old, new = _flat(before or {}), _flat(after)
    return [{"setting": name, "before": old.get(name), "after": new.get(name)}
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]


def _cycle(ledger: Ledger, current: Plan) -> dict[str, Any]:
    policy = ledger.policy
    committed = [views.card(ledger, current, rid) for rid, slot in sorted(current.slots.items())
                 if slot.committed and dict(slot.points_by_cycle).get(current.current_cycle, 0)]
    load = current.load.get(current.current_cycle, {})
    shares, budgets = load_shares(current, policy.capacity_points), lane_budgets(policy)
    return {"cycle": cycle_label(current.current_cycle, policy), "capacity_points": policy.capacity_points,
            "committed_points": sum(load.values()), "committed": committed, "shares": shares,
            "budgets": budgets, "lanes": every_lane([*shares, *budgets]), "customer_reserve": policy.customer_reserve,
            "backlog_depth": len(current.backlog)}


def _place(view: dict[str, Any]) -> dict[str, Any]:
    return {key: view[key] for key in ("status", "position", "expected_start_cycle", "expected_start")}


def preview(ledger: Ledger, current: Plan, policy: Policy, today: date) -> dict[str, Any]:
    """The current cycle before and after, and every card whose place would change: into or out of the
    cycle, or an earlier or later expected start in the backlog."""
    trial = ledger.copy()
    trial.policy = policy
    after = plan(trial.items(), policy, today)
    moves = []
    for request_id in sorted(set(current.slots) | set(after.slots)):
        if request_id not in current.slots or request_id not in after.slots:
            continue
        old, new = current.slots[request_id], after.slots[request_id]
        if old.committed == new.committed and old.start == new.start and old.position == new.position:
            continue
        if old.committed != new.committed:
            move = "into the cycle" if new.committed else "out of the cycle"
        else:
            move = "earlier" if new.start < old.start else "later" if new.start > old.start else "reordered"
        was, will = views.card(ledger, current, request_id), views.card(trial, after, request_id)
        moves.append({"request_id": request_id, "title": was["title"], "lane": was["lane"],
                      "points": was["points"], "move": move, "before": _place(was), "after": _place(will)})
    return {"version": policy.version, "changes": changes(policy_to(ledger.policy), policy_to(policy)),
            "before": _cycle(ledger, current), "after": _cycle(trial, after), "moves": moves,
            "saved": False}


def versions(policies: dict[int, dict[str, Any]], authors: dict[int, str]) -> list[dict[str, Any]]:
    """Every saved policy version, newest first, with who published it and what it changed."""
    found = []
    for version in sorted(policies):
        earlier = [v for v in policies if v < version]
        # The first version saved changed the planner's defaults (version 0, saved only when the ledger was).
        before = policies[max(earlier)] if earlier else policy_to(Policy())
        found.append({"version": version, "updated_by": authors.get(version), "policy": policies[version],
                      "changes": changes(before, policies[version])})
    return found[::-1]

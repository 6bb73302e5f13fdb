"""The capacity planner, a pure and deterministic function from open work and a policy to a plan, and
what it is built of: its model (``model``), the order of waiting work and cycles (``order``), the
points ledger it places work on (``ledger``), the rules a plan must keep (``checks``), and what a plan
signals to people (``signals``: collisions, share alerts)."""

from capacity.planning.ledger import share_floor
from capacity.planning.model import (
    CUSTOMER,
    FIXED_STATES,
    INTERNAL_LANES,
    Item,
    Plan,
    Policy,
    Slot,
    State,
    cycle_label,
    cycle_start,
    internal_allowance,
    lane_budgets,
    limits_of,
    points_for,
    points_left,
    priority,
)
from capacity.planning.planner import invariant_violations, place_new, plan

__all__ = ["CUSTOMER", "FIXED_STATES", "INTERNAL_LANES", "Item", "Plan", "Policy", "Slot", "State", "cycle_label",
           "cycle_start", "internal_allowance", "invariant_violations", "lane_budgets", "limits_of", "place_new",
           "plan", "points_for", "points_left", "priority", "share_floor"]

"""The planner's model: the policy, an item of work, its slot, the plan; and what the policy implies
(cycles, lane budgets, points, the order of waiting work)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from capacity.planning.ledger import Limits, share_floor
from capacity.planning.order import cycle_index, label, order_key, start_of
from shared.lanes import LANES

__all__ = ["CUSTOMER", "FIXED_STATES", "INTERNAL_LANES", "Item", "Plan", "Policy", "Slot", "State", "cycle_label",
           "cycle_start", "internal_allowance", "lane_budgets", "limits_of", "points_for", "points_left", "priority"]

CUSTOMER = "customer"
INTERNAL_LANES = tuple(lane for lane in LANES if lane != CUSTOMER)
State = Literal["open", "committed", "in_progress", "paused", "done"]


@dataclass(frozen=True)
class Policy:
    version: int = 0
    cycle_days: int = 7
    capacity_points: int = 20
    customer_reserve: float = 0.5  # share of each cycle only the customer lane may use
    lane_caps: Mapping[str, float] = field(default_factory=lambda: {
        "sales": 0.2, "business_unit": 0.2, "executive": 0.15, "legal": 0.1})  # share of each cycle
    wip_limits: Mapping[str, int] = field(default_factory=lambda: {
        "customer": 3, "sales": 1, "business_unit": 1, "executive": 1, "legal": 1})
    wip_total: int = 5
    size_points: Mapping[str, int] = field(default_factory=lambda: {"XS": 1, "S": 2, "M": 3, "L": 5, "XL": 8})
    default_points: int = 3
    horizon_cycles: int = 26
    max_wait_cycles: int = 4  # ageing bound
    large_points: int = 5  # collisions concern work of at least this size


@dataclass(frozen=True)
class Item:
    request_id: str
    lane: str
    team: str
    objective_id: str | None
    objective_rank: int | None
    score: float
    points: int
    submitted_at: datetime
    due_date: date | None = None
    expedite: bool = False
    state: State = "open"
    committed_cycle: date | None = None  # start of the cycle it was committed to
    head_of_backlog: bool = False  # set when paused: it goes back to the head
    not_before: date | None = None  # set when paused: the cycle it may start again, at the soonest
    # Committed work: the points it held in each cycle since its commitment (``capacity.cycles``). Not stored
    # with the card: the ledger attaches it for planning (``Ledger.live_items``).
    held: tuple[tuple[date, int], ...] = ()


@dataclass(frozen=True)
class Slot:
    request_id: str
    start: date  # start of the first cycle it uses
    committed: bool
    position: int | None  # 1-based place in the backlog; None when committed
    points_by_cycle: tuple[tuple[date, int], ...]


@dataclass(frozen=True)
class Plan:
    current_cycle: date
    slots: Mapping[str, Slot]
    backlog: tuple[str, ...]
    load: Mapping[date, Mapping[str, int]]


FIXED_STATES: frozenset[State] = frozenset({"committed", "in_progress"})
_FIXED = FIXED_STATES


def cycle_start(day: date, policy: Policy) -> date:
    """The first day of the cycle containing ``day``; cycles are counted from Monday 2024-01-01."""
    return start_of(day, policy.cycle_days)


def cycle_label(start: date, policy: Policy) -> str:
    """ISO week (``2026-W48``) for weekly cycles, else the ISO date of the start."""
    return label(start, policy.cycle_days)


def lane_budgets(policy: Policy) -> dict[str, int]:
    """Points per cycle each lane may use: its capped share rounded down; the customer lane all of it.

    An internal lane the policy gives no cap is bound by the reserve alone: internal lanes together
    never use more than ``floor((1 - customer_reserve) * capacity_points)`` (see ``plan``).
    """
    allowance = internal_allowance(policy)
    extra = sorted(set(policy.lane_caps) - {CUSTOMER, *INTERNAL_LANES})
    budgets = {CUSTOMER: policy.capacity_points}
    for lane in (*INTERNAL_LANES, *extra):
        cap = policy.lane_caps.get(lane)
        budgets[lane] = allowance if cap is None else share_floor(cap, policy.capacity_points)
    return budgets


def points_for(effort: int | None, size: str | None, policy: Policy) -> int:
    """Points from the requester's estimate, else from the size map, else the default."""
    if effort is not None:
        return effort
    if size is not None and size in policy.size_points:
        return policy.size_points[size]
    return policy.default_points


def priority(item: Item, current_cycle: date, policy: Policy) -> tuple[object, ...]:
    """The order of waiting work, lower first; neither lane nor expedite plays a part (no HiPPO override).

    Work paused back to the head of the backlog first; then work that has waited ``max_wait_cycles``
    or more since it was submitted, oldest first; then objective work by objective rank (an objective
    without a rank after ranked ones), higher score first; then the rest. First come, first served
    within each, then by request id. Naive ``submitted_at`` values are taken as UTC.
    """
    return order_key(item, cycle_index(current_cycle, policy.cycle_days), policy)


def points_left(item: Item, current: date) -> int:
    """The points work still needs from the cycle starting ``current`` on: committed work has used what it held
    in the cycles before; work still not done once its points are used holds one point a cycle until it is
    (its estimate was short, and the team is still on it)."""
    points = max(item.points, 0)
    if not item.held or item.state not in _FIXED:
        return points
    return max(points - sum(p for cycle, p in item.held if cycle < current), min(points, 1))


def internal_allowance(policy: Policy) -> int:
    """Points per cycle the internal lanes may use together: what the customer reserve leaves."""
    return min(policy.capacity_points, share_floor(1 - policy.customer_reserve, policy.capacity_points))


def limits_of(policy: Policy) -> Limits:
    """The policy as the placement ledger reads it."""
    return Limits(customer=CUSTOMER, capacity=policy.capacity_points, allowance=internal_allowance(policy),
                  budgets=lane_budgets(policy), horizon=max(1, policy.horizon_cycles))

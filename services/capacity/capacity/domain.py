"""Capacity's ledger: its state is a fold over events, so Kafka can always rebuild it.

Inputs (``request.classified``, ``request.withdrawn``, ``request.merged``) and capacity's own
decisions (``request.scheduled``, ``request.started`` ...) are applied by
``capacity.events.fold``, live and during a rebuild alike. ``decide`` turns a fresh plan into the
decisions to announce; the handler folds those back in. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any

from capacity.cycles import CycleHeld
from capacity.overlaps import Overlaps
from capacity.planning import FIXED_STATES, Item, Policy, Slot, State
from shared.lifecycle import Status

__all__ = ["Card", "Ledger", "Tradeoff", "policy_from", "policy_to", "status_of"]

ACTIVE: frozenset[State] = FIXED_STATES
# What ``Ledger.announced`` keeps for a request told it waits beyond the horizon: no date, since that one
# moves with every cycle while nothing changes for the request.
BEYOND_HORIZON = date.max
WAITING: frozenset[State] = frozenset({"open", "paused"})
DATES = ("due_date", "committed_cycle", "not_before")
_STATUS: dict[State, Status] = {"committed": "committed", "in_progress": "in_progress", "paused": "paused",
                                "done": "done"}


def status_of(item: Item, slot: Slot | None) -> Status:
    """A card's status in the one state machine (``shared.lifecycle``): open work is committed when its
    plan slot is, else backlogged; a paused card stays paused while it waits at the head of the backlog."""
    if item.state == "open":
        return "committed" if slot is not None and slot.committed else "backlogged"
    return _STATUS[item.state]


@dataclass(frozen=True)
class Card:
    """A request on the board: what the planner needs, and what people see."""

    item: Item
    title: str
    requester: dict[str, str]
    colour: str
    # The OKR set the request was classified under, so its objective's title can be found.
    okr_quarter: str | None = None
    okr_version: int | None = None
    # The tool whose key posted the request: a requester tool sees only its own cards. None when unknown.
    submitted_by: str | None = None
    # Why the requester says it is urgent (shown with a trade-off). None when not given.
    justification: str | None = None
    # Its objective's title, as its classification named it: decisions carry it to the notifier and the board
    # shows it. None when it ladders up to none, or was classified before classifications carried titles.
    objective_title: str | None = None

    @property
    def request_id(self) -> str:
        return self.item.request_id

    def to_json(self) -> dict[str, Any]:
        item = asdict(self.item)
        del item["held"]  # derived from the cycles' records for each planning, never stored
        item["submitted_at"] = self.item.submitted_at.isoformat()
        for key in DATES:
            item[key] = item[key].isoformat() if item[key] else None
        return {"item": item, "title": self.title, "requester": self.requester, "colour": self.colour,
                "okr_quarter": self.okr_quarter, "okr_version": self.okr_version, "submitted_by": self.submitted_by,
                "justification": self.justification, "objective_title": self.objective_title}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Card:
        raw = dict(data["item"])
        raw["submitted_at"] = datetime.fromisoformat(raw["submitted_at"])
        for key in DATES:
            raw[key] = date.fromisoformat(raw[key]) if raw.get(key) else None
        return cls(Item(**raw), data["title"], data["requester"], data["colour"], data.get("okr_quarter"),
                   data.get("okr_version"), data.get("submitted_by"), data.get("justification"),
                   data.get("objective_title"))


@dataclass(frozen=True)
class Tradeoff:
    tradeoff_id: str
    request_id: str
    cycle: str
    candidates: tuple[str, ...]
    status: str = "open"  # open | paused | deferred | closed (committed, withdrawn or done without a decision)
    paused_request_id: str | None = None
    decided_by: str | None = None
    policy_version: int | None = None
    note: str | None = None  # what the decider wrote with the decision


@dataclass
class Ledger:
    """Everything capacity knows; ``dirty`` names the cards a fold changed, for the store."""

    policy: Policy = field(default_factory=Policy)
    cards: dict[str, Card] = field(default_factory=dict)
    announced: dict[str, date] = field(default_factory=dict)  # last expected start told, per request
    tradeoffs: dict[str, Tradeoff] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    policy_history: dict[int, dict[str, Any]] = field(default_factory=dict)
    policy_authors: dict[int, str] = field(default_factory=dict)  # who published each policy version
    dirty: set[str] = field(default_factory=set)
    overlaps: Overlaps = field(default_factory=Overlaps)  # similar requests, and merges
    cycles: dict[date, CycleHeld] = field(default_factory=dict)  # each cycle's record, by its first day
    # The ledger this one was copied from, as Redis holds it: the store writes only what differs from it
    # (None: write everything). Saving clears it, so copies never chain.
    base: Ledger | None = field(default=None, repr=False, compare=False)
    # Ids of the cards not done, built on first use and kept by ``put`` and ``remove``: planning reads
    # only these, so its cost does not grow with closed history.
    live: set[str] | None = field(default=None, repr=False, compare=False)

    def put(self, card: Card) -> None:
        self.cards[card.request_id] = card
        self.dirty.add(card.request_id)
        if self.live is not None:
            if card.item.state == "done":
                self.live.discard(card.request_id)
            else:
                self.live.add(card.request_id)

    def copy(self) -> Ledger:
        """A copy to fold into; cards, trade-offs and policies are frozen, so the containers suffice."""
        return Ledger(self.policy, dict(self.cards), dict(self.announced), dict(self.tradeoffs),
                      dict(self.alerts), set(self.conflicts), set(self.closed), dict(self.policy_history),
                      dict(self.policy_authors), set(), self.overlaps.copy(), dict(self.cycles),
                      base=self, live=set(self.live_ids()))

    def items(self) -> list[Item]:
        """Every card's item, as planning reads it (``planned``)."""
        return [self.planned(card.item) for card in self.cards.values()]

    def live_ids(self) -> set[str]:
        if self.live is None:
            self.live = {rid for rid, card in self.cards.items() if card.item.state != "done"}
        return self.live

    def live_items(self) -> list[Item]:
        """The items planning reads: every card not done (the planner places only those)."""
        return [self.planned(self.cards[rid].item) for rid in self.live_ids()]

    def planned(self, item: Item) -> Item:
        """``item`` with the points it held in each cycle since its commitment, when it is committed or in
        progress: the planner places only what it has left (``planning.points_left``), read from the cycles'
        records (``capacity.cycles``) from its commitment on. One comparison per record for each of the few
        cards committed (WIP limits bound them), so a plan's cost grows by a record a cycle, not with requests."""
        if item.state not in FIXED_STATES or item.committed_cycle is None or not self.cycles:
            return item
        since = item.committed_cycle
        held = tuple((start, h.used()) for start, record in self.cycles.items() if start >= since
                     for h in record.held if h.request_id == item.request_id)
        return replace(item, held=held) if held else item

    def move(self, request_id: str, **changes: Any) -> None:
        card = self.cards[request_id]
        self.put(replace(card, item=replace(card.item, **changes)))

    def remove(self, request_id: str) -> None:
        self.cards.pop(request_id, None)
        if self.live is not None:
            self.live.discard(request_id)
        self.announced.pop(request_id, None)
        self.dirty.add(request_id)

    def close_tradeoffs_of(self, request_id: str) -> None:
        """An expedite committed, withdrawn or done in the normal course needs no decision any more."""
        for tradeoff_id, tradeoff in self.tradeoffs.items():
            if tradeoff.request_id == request_id and tradeoff.status == "open":
                self.tradeoffs[tradeoff_id] = replace(tradeoff, status="closed")

    def withdraw(self, request_id: str) -> None:
        """A withdrawn request leaves for good: its card, its open trade-offs, and every list of work a
        trade-off offers to pause (the decision itself still names what was paused)."""
        self.closed.add(request_id)
        self.remove(request_id)
        self.close_tradeoffs_of(request_id)
        for tradeoff_id, tradeoff in self.tradeoffs.items():
            if request_id in tradeoff.candidates:
                self.tradeoffs[tradeoff_id] = replace(
                    tradeoff, candidates=tuple(c for c in tradeoff.candidates if c != request_id))


def policy_to(policy: Policy) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in asdict(policy).items()}


def policy_from(data: dict[str, Any]) -> Policy:
    return Policy(**data)

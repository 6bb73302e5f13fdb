"""Capacity's per-event cost does not grow with closed history: the store writes only what an event
changed, and planning reads only the cards not done (an index the ledger keeps as cards change)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.domain import Ledger
from capacity.events import fold
from capacity.store import CLOSED, TRADEOFFS, LedgerStore
from shared.events import (
    EventData,
    RequestDone,
    RequestPaused,
    RequestScheduled,
    RequestStarted,
    TradeoffDecided,
    TradeoffRequired,
)
from tests.builders import about_card, classification, withdrawn


class RecordingPipe:
    """Stands in for a Redis pipeline: keeps each queued command."""

    def __init__(self) -> None:
        self.commands: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: self.commands.append((name, *args, *kwargs.values()))


def history(closed: int) -> Ledger:
    ledger = Ledger()
    for i in range(closed):
        fold(ledger, classification(f"old-{i}", lane="sales", size="S"))
        fold(ledger, scheduled(f"old-{i}"))
        fold(ledger, about_card(RequestDone, f"old-{i}", by="ops"))
        if i % 10 == 0:
            fold(ledger, about_card(TradeoffRequired, f"old-{i}", tradeoff_id=f"t-{i}", cycle="2026-W02",
                                    committed=[], addressed_to=[], question="?"))
    return ledger


def saved(ledger: Ledger) -> list[tuple[Any, ...]]:
    pipe = RecordingPipe()
    LedgerStore.save(pipe, ledger)  # type: ignore[arg-type]
    return pipe.commands


def test_an_event_on_a_copy_writes_only_what_it_changed_whatever_the_history() -> None:
    base = history(500)
    assert len(saved(base)) > 500  # the first save of a ledger nobody saved writes it all
    ledger = base.copy()
    fold(ledger, classification("new", lane="customer", size="M"))
    commands = saved(ledger)
    assert not any(c[0] == "sadd" and c[1] == CLOSED for c in commands)
    assert not any(c[0] == "hset" and c[1] == TRADEOFFS for c in commands)
    assert [c[2] for c in commands if c[0] == "hset" and c[1] == "capacity:cards"] == ["new"]
    assert len(commands) < 10


def test_a_change_of_a_closed_set_or_a_tradeoff_is_written() -> None:
    ledger = history(20).copy()
    fold(ledger, TradeoffDecided(request_id="old-10", tradeoff_id="t-10", decision="defer", decided_by="hs",
                                 policy_version=1))
    fold(ledger, classification("gone", lane="sales"))
    fold(ledger, withdrawn("gone"))
    commands = saved(ledger)
    assert ("sadd", CLOSED, "gone") in commands
    assert [c[2] for c in commands if c[0] == "hset" and c[1] == TRADEOFFS] == ["t-10"]


def scheduled(request_id: str) -> RequestScheduled:
    return about_card(RequestScheduled, request_id, cycle="2026-W02", cycle_start=date(2026, 1, 5), points=1)


MOVE: dict[str, Callable[[str], EventData]] = {
    "request.classified": classification, "request.scheduled": scheduled, "request.withdrawn": withdrawn,
    "request.started": lambda rid: about_card(RequestStarted, rid, by="ops"),
    "request.done": lambda rid: about_card(RequestDone, rid, by="ops"),
    "request.paused": lambda rid: about_card(RequestPaused, rid, by="ops", resume_from=date(2026, 1, 5))}

MOVES = st.lists(st.tuples(st.integers(0, 7), st.sampled_from(
    ["request.classified", "request.scheduled", "request.started", "request.done", "request.withdrawn",
     "request.paused"])), max_size=40)


@settings(max_examples=60, deadline=None)
@given(MOVES, st.booleans())
def test_the_live_index_always_names_exactly_the_cards_not_done(moves: list[tuple[int, str]], copied: bool) -> None:
    ledger = Ledger()
    ledger.live_ids()  # kept from the start
    for number, event_type in moves:
        request_id = f"r-{number}"
        fold(ledger, MOVE[event_type](request_id))
        if copied:
            ledger = ledger.copy()
    assert ledger.live_ids() == {rid for rid, card in ledger.cards.items() if card.item.state != "done"}
    assert sorted(i.request_id for i in ledger.live_items()) == sorted(ledger.live_ids())

"""The titles of the published objectives, so the board reads "O2 · Reduce churn", not "O2". Pure.

A card's objective is named as its ``request.classified`` named it (``objective_title``). Cards classified
before classifications carried the title look it up in the OKR set their request was classified under
(``okr_quarter`` and ``okr_version``), failing that in the latest set of that quarter. Ids
repeat from quarter to quarter ("O1" every time), so a card of a known quarter is never given another
quarter's title; only a card classified without a set, or before capacity kept the set on its cards,
takes the latest set that has the objective.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from capacity.domain import Card

__all__ = ["NO_TITLES", "SetKey", "Titles"]

SetKey = tuple[str, int]  # (quarter, version) of a published OKR set


@dataclass(frozen=True)
class Titles:
    """Every published OKR set capacity has heard of: objective id → title, per (quarter, version)."""

    sets: Mapping[SetKey, Mapping[str, str]] = field(default_factory=dict)

    @property
    def version(self) -> int:
        """Grows with every set learnt (a set is never replaced), so a reader knows to redraw."""
        return len(self.sets)

    def of(self, objective_id: str | None, quarter: str | None = None, version: int | None = None) -> str | None:
        """The objective's title in set (``quarter``, ``version``), else in that quarter's latest set
        that has it; with no quarter, in the latest set that has it. None when no set has it."""
        if objective_id is None:
            return None
        exact = [] if quarter is None or version is None else [(quarter, version)]
        latest_first = sorted((key for key in self.sets if quarter is None or key[0] == quarter), reverse=True)
        for key in (*exact, *latest_first):
            title = self.sets.get(key, {}).get(objective_id)
            if title is not None:
                return title
        return None

    def of_card(self, card: Card) -> str | None:
        """The title of the card's objective: as its classification named it, else found in the set its
        request was classified under."""
        if card.objective_title is not None and card.item.objective_id is not None:
            return card.objective_title
        return self.of(card.item.objective_id, card.okr_quarter, card.okr_version)

    def by_objective(self, cards: Iterable[Card]) -> dict[str, str]:
        """Each objective's title as ``cards`` name it; the card classified under the newest set wins."""
        newest_last = sorted(cards, key=lambda c: (c.okr_quarter or "", c.okr_version or 0))
        return {c.item.objective_id: title for c in newest_last
                if c.item.objective_id is not None and (title := self.of_card(c)) is not None}


NO_TITLES = Titles()

"""Overlaps and merges on the board: which open cards look like the same or overlapping work, and
which requests were merged into which. Pure.

The classifier names, on ``request.classified``, open requests of other stakeholders that look alike
(``similar``). A link holds both ways and lasts while both cards are open (on the board, not done);
a merged card leaves the board like a withdrawn one, and the survivor keeps the ids merged into it.
A view built for a requester tool (``only``) names only the cards that tool posted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.events import SimilarRequest

if TYPE_CHECKING:  # the ledger holds the overlaps: only its type is needed here
    from capacity.domain import Ledger

__all__ = ["Link", "Overlaps", "board_overlaps", "card_links", "linked", "open_overlaps"]


@dataclass(frozen=True)
class Link:
    request_id: str
    score: float
    kind: str  # duplicate | overlap

    def to_json(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "score": self.score, "kind": self.kind}


@dataclass
class Overlaps:
    """What the detector said of each request, and the merges; ``dirty`` names the entries a fold changed."""

    similar: dict[str, tuple[Link, ...]] = field(default_factory=dict)
    merged_into: dict[str, str] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    # Each request's linked requests, built once per change: a board reads it for every card.
    _around: dict[str, list[tuple[str, Link]]] | None = field(default=None, init=False, repr=False, compare=False)

    def copy(self) -> Overlaps:
        return Overlaps(dict(self.similar), dict(self.merged_into), set())

    def classified(self, request_id: str, similar: Iterable[SimilarRequest]) -> None:
        """A classification's similar requests; a re-classification naming none keeps those named before."""
        found = tuple(Link(s.request_id, s.score, s.kind) for s in similar if s.request_id != request_id)
        if found and found != self.similar.get(request_id):
            self.similar[request_id] = found
            self.dirty.add(request_id)
            self._around = None

    def merged(self, request_id: str, into: str) -> None:
        if self.merged_into.get(request_id) != into:
            self.merged_into[request_id] = into
            self.dirty.add(request_id)

    def around(self, request_id: str) -> list[tuple[str, Link]]:
        """The requests linked to ``request_id`` (either side naming the other), each with its link."""
        if self._around is None:
            self._around = {}
            for (a, b), link in self.pairs().items():
                self._around.setdefault(a, []).append((b, link))
                self._around.setdefault(b, []).append((a, link))
        return self._around.get(request_id, [])

    def merged_from(self, request_id: str) -> list[str]:
        return sorted(m for m, into in self.merged_into.items() if into == request_id)

    def pairs(self) -> dict[tuple[str, str], Link]:
        """Each linked pair once (ids in order), with the strongest score either side gave it."""
        found: dict[tuple[str, str], Link] = {}
        for request_id, links in self.similar.items():
            for link in links:
                pair = (min(request_id, link.request_id), max(request_id, link.request_id))
                if pair not in found or found[pair].score < link.score:
                    found[pair] = link
        return found


# Whether a card is on the board and open (not done), and whether the viewer may see it.
IsOpen = Callable[[str], bool]
Shown = Callable[[str], bool]


def linked(overlaps: Overlaps, request_id: str, is_open: IsOpen, shown: Shown) -> list[dict[str, Any]]:
    """The open cards linked to ``request_id`` that the viewer may see, strongest first."""
    links = [{**link.to_json(), "request_id": other} for other, link in overlaps.around(request_id)
             if is_open(other) and shown(other)]
    return sorted(links, key=lambda x: (-x["score"], x["request_id"]))


def open_overlaps(overlaps: Overlaps, cards: Mapping[str, Mapping[str, Any]], is_open: IsOpen,
                  shown: Shown) -> list[dict[str, Any]]:
    """Pairs of open cards that look like the same or overlapping work, strongest first: both titles and
    the requesters' teams. ``cards`` gives each card's title and team. A requester tool sees the pairs one
    of its cards is part of, the other side counted, not named."""
    found = []
    for (a, b), link in overlaps.pairs().items():
        if not (is_open(a) and is_open(b)) or not (shown(a) or shown(b)):
            continue
        sides = [{"request_id": r, "title": cards[r]["title"], "team": cards[r]["team"]} if shown(r) else None
                 for r in (a, b)]
        found.append({"score": link.score, "kind": link.kind, "requests": [s for s in sides if s],
                      "hidden": sum(s is None for s in sides)})
    return sorted(found, key=lambda x: (-x["score"], [s["request_id"] for s in x["requests"]]))


def _is_open(ledger: Ledger, request_id: str) -> bool:
    """On the board and not done: work a link or an overlap may still be about."""
    found = ledger.cards.get(request_id)
    return found is not None and found.item.state != "done"


def _visible(ledger: Ledger, request_id: str, only: str | None) -> bool:
    found = ledger.cards.get(request_id)
    return only is None or (found is not None and found.submitted_by == only)


def card_links(ledger: Ledger, request_id: str, only: str | None = None) -> list[dict[str, Any]]:
    """A card's links to other open cards, as the viewer ``only`` (None: who sees all) may see them."""
    return linked(ledger.overlaps, request_id, lambda r: _is_open(ledger, r), lambda r: _visible(ledger, r, only))


def board_overlaps(ledger: Ledger, only: str | None = None) -> list[dict[str, Any]]:
    """Open overlaps for ops: pairs of open cards, their score, both titles and the requesters' teams."""
    cards = {rid: {"title": c.title, "team": c.item.team} for rid, c in ledger.cards.items()}
    return open_overlaps(ledger.overlaps, cards, lambda r: _is_open(ledger, r),
                         lambda r: _visible(ledger, r, only))

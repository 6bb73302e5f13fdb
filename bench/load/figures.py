"""The figures of one run: vegeta's results joined with the watcher's sightings. Pure.

Times are "submitted → X": from when vegeta sent the POST to the record timestamp of the first X
about that request. Its requester's notice is the first one *sent* about its decision, or about a
later change of its start that replaced that notice before it went (a notice kept back is announced
on ``notification.sent`` too, as not sent: it tells nobody anything). A request is lost when it was
accepted (202) and its decision or its requester's notice never appeared; duplicated when one event
appeared twice (the same CloudEvents id) or one decision was told to its requester twice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench.load.vegeta import Result
from bench.load.watch import Sighting
from shared.events import (
    ForecastSlipped,
    NotificationSent,
    RequestBacklogged,
    RequestClassified,
    RequestScheduled,
    TradeoffRequired,
)

__all__ = ["DECISIONS", "Door", "Percentiles", "Pipeline", "door", "outstanding", "pipeline"]

DECISIONS = frozenset({RequestScheduled.event_type, RequestBacklogged.event_type, TradeoffRequired.event_type})
# A decision, or a slipped forecast (a notice of which may replace the backlog notice still waiting).
_WHERE_IT_STANDS = DECISIONS | {ForecastSlipped.event_type}


@dataclass(frozen=True)
class Percentiles:
    """Milliseconds; None when nothing was measured."""

    p50: float | None
    p90: float | None
    p99: float | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Percentiles:
        ordered = sorted(seconds)

        def rank(q: float) -> float | None:  # nearest rank
            return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else None

        return cls(rank(0.5), rank(0.9), rank(0.99))


@dataclass(frozen=True)
class Door:
    """The POST side of one attack: what was offered, what was answered and how fast."""

    offered: float
    sent: int
    accepted: int
    achieved: float
    latency: Percentiles
    refused: dict[int, int]


@dataclass(frozen=True)
class Pipeline:
    accepted: int
    to_classified: Percentiles
    to_decision: Percentiles
    to_notice: Percentiles
    decisions_per_s: float | None
    lost_decision: int
    lost_notice: int
    duplicated_events: int
    duplicated_notices: int
    replayed_answers: int
    drain_s: float | None


def door(results: Sequence[Result], offered: float) -> Door:
    ok = [r for r in results if 200 <= r.code < 300]
    refused = Counter(r.code for r in results if not 200 <= r.code < 300)
    span = (max(r.sent + r.latency for r in results) - min(r.sent for r in results)) if results else 0.0
    # Each request stands for one 1/rate slot, so a door that answers every request at once achieves the rate.
    slot = 1 / offered if offered else 0.0
    return Door(offered=offered, sent=len(results), accepted=len(ok),
                achieved=len(ok) / (span + slot) if span > 0 else 0.0,
                latency=Percentiles.of([r.latency for r in results]), refused=dict(refused))


def _is_requester_notice(s: Sighting) -> bool:
    return s.type == NotificationSent.event_type and s.audience == "requester" and s.about_type in DECISIONS


def _told(s: Sighting) -> bool:
    """A requester's notice of where their request stands that was sent."""
    return (s.type == NotificationSent.event_type and s.audience == "requester" and s.status == "sent"
            and s.about_type in _WHERE_IT_STANDS)


def _firsts(sightings: Iterable[Sighting], ids: set[str]) -> tuple[dict[str, float], dict[str, float],
                                                                      dict[str, float]]:
    classified: dict[str, float] = {}
    decided: dict[str, float] = {}
    noticed: dict[str, float] = {}
    for s in sightings:
        if s.request_id not in ids:
            continue
        if s.type == RequestClassified.event_type:
            into = classified
        elif s.type in DECISIONS:
            into = decided
        elif _told(s):
            into = noticed
        else:
            continue
        into[s.request_id] = min(into.get(s.request_id, s.at), s.at)
    return classified, decided, noticed


def outstanding(ids: set[str], sightings: Iterable[Sighting]) -> int:
    """Accepted requests not yet both decided and noticed."""
    _, decided, noticed = _firsts(sightings, ids)
    return sum(1 for i in ids if i not in decided or i not in noticed)


def pipeline(results: Sequence[Result], sightings: Sequence[Sighting]) -> Pipeline:
    sent: dict[str, float] = {}
    replayed = 0
    for r in results:
        if r.request_id is None:
            continue
        if r.request_id in sent:
            replayed += 1
        sent.setdefault(r.request_id, r.sent)
    ids = set(sent)
    classified, decided, noticed = _firsts(sightings, ids)
    mine = [s for s in sightings if s.request_id in ids]
    events = Counter((s.type, s.event_id) for s in mine)
    notices: dict[tuple[str, str | None], set[str]] = {}
    for s in mine:
        if _is_requester_notice(s):
            notices.setdefault((s.request_id, s.about_id), set()).add(s.event_id)
    start = min(sent.values(), default=0.0)
    end_of_load = max((r.sent for r in results), default=0.0)
    last = max([*decided.values(), *noticed.values()], default=None)
    return Pipeline(
        accepted=len(ids),
        to_classified=Percentiles.of([t - sent[i] for i, t in classified.items()]),
        to_decision=Percentiles.of([t - sent[i] for i, t in decided.items()]),
        to_notice=Percentiles.of([t - sent[i] for i, t in noticed.items()]),
        decisions_per_s=(len(decided) / (max(decided.values()) - start)) if decided else None,
        lost_decision=len(ids - set(decided)),
        lost_notice=len(ids - set(noticed)),
        duplicated_events=sum(n - 1 for n in events.values()),
        duplicated_notices=sum(len(told) - 1 for told in notices.values()),
        replayed_answers=replayed,
        drain_s=(last - end_of_load) if last is not None else None,
    )

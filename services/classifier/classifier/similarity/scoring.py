"""How alike two requests are: the sentence model's cosine, raised by the specific things they share
(an account, a place, a month, an event, a version) and by a close due date; lowered hard when they name
different ones (the Globex page and the Initech page), when titles built alike differ in their subject
(a churn analysis, a pipeline analysis), when they speak to different audiences, and when their due
dates lie far apart. Each finding is counted (``evidence``), then weighed (``weigh``), so that
scripts/fit_similarity.py can choose the weights."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from classifier.similarity.entities import Entities
from classifier.similarity.subjects import built_alike, different_subjects, stem

__all__ = ["Comparison", "Evidence", "Profile", "Weights", "compare", "content_words", "evidence", "weigh"]

_STOP_WORDS = """
about above after again also among another because been before being below between both could does doing
down during each every from further have having here into just more most much need needs only other ours
over same should some such than that their them then there these they this those through under until very
what when where which while will with would your please want wants like make made using used new one two
"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class Weights:
    """The score's parts, chosen on the tuning sets data/overlap-dev.jsonl, -dev2, -dev3 and -dev4 by
    scripts/fit_similarity.py (a grid with cross-validation; the weights at 0 did not help there); the thresholds
    on those and the held-out sets read before (-heldout … -heldout9), by the script's rule."""

    shared: float = 0.03  # each shared specific entity, up to three
    same_subject: float = 0.05  # a name in one title that the other request names too (an account, an event)
    conflict: float = 0.6  # each kind of entity both name differently (accounts, months, places, versions)
    other_subject: float = 0.6  # titles built alike about different subjects (churn analysis, pipeline analysis)
    other_audience: float = 0.6  # each names whom it speaks to, and none in common (customers, partners)
    same_work_type: float = 0.0
    other_work_type: float = 0.0
    due_close: float = 0.04  # both due within ``due_window_days`` of each other
    due_far: float = 0.3  # both due, further apart than ``due_apart_days``: one piece of work has one deadline
    due_window_days: int = 21
    due_apart_days: int = 45
    same_objective: float = 0.03  # both ladder up to the same objective
    overlap: float = 0.61  # flagged from here
    duplicate: float = 0.62  # named a duplicate from here (when the deliverable is the same)

    def max_lift(self) -> float:
        """The most the rules add to a cosine: below ``overlap - max_lift()`` nothing is flagged."""
        return 3 * self.shared + self.same_subject + self.same_work_type + self.due_close + self.same_objective


@dataclass(frozen=True)
class Profile:
    """What the detector keeps of a request to compare it with later ones."""

    request_id: str
    entities: Entities
    words: frozenset[str]
    work_type: str
    due_date: date | None
    objective_id: str | None
    title_words: frozenset[str] = frozenset()
    told_words: frozenset[str] = frozenset()  # the description's
    audiences: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Evidence:
    """Each finding as a count (negative when it lowers the score), named after its weight."""

    counts: dict[str, float]
    shared_terms: tuple[str, ...]
    conflicts: tuple[str, ...]
    same_deliverable: bool


@dataclass(frozen=True)
class Comparison:
    score: float
    kind: str | None  # duplicate, overlap, or None when not alike enough
    shared_terms: tuple[str, ...]
    conflicts: tuple[str, ...]


def content_words(text: str) -> frozenset[str]:
    """Words that carry meaning, crudely stemmed, for naming what two requests share."""
    words = re.findall(r"[a-z][a-z0-9]{3,}", text.lower())
    return frozenset(stem(w) for w in words if w not in _STOP)


def _places_meet(a: Entities, b: Entities) -> list[str]:
    """The most specific places of ``a`` and ``b`` where one lies in the other (lisbon, portugal), as
    "lisbon" or "lisbon~portugal"."""
    met = set()
    theirs = b.specific_places()
    for pa in a.specific_places():
        for pb in theirs:
            if pa[0] in pb or pb[0] in pa:
                met.add(pa[0] if pa[0] == pb[0] else "~".join(sorted((pa[0], pb[0]), key=len)))
    return sorted(met)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _entity_overlap(a: Entities, b: Entities) -> tuple[list[str], list[str], bool]:
    """The specific entities both name, the kinds both name but differently, and whether one's title
    names what the other names."""
    shared: list[str] = sorted(a.names & b.names)
    conflicts: list[str] = []
    # Whom the work is for: the names in each title, found nowhere in the other request.
    same_subject = bool(a.key_names & b.names or b.key_names & a.names)
    # Each title names someone the other request never names (the Zambezi and the Orinoco press release,
    # both about the same product): two pieces of work, whatever else they share. A name is known by its
    # first word ("Castellan" and "Castellan Insurance" are one account) and by its initials ("CRB" and
    # "Cobalt Ridge Bank"). So are two firms named anywhere, each by one request alone ("ads for the Q2
    # proposal" to Halyard Beverages, the same to Ballast Building Supply).
    if ((a.key_heads - b.names - b.initials and b.key_heads - a.names - a.initials)
            or (a.firms - b.names and b.firms - a.names)):
        conflicts.append("account")
    # Two lines of one family or two firms of one name, each named by one title alone: Quarry Edge and Quarry
    # Cloud, Orion Health and Orion Retail.
    elif any(head == other_head and line != other_line and line not in b.names and other_line not in a.names
             for head, line in a.key_lines for other_head, other_line in b.key_lines):
        conflicts.append("line")
    kinds: list[tuple[str, frozenset[str], frozenset[str]]] = [
        ("month", frozenset(_MONTHS[m - 1] for m in a.months), frozenset(_MONTHS[m - 1] for m in b.months)),
        ("year", a.years, b.years),
        ("date", a.days, b.days),
        ("version", a.versions, b.versions),
        ("event", a.events, b.events),
        ("quarter", a.quarters, b.quarters),  # Q1 and Q2: months in common, if a text names one, are no match
        ("language", a.languages, b.languages),
    ]
    for kind, left, right in kinds:
        common = left & right
        shared.extend(sorted(common))
        # Another kind of event is no conflict: one event goes by many names (a party and a reception, a
        # meetup and a user group night, a conference and its keynote).
        if left and right and not common and kind != "event":
            conflicts.append(kind)
    if a.places and b.places:
        met = _places_meet(a, b)
        shared.extend(met)
        if not met:
            conflicts.append("place")
    return shared, conflicts, same_subject


def evidence(new: Profile, old: Profile, weights: Weights = Weights()) -> Evidence:
    """What the rules find between two requests, before weighing."""
    shared, conflicts, same_subject = _entity_overlap(new.entities, old.entities)
    if different_subjects(new.title_words, new.words, new.entities, old.title_words, old.words, old.entities):
        conflicts.append("subject")
    # Two descriptions of one mould, each naming what the other never names ("retargeting for visitors to the
    # Probe page", "… to the Trace page"): the titles may be the same, the work is not. Counted once with an
    # account or a line already found.
    elif (not {"account", "line"} & set(conflicts) and built_alike(new.told_words, old.told_words)
          and new.entities.told_names - old.entities.names and old.entities.told_names - new.entities.names):
        conflicts.append("detail")
    if new.audiences and old.audiences and not new.audiences & old.audiences:
        conflicts.append("audience")
    counts = {"shared": float(min(len(shared), 3)), "same_subject": float(same_subject),
              "conflict": -float(sum(kind not in ("subject", "audience") for kind in conflicts)),
              "other_subject": -float("subject" in conflicts), "other_audience": -float("audience" in conflicts),
              "same_work_type": float(new.work_type == old.work_type),
              "other_work_type": -float(new.work_type != old.work_type),
              "same_objective": float(bool(new.objective_id) and new.objective_id == old.objective_id)}
    if new.due_date and old.due_date:
        apart = abs((new.due_date - old.due_date).days)
        counts["due_close"] = float(apart <= weights.due_window_days)
        counts["due_far"] = -float(apart > weights.due_apart_days)
    words = sorted(new.words & old.words - set(shared))
    # The same deliverable asked twice is a duplicate; another deliverable for the same thing, an overlap.
    same_deliverable = new.work_type == old.work_type or "other" in (new.work_type, old.work_type)
    return Evidence(counts, tuple([*shared, *words][:6]), tuple(conflicts), same_deliverable)


def weigh(cosine: float, found: Evidence, weights: Weights = Weights()) -> Comparison:
    """The cosine plus each finding times its weight, kept between 0 and 1, and the kind it makes."""
    score = cosine + sum(getattr(weights, name) * count for name, count in found.counts.items())
    score = min(max(score, 0.0), 1.0)
    kind = ("duplicate" if score >= weights.duplicate and found.same_deliverable
            else "overlap" if score >= weights.overlap else None)
    return Comparison(round(score, 4), kind, found.shared_terms, found.conflicts)


def compare(new: Profile, old: Profile, cosine: float, weights: Weights = Weights()) -> Comparison:
    """The score of ``old`` as a duplicate of, or overlap with, ``new``."""
    return weigh(cosine, evidence(new, old, weights), weights)

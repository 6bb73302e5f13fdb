"""Which published objective does a request ladder up to?

The objectives of one OKR set are indexed once with BM25 (bm25s); a request's
title, description and customer outcome are then scored against that index by
summing the per-term weights the library computed, so `Aligner.align` is a few
dictionary look-ups per word. Terms are Snowball-stemmed words plus adjacent
word pairs, so a keyword phrase such as "pricing page" counts more than its
words do apart.

Objectives are the company's priorities for its market, so work written for one
account ("a custom page for Halvorsen", "their logo") or for an internal audience
(the board, investors, an internal newsletter) has to match an objective much more
clearly before it ladders up to it.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import bm25s  # type: ignore[import-untyped]
from bm25s.stopwords import STOPWORDS_EN_PLUS  # type: ignore[import-untyped]

from classifier.terms import NARROW_AUDIENCE, REQUEST_PHRASING, Analyzer, phrases_in

__all__ = ["Aligner", "Alignment", "AlignmentConfig", "ClaimVerdict", "Objective"]

# The same vocabulary as shared.events.ClaimVerdict; this module stays free of the contract's imports.
ClaimVerdict = Literal["confirmed", "contradicted", "unknown_objective", "not_claimed"]


@dataclass(frozen=True)
class Objective:
    id: str
    rank: int
    title: str
    description: str
    key_results: tuple[str, ...]
    keywords: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Objective":
        """From an objective as published (``id``, ``rank``, ``title``, ``description``, ``key_results``...)."""
        return cls(id=data["id"], rank=data["rank"], title=data["title"], description=data["description"],
                   key_results=tuple(data["key_results"]), keywords=tuple(data.get("keywords", ())))


@dataclass(frozen=True)
class AlignmentConfig:
    """Scoring knobs; the defaults were tuned on one half of a labelled development set and checked on
    the other half (scripts/eval_classifier.py --half).

    A score adds up BM25 weights scaled so that a word found in one objective only counts up to
    `unique_word_score`, times the weight of the request field it appears in.
    """

    threshold: float = 3.0  # minimum score to ladder up to anything
    unique_word_score: float = 1.5
    narrow_audience: frozenset[str] = NARROW_AUDIENCE  # words or phrases, lower case
    narrow_threshold_factor: float = 2.5  # the threshold is this many times higher for such work
    claim_margin: float = 0.25  # a claimed objective this close to the best (relative) wins the tie
    title_weight: float = 2.0  # request fields
    description_weight: float = 1.0
    outcome_weight: float = 1.0
    phrase_weight: float = 1.5  # adjacent word pairs, on top of their words
    objective_title_repeats: int = 1  # objective fields, as term repeats (BM25F style)
    objective_description_repeats: int = 1
    objective_key_result_repeats: int = 1
    objective_keyword_repeats: int = 4
    k1: float = 1.2
    b: float = 0.75
    extra_stopwords: frozenset[str] = REQUEST_PHRASING
    rationale_terms: int = 6


@dataclass(frozen=True)
class Alignment:
    """With no objective chosen, `score` and the runner-up are those of the closest objective."""

    objective_id: str | None
    score: float
    runner_up_id: str | None
    runner_up_score: float | None
    claim: ClaimVerdict
    rationale: str
    matched_terms: tuple[str, ...]


class Aligner:
    """An OKR set indexed once; `align` scores one request against it."""

    def __init__(self, objectives: Sequence[Objective], config: AlignmentConfig = AlignmentConfig()) -> None:
        if not objectives:
            raise ValueError("an OKR set needs at least one objective")
        self._objectives = tuple(objectives)
        self._ids = tuple(o.id for o in objectives)
        self._config = config
        self._analyzer = Analyzer(frozenset(STOPWORDS_EN_PLUS) | config.extra_stopwords)
        self._weights = self._index()

    def _index(self) -> dict[str, tuple[float, ...]]:
        """Per-term BM25 weight for every objective, scaled so a word unique to one objective is ~1."""
        c = self._config
        docs: list[list[str]] = []
        for o in self._objectives:
            fields = [
                (o.title, c.objective_title_repeats),
                (o.description, c.objective_description_repeats),
                *((kr, c.objective_key_result_repeats) for kr in o.key_results),
                *((kw, c.objective_keyword_repeats) for kw in o.keywords),
            ]
            docs.append([t.key for text, n in fields for t in self._analyzer.terms(text) for _ in range(n)])
        if not any(docs):  # no word to index (PUT /v1/okrs refuses such a set; bm25s cannot index one)
            return {}
        retriever = bm25s.BM25(k1=c.k1, b=c.b, method="lucene")
        retriever.index(docs, show_progress=False)
        unique_idf = math.log(1 + (len(docs) - 0.5) / 1.5)  # Lucene idf of a word in one objective only
        unit = c.unique_word_score / unique_idf
        return {
            term: tuple(float(s) * unit for s in retriever.get_scores([term]))
            for term in retriever.vocab_dict
            if term
        }

    @staticmethod
    def wordless(objectives: Sequence[Objective], config: AlignmentConfig = AlignmentConfig()) -> list[str]:
        """The ids of the objectives with no word the aligner could index: no request can ever ladder up to one."""
        analyzer = Analyzer(frozenset(STOPWORDS_EN_PLUS) | config.extra_stopwords)
        return [o.id for o in objectives
                if not any(analyzer.terms(text) for text in (o.title, o.description, *o.key_results, *o.keywords))]

    def align(
        self,
        *,
        title: str,
        description: str,
        customer_outcome: str | None,
        okr_claim: str | None,
    ) -> Alignment:
        """Score a request against every objective and judge the requester's claim."""
        c = self._config
        weights, surfaces = self._request_terms(
            (title, c.title_weight), (description, c.description_weight), (customer_outcome, c.outcome_weight)
        )
        scores = [0.0] * len(self._ids)
        for key, weight in weights.items():
            for i, s in enumerate(self._weights[key]):
                scores[i] += weight * s
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], self._objectives[i].rank))  # tie: rank
        best = order[0]
        narrow = phrases_in(" ".join((title, description, customer_outcome or "")), c.narrow_audience)
        bar = c.threshold * (c.narrow_threshold_factor if narrow else 1.0)
        chosen = best if self._clears(scores[best], bar) else None

        claim: ClaimVerdict = "not_claimed"
        if okr_claim and okr_claim not in self._ids:
            claim = "unknown_objective"
        elif okr_claim:
            claimed = self._ids.index(okr_claim)
            near_best = scores[claimed] >= (1 - c.claim_margin) * scores[best]
            claim = "confirmed" if self._clears(scores[claimed], bar) and near_best else "contradicted"
            chosen = claimed if claim == "confirmed" else chosen

        top = best if chosen is None else chosen
        runner_up = next((i for i in order if i != chosen), None)
        matched = self._matched_terms(top, weights, surfaces)
        return Alignment(
            objective_id=None if chosen is None else self._ids[chosen],
            score=round(scores[top], 3),
            runner_up_id=None if runner_up is None else self._ids[runner_up],
            runner_up_score=None if runner_up is None else round(scores[runner_up], 3),
            claim=claim,
            rationale=self._rationale(chosen, runner_up, scores, matched, okr_claim, claim, (bar, narrow)),
            matched_terms=matched,
        )

    @staticmethod
    def _clears(score: float, bar: float) -> bool:
        return score > 0 and score >= bar

    def _request_terms(self, *fields: tuple[str | None, float]) -> tuple[dict[str, float], dict[str, str]]:
        """Each known term's weight (its best field's; pairs boosted), and the words it came from."""
        weights: dict[str, float] = {}
        surfaces: dict[str, str] = {}
        for text, field_weight in fields:
            for term in self._analyzer.terms(text or ""):
                if term.key in self._weights:
                    weight = field_weight * (self._config.phrase_weight if " " in term.key else 1.0)
                    weights[term.key] = max(weights.get(term.key, 0.0), weight)
                    surfaces.setdefault(term.key, term.surface)
        return weights, surfaces

    def _matched_terms(
        self, index: int, weights: dict[str, float], surfaces: dict[str, str]
    ) -> tuple[str, ...]:
        """The request's words and phrases that did most for one objective, phrases over their words."""
        ranked = sorted(((w * self._weights[key][index], key) for key, w in weights.items()), reverse=True)
        picked: list[tuple[frozenset[str], str]] = []  # (words, surface)
        for contribution, key in ranked:
            if contribution <= 0 or len(picked) == self._config.rationale_terms:
                break
            surface = surfaces[key]
            words = frozenset(surface.replace("-", " ").split())
            if any(words <= other for other, _ in picked):
                continue
            picked = [(other, s) for other, s in picked if not other <= words]
            picked.append((words, surface))
        return tuple(surface for _, surface in picked)

    def _rationale(
        self,
        chosen: int | None,
        runner_up: int | None,
        scores: list[float],
        matched: tuple[str, ...],
        okr_claim: str | None,
        claim: ClaimVerdict,
        threshold: tuple[float, tuple[str, ...]],
    ) -> str:
        """Why: the objective and its best terms, or how far the closest fell short of the (raised) threshold."""
        bar, narrow = threshold
        terms = ", ".join(f'"{t}"' for t in matched) or "nothing"
        raised = ""
        if narrow:
            cues = ", ".join(f'"{t}"' for t in narrow)
            raised = f" for work for one account or an internal audience ({cues})"
        if chosen is not None:
            o = self._objectives[chosen]
            next_best = "" if runner_up is None else f", next best {scores[runner_up]:.2f}"
            first = (
                f'Ladders up to {o.id} "{o.title}" (score {scores[chosen]:.2f}{next_best}), matching {terms}.'
            )
        else:  # the runner-up is then the closest objective
            near = 0 if runner_up is None else runner_up
            first = (
                f"Ladders up to no objective: the closest, {self._ids[near]}, scores {scores[near]:.2f}, "
                f"below the threshold of {bar:.2f}{raised} (matching {terms})."
            )
        if claim == "unknown_objective":
            return f"{first} The claimed objective {okr_claim} is not in this OKR set."
        if claim == "contradicted":
            claimed = scores[self._ids.index(str(okr_claim))]
            fits = "below the threshold" if chosen is None else f"{self._ids[chosen]} fits better"
            return f"{first} The claim of {okr_claim} is not borne out: it scores {claimed:.2f}, {fits}."
        return first

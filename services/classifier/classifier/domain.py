"""Classifier rules: OKR sets, quarters, lanes, and which objective a request ladders up to.

The text scoring itself lives in ``classifier.alignment``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from classifier.alignment import Aligner, AlignmentConfig, Objective
from shared.events import OkrObjective, RequestDetails

__all__ = ["Classification", "Classifier", "OkrSetCreate", "OkrSet", "OpenRequest", "current_quarter", "next_version",
           "quarter_bounds", "QUARTER_PATTERN"]

QUARTER_PATTERN = r"^\d{4}-Q[1-4]$"


class OkrSetCreate(BaseModel):
    """The body of ``PUT /v1/okrs/{quarter}``: 3–5 ranked objectives and a sign-off."""

    model_config = ConfigDict(extra="forbid")
    quarter: str | None = Field(default=None, pattern=QUARTER_PATTERN)
    objectives: list[OkrObjective] = Field(min_length=3, max_length=5)
    approved_by: str = Field(min_length=1, max_length=200)
    approved_at: datetime

    @model_validator(mode="before")
    @classmethod
    def rank_by_order(cls, data: object) -> object:
        """Objectives without a rank are ranked in the order given."""
        if isinstance(data, dict) and isinstance(data.get("objectives"), list):
            data = dict(data)
            data["objectives"] = [
                {**o, "rank": o.get("rank", i + 1)} if isinstance(o, dict) else o
                for i, o in enumerate(data["objectives"])
            ]
        return data

    @field_validator("objectives")
    @classmethod
    def distinct(cls, objectives: list[OkrObjective]) -> list[OkrObjective]:
        ids = [o.id for o in objectives]
        if len(set(ids)) != len(ids):
            raise ValueError("objective ids must be unique")
        ranks = sorted(o.rank for o in objectives)
        if ranks != list(range(1, len(objectives) + 1)):
            raise ValueError("ranks must be 1..n, each used once")
        wordless = Aligner.wordless([Objective.of(o.model_dump()) for o in objectives])
        if wordless:
            raise ValueError(f"the objectives {', '.join(wordless)} have no word a request could be matched on "
                             "(only stop words, numbers or punctuation): say what each is about")
        return sorted(objectives, key=lambda o: o.rank)


class OkrSet(BaseModel):
    """A published version of a quarter's objectives."""

    model_config = ConfigDict(frozen=True)
    quarter: str
    version: int
    objectives: list[OkrObjective]
    approved_by: str
    approved_at: datetime
    published_at: datetime
    published_by: str

    def objective(self, objective_id: str) -> OkrObjective | None:
        return next((o for o in self.objectives if o.id == objective_id), None)


def next_version(latest: OkrSet | None, quarter: str, body: OkrSetCreate, *, by: str, at: datetime) -> OkrSet | None:
    """The set a publication creates: the next version, or None when it repeats the latest one exactly."""
    if latest is not None and (latest.objectives, latest.approved_by, latest.approved_at) == (
            body.objectives, body.approved_by, body.approved_at):
        return None
    return OkrSet(quarter=quarter, version=latest.version + 1 if latest else 1, objectives=body.objectives,
                  approved_by=body.approved_by, approved_at=body.approved_at, published_at=at, published_by=by)


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """First and last day of a quarter such as ``2026-Q4``."""
    match = re.fullmatch(QUARTER_PATTERN.strip("^$"), quarter)
    if match is None:
        raise ValueError(f"not a quarter: {quarter}")
    year, q = int(quarter[:4]), int(quarter[-1])
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + (q == 4), (3 * q) % 12 + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def current_quarter(today: date, pinned: str | None = None) -> str:
    """The pinned quarter, else the one whose dates contain ``today``."""
    return pinned or f"{today.year}-Q{(today.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Classification:
    lane: str
    colour: str
    objective_id: str | None
    objective_rank: int | None
    score: float
    runner_up_id: str | None
    runner_up_score: float | None
    claim: str
    rationale: str
    matched_terms: tuple[str, ...]
    okr_quarter: str | None
    okr_version: int | None
    objective_title: str | None = None  # the objective's title in that set


@dataclass(frozen=True)
class OpenRequest:
    """A request not yet done or withdrawn, with the objective it was last given."""

    request_id: str
    details: RequestDetails
    submitted_at: datetime
    objective_id: str | None
    objective_rank: int | None = None
    classified_under: str | None = None  # the OKR set, as ``quarter:vN``
    submitted_by: str | None = None  # the tool whose key posted it


class Classifier:
    """Lane from the requester type; objective from the text, measured against the OKR set.

    Keeps one aligner per OKR set version, so each set is indexed once.
    """

    def __init__(self, colours: Mapping[str, str], config: AlignmentConfig = AlignmentConfig()) -> None:
        self._colours = dict(colours)
        self._config = config
        self._aligners: dict[tuple[str, int], tuple[Aligner, dict[str, int]]] = {}

    def _aligner(self, okrs: OkrSet) -> tuple[Aligner, dict[str, int]]:
        key = (okrs.quarter, okrs.version)
        if key not in self._aligners:
            objectives = [Objective.of(o.model_dump()) for o in okrs.objectives]
            self._aligners[key] = (Aligner(objectives, self._config),
                                   {o.id: o.rank for o in okrs.objectives})
        return self._aligners[key]

    def uncached(self) -> Classifier:
        """The same settings with no aligners kept: for a set that is not published (a preview), whose
        quarter and version a published set may later take."""
        return Classifier(self._colours, self._config)

    @staticmethod
    def marker(okrs: OkrSet | None) -> str | None:
        return Classifier.marker_of(okrs.quarter, okrs.version) if okrs else None

    @staticmethod
    def marker_of(quarter: str | None, version: int | None) -> str | None:
        """The OKR set a request was classified under, as ``quarter:vN``."""
        return f"{quarter}:v{version}" if quarter else None

    def changed_by(self, okrs: OkrSet, open_requests: Iterable[OpenRequest]
                   ) -> list[tuple[OpenRequest, Classification]]:
        """The open requests whose objective, or its rank, is different under ``okrs``, with their new answer."""
        changed = []
        for request in open_requests:
            result = self.classify(request.details, okrs)
            if (result.objective_id, result.objective_rank) != (request.objective_id, request.objective_rank):
                changed.append((request, result))
        return changed

    def classify(self, details: RequestDetails, okrs: OkrSet | None) -> Classification:
        lane = details.requester.type
        colour = self._colours.get(lane, "grey")
        if okrs is None:
            return Classification(
                lane=lane, colour=colour, objective_id=None, objective_rank=None, score=0.0,
                runner_up_id=None, runner_up_score=None,
                claim="not_claimed" if details.okr_claim is None else "unknown_objective",
                rationale="No objectives are published for this quarter yet, so nothing can be "
                          "measured against them.", matched_terms=(), okr_quarter=None, okr_version=None)
        aligner, ranks = self._aligner(okrs)
        found = aligner.align(title=details.title, description=details.description,
                              customer_outcome=details.customer_outcome, okr_claim=details.okr_claim)
        objective = okrs.objective(found.objective_id) if found.objective_id else None
        return Classification(
            lane=lane, colour=colour, objective_id=found.objective_id,
            objective_title=objective.title if objective else None,
            objective_rank=ranks.get(found.objective_id) if found.objective_id else None,
            score=round(found.score, 4), runner_up_id=found.runner_up_id,
            runner_up_score=None if found.runner_up_score is None else round(found.runner_up_score, 4),
            claim=found.claim, rationale=found.rationale, matched_terms=found.matched_terms,
            okr_quarter=okrs.quarter, okr_version=okrs.version)

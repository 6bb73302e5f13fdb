"""Classifier rules: OKR sets, quarters, lanes, and which objective a request ladders up to."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.events import OkrObjective, RequestDetails

__all__ = ["Classification", "OkrSetCreate", "OkrSet", "classify", "current_quarter",
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
    okr_quarter: str | None
    okr_version: int | None


def classify(details: RequestDetails, okrs: OkrSet | None, colours: Mapping[str, str]) -> Classification:
    """Lane from the requester type; objective from the claim when it names a published one."""
    lane = details.requester.type
    colour = colours.get(lane, "grey")
    quarter = okrs.quarter if okrs else None
    version = okrs.version if okrs else None
    claimed = okrs.objective(details.okr_claim) if okrs and details.okr_claim else None
    if okrs is None:
        rationale = "No objectives are published for this quarter yet."
        claim = "not_claimed" if details.okr_claim is None else "unknown_objective"
    elif details.okr_claim is None:
        rationale = "The request names no objective."
        claim = "not_claimed"
    elif claimed is None:
        rationale = f"Objective {details.okr_claim} is not in the {okrs.quarter} set."
        claim = "unknown_objective"
    else:
        rationale = f"The requester says it ladders up to {claimed.id}: {claimed.title}."
        claim = "confirmed"
    return Classification(
        lane=lane, colour=colour, objective_id=claimed.id if claimed else None,
        objective_rank=claimed.rank if claimed else None, score=1.0 if claimed else 0.0,
        runner_up_id=None, runner_up_score=None, claim=claim, rationale=rationale,
        okr_quarter=quarter, okr_version=version,
    )

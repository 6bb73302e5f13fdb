"""What the forecast endpoints answer, as the OpenAPI document describes it."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["CalibrationPublic", "DatesPublic", "ForecastPublic", "HorizonPublic", "ImportPublic"]


class DatesPublic(BaseModel):
    p50: date
    p85: date
    p95: date


class ForecastPublic(BaseModel):
    request_id: str
    lane: str
    position_in_lane: int = Field(description="place in the lane's queue, 1-based; 0 for work in progress")
    method: Literal["monte_carlo", "points"]
    history_items: int = Field(description="items the lane has finished")
    start: DatesPublic | None = Field(description="None once started, or beyond what the forecaster looks at")
    done: DatesPublic | None
    beyond_horizon: bool
    note: str | None = Field(description="why these are the planner's points-based dates, when they are")


class CountsPublic(BaseModel):
    p50: int
    p85: int
    p95: int


class LaneHorizonPublic(BaseModel):
    lane: str
    backlog: int
    in_progress: int
    history_items: int
    method: Literal["monte_carlo", "points"]
    started_by: CountsPublic | None
    done_by: CountsPublic | None
    backlog_started_by: CountsPublic | None
    note: str | None = None


class HorizonPublic(BaseModel):
    horizon: date
    meaning: str
    lanes: list[LaneHorizonPublic]


class SharesPublic(BaseModel):
    p50: float | None
    p85: float | None
    p95: float | None


class ReliabilityPublic(BaseModel):
    judged: int
    started_by: SharesPublic
    brier: float | None


class LaneReliabilityPublic(ReliabilityPublic):
    lane: str


class CalibrationPublic(BaseModel):
    method: str
    cycles: int
    trials: int
    perfect_brier: float
    lanes: list[LaneReliabilityPublic]
    overall: ReliabilityPublic


class ImportPublic(BaseModel):
    import_id: str
    items: int

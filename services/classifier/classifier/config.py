from pydantic import Field
from pydantic_settings import SettingsConfigDict

from classifier.similarity.scoring import Weights
from shared.lanes import LANE_COLOURS
from shared.settings import ServiceSettings


class ClassifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CLASSIFIER_")
    port: int = 8002
    lane_colours: dict[str, str] = Field(default_factory=lambda: dict(LANE_COLOURS))
    # Alignment scoring (see classifier.alignment.AlignmentConfig for the rest).
    alignment_threshold: float = Field(default=3.0, ge=0)
    alignment_claim_margin: float = Field(default=0.25, ge=0, le=1)
    alignment_title_weight: float = Field(default=2.0, ge=0)
    # How often to check whether another OKR set became current (a new quarter began).
    rollover_check_s: float = Field(default=60.0, gt=0)
    # Pin a quarter (e.g. "2026-Q4") instead of the one whose dates contain today.
    pinned_quarter: str | None = None
    # Origins whose pages may call the classifier from a browser (intake's request form), e.g.
    # ["http://127.0.0.1:8001"]; none by default.
    cors_origins: list[str] = Field(default_factory=list)
    # Where people reach capacity's pages (trade-offs, policy, dashboard): the OKR page links to them.
    capacity_public_url: str = "http://127.0.0.1:8003"
    # Similar requests (classifier.similarity): flagged from the overlap score, named duplicates from the
    # duplicate score; both chosen on the tuning sets data/overlap-dev*.jsonl by scripts/fit_similarity.py
    # (make eval-classifier prints the figures).
    similarity_overlap_threshold: float = Field(default=Weights.overlap, ge=0, le=1)
    similarity_duplicate_threshold: float = Field(default=Weights.duplicate, ge=0, le=1)

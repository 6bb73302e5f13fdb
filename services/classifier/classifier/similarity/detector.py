"""Which open requests look like the same or overlapping work as a new one.

Each request costs one embedding (kept with the open request, so it is computed once) and one
matrix-vector product against every open request's vector; the entity rules then run on the few
whose cosine could reach the overlap threshold."""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from classifier.similarity.embedding import DIMENSIONS, Embedder
from classifier.similarity.entities import extract
from classifier.similarity.scoring import Comparison, Profile, Weights, compare, content_words
from classifier.similarity.subjects import audiences
from shared.events import RequestDetails

__all__ = ["Candidate", "Detector", "Match", "decode", "encode", "text_of"]

Vector = NDArray[np.float32]
_SHORTLIST = 100


def text_of(details: RequestDetails) -> str:
    """What the sentence model reads of a request."""
    return f"{details.title}. {details.description}"


def encode(vector: Vector) -> str:
    """A vector as kept in Redis (base64 of float32 bytes)."""
    return base64.b64encode(vector.astype(np.float32).tobytes()).decode()


def decode(raw: str) -> Vector:
    return np.frombuffer(base64.b64decode(raw), dtype=np.float32)


def profile(request_id: str, details: RequestDetails, objective_id: str | None) -> Profile:
    return Profile(request_id=request_id, entities=extract(details.title, details.description),
                   words=content_words(f"{details.title} {details.description}"), work_type=details.work_type,
                   due_date=details.due_date, objective_id=objective_id, title_words=content_words(details.title),
                   audiences=audiences(text_of(details)))


@dataclass(frozen=True)
class Candidate:
    """An open request to compare with, and its vector."""

    profile: Profile
    requester_id: str
    vector: Vector


@dataclass(frozen=True)
class Match:
    request_id: str
    comparison: Comparison


class Detector:
    """Holds the sentence model (loaded once per process) and the scoring weights."""

    def __init__(self, weights: Weights = Weights(), limit: int = 3) -> None:
        self.weights = weights
        self._limit = limit
        self._embedder: Embedder | None = None
        self._loading = threading.Lock()

    def load(self) -> Embedder:
        with self._loading:
            if self._embedder is None:
                self._embedder = Embedder()
            return self._embedder

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self.load().embed(list(texts))

    def similar(self, new: Profile, requester_id: str, vector: Vector,
                candidates: Sequence[Candidate]) -> list[Match]:
        """The best ``limit`` open requests from other requesters that reach the overlap threshold."""
        others = [c for c in candidates if c.requester_id != requester_id and c.profile.request_id != new.request_id]
        if not others:
            return []
        matrix = np.stack([c.vector for c in others]).reshape(len(others), DIMENSIONS)
        cosines = matrix @ vector
        # The entity rules run on the closest ``_SHORTLIST`` only, and only where they could lift the
        # cosine to the overlap threshold.
        closest = np.argsort(-cosines, kind="stable")[:_SHORTLIST]
        floor = self.weights.overlap - self.weights.max_lift()
        matches = [Match(others[i].profile.request_id, compare(new, others[i].profile, float(cosines[i]),
                                                               self.weights))
                   for i in closest if cosines[i] >= floor]
        flagged = [m for m in matches if m.comparison.kind is not None]
        flagged.sort(key=lambda m: (-m.comparison.score, m.request_id))
        return flagged[: self._limit]

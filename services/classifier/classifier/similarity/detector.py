"""Which open requests look like the same or overlapping work as a new one.

Each request costs one embedding (kept with the open request, so it is computed once) and one
matrix-vector product against every open request's vector; the entity rules then run on the few
whose cosine could reach the overlap threshold."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from classifier.similarity.entities import extract
from classifier.similarity.lexicon import canonical, digest
from classifier.similarity.scoring import Comparison, Profile, Weights, compare, content_words
from classifier.similarity.sentence import DIMENSIONS, SentenceModel
from classifier.similarity.subjects import audiences
from shared.events import RequestDetails

__all__ = ["BULK_WORKERS", "Candidate", "Detector", "Match", "Pool", "decode", "encode", "text_of"]

Vector = NDArray[np.float32]
_SHORTLIST = 100


def text_of(details: RequestDetails) -> str:
    """What the sentence model reads of a request: its words, each thing called by one name (``lexicon``)."""
    return canonical(f"{details.title}. {details.description}")


def encode(vector: Vector) -> str:
    """A vector as kept in Redis (base64 of float32 bytes)."""
    return base64.b64encode(vector.astype(np.float32).tobytes()).decode()


def decode(raw: str) -> Vector:
    return np.frombuffer(base64.b64decode(raw), dtype=np.float32)


def profile(request_id: str, details: RequestDetails, objective_id: str | None) -> Profile:
    title, description = canonical(details.title), canonical(details.description)
    return Profile(request_id=request_id, entities=extract(title, description),
                   words=content_words(f"{title} {description}"), work_type=details.work_type,
                   due_date=details.due_date, objective_id=objective_id, title_words=content_words(title),
                   told_words=content_words(description),
                   audiences=audiences(f"{details.title}. {details.description}"))


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


class Pool:
    """The open requests to compare with, their vectors kept stacked: a request opening or closing changes one
    row, so a new request costs one matrix-vector product, not a copy of every vector and an object per open
    request (with thousands open, that was most of the classifier's time)."""

    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self._rows: dict[str, int] = {}
        self._free: list[int] = []
        self._candidates: list[Candidate | None] = []
        self._matrix = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._requesters = np.zeros(0, dtype=object)
        self._ids = np.zeros(0, dtype=object)
        self._live = np.zeros(0, dtype=bool)
        for candidate in candidates:
            self.put(candidate)

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, candidate: Candidate) -> None:
        """Add a candidate, or replace the one of the same request."""
        request_id = candidate.profile.request_id
        row = self._rows.get(request_id)
        if row is None:
            row = self._free.pop() if self._free else self._grow()
            self._rows[request_id] = row
        self._candidates[row] = candidate
        self._matrix[row] = candidate.vector
        self._requesters[row] = candidate.requester_id
        self._ids[row] = request_id
        self._live[row] = True

    def drop(self, request_id: str) -> None:
        row = self._rows.pop(request_id, None)
        if row is not None:
            self._candidates[row] = None
            self._live[row] = False
            self._free.append(row)

    def _grow(self) -> int:
        row = len(self._candidates)
        if row == len(self._matrix):
            size = max(64, 2 * row)
            self._matrix = np.resize(self._matrix, (size, DIMENSIONS))
            self._requesters = np.resize(self._requesters, size)
            self._ids = np.resize(self._ids, size)
            self._live = np.resize(self._live, size)
            self._live[row:] = False
        self._candidates.append(None)
        return row

    def candidate(self, row: int) -> Candidate:
        found = self._candidates[row]
        assert found is not None, "a free row is never a match"
        return found

    def cosines(self, vector: Vector, requester_id: str, request_id: str) -> NDArray[np.float32]:
        """Each row's cosine with ``vector``; -inf for free rows, the requester's own requests and the
        request itself."""
        used = len(self._candidates)
        others = self._live[:used] & (self._requesters[:used] != requester_id) & (self._ids[:used] != request_id)
        return np.asarray(np.where(others, self._matrix[:used] @ vector, -np.inf), dtype=np.float32)


# Threads for bulk embedding: each core runs one text's forward pass at a time.
BULK_WORKERS = max(1, min(4, os.cpu_count() or 1))


class Detector:
    """Holds the sentence models (loaded once per process) and the scoring weights."""

    def __init__(self, weights: Weights = Weights(), limit: int = 3) -> None:
        self.weights = weights
        self._limit = limit
        self._model: SentenceModel | None = None
        self._loading = threading.Lock()

    @property
    def space(self) -> str:
        """The name of the space its vectors lie in: the models, their weights' precision and what they read
        (the lexicon's rewriting). Vectors are compared only within one space (``classifier.store.vectors_key``)."""
        return f"{SentenceModel.name}-lexicon-{digest()}"

    def load(self) -> SentenceModel:
        with self._loading:
            if self._model is None:
                self._model = SentenceModel()
            return self._model

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One vector per text, each embedded alone (``sentence``): the same whatever texts come with it."""
        return self.load().embed(list(texts))

    def embed_each(self, texts: Sequence[str], workers: int = 1) -> list[Vector]:
        """Each text's vector, in the texts' order. Bulk work (a rebuild, the embedding again after an upgrade)
        spreads over ``workers`` threads (``BULK_WORKERS``): ONNX Runtime lets go of the GIL while it runs."""
        if workers <= 1 or len(texts) < 2 * workers:
            return list(self.embed(texts))
        model, size = self.load(), -(-len(texts) // workers)
        with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
            chunks = pool.map(model.embed, [list(texts[i:i + size]) for i in range(0, len(texts), size)])
            return [vector for chunk in chunks for vector in chunk]

    def similar(self, new: Profile, requester_id: str, vector: Vector,
                candidates: Sequence[Candidate] | Pool) -> list[Match]:
        """The best ``limit`` open requests from other requesters that reach the overlap threshold."""
        pool = candidates if isinstance(candidates, Pool) else Pool(candidates)
        cosines = pool.cosines(vector, requester_id, new.request_id)
        # The entity rules run on the closest ``_SHORTLIST`` only, and only where they could lift the
        # cosine to the overlap threshold.
        closest = np.argsort(-cosines, kind="stable")[:_SHORTLIST]
        floor = self.weights.overlap - self.weights.max_lift()
        matches = [Match(pool.candidate(i).profile.request_id,
                         compare(new, pool.candidate(i).profile, float(cosines[i]), self.weights))
                   for i in closest if cosines[i] >= floor]
        flagged = [m for m in matches if m.comparison.kind is not None]
        flagged.sort(key=lambda m: (-m.comparison.score, m.request_id))
        return flagged[: self._limit]

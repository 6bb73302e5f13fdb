"""The detector against the open requests kept in Redis: each new request is embedded once, its vector
kept beside the open request, and compared with every other open request's vector."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from classifier.domain import OpenRequest
from classifier.similarity.detector import (
    BULK_WORKERS,
    Candidate,
    Detector,
    Pool,
    Vector,
    decode,
    encode,
    profile,
    text_of,
)
from classifier.similarity.scoring import Profile
from classifier.store import OpenRequests
from shared.events import RequestDetails, SimilarRequest

__all__ = ["Found", "Similarity"]

_ABSENT = object()  # not in the pool (an objective may be None)


@dataclass(frozen=True)
class Found:
    similar: list[SimilarRequest]
    vector: str  # the new request's vector, encoded as the store keeps it
    submitted_by: dict[str, str | None]  # the tool that posted each similar request


class Similarity:
    """Keeps decoded vectors and extracted entities in memory: a request's text never changes."""

    def __init__(self, detector: Detector, open_requests: OpenRequests) -> None:
        self.detector = detector
        self._open = open_requests
        self._known: dict[str, tuple[Vector, Profile]] = {}
        self._pool = Pool()
        self._pooled: dict[str, str | None] = {}  # what the pool holds: each request's objective
        self._updating = asyncio.Lock()

    async def _candidates(self, opened: list[OpenRequest]) -> Pool:
        """The pool, brought up to date with the open requests: rows only for what opened, closed or was
        classified again since the last look."""
        async with self._updating:  # one update at a time: another's awaits must not see the pool half done
            return await self._update(opened)

    async def _update(self, opened: list[OpenRequest]) -> Pool:
        current = {r.request_id for r in opened}
        for gone in [request_id for request_id in self._pooled if request_id not in current]:
            del self._pooled[gone]
            self._pool.drop(gone)
            self._known.pop(gone, None)
        changed = [r for r in opened if self._pooled.get(r.request_id, _ABSENT) != r.objective_id]
        missing = [r for r in changed if r.request_id not in self._known]
        stored = await self._open.vectors([r.request_id for r in missing])
        # Requests kept before the detector existed (or restored without vectors) are embedded once, here.
        unembedded = [r for r in missing if r.request_id not in stored]
        if unembedded:  # all of them after an upgrade to another space: a few at a time, not at once
            vectors = await asyncio.to_thread(self.detector.embed_each, [text_of(r.details) for r in unembedded],
                                            BULK_WORKERS)
            made = {r.request_id: encode(v) for r, v in zip(unembedded, vectors, strict=True)}
            await self._open.keep_vectors(made)
            stored |= made
        for r in missing:
            self._known[r.request_id] = (decode(stored[r.request_id]), profile(r.request_id, r.details, None))
        for r in changed:
            self._pool.put(Candidate(profile=self._profile(r), requester_id=r.details.requester.id,
                                     vector=self._known[r.request_id][0]))
            self._pooled[r.request_id] = r.objective_id
        return self._pool

    def _profile(self, request: OpenRequest) -> Profile:
        kept = self._known[request.request_id][1]
        return Profile(request.request_id, kept.entities, kept.words, kept.work_type, kept.due_date,
                       request.objective_id, kept.title_words, kept.audiences)

    async def warm(self) -> int:
        """Take in every open request now, embedding those with no vector in this space (all of them after an
        upgrade that changed the space), so that no submission waits for it; answers how many are open."""
        opened = await self._open.all()
        await self._candidates(opened)
        return len(opened)

    async def embed(self, requests: Sequence[RequestDetails]) -> list[Vector]:
        """Each request's vector, all in one trip to a worker thread (the model runs outside the event loop)."""
        texts = [text_of(details) for details in requests]
        return await asyncio.to_thread(self.detector.embed_each, texts) if texts else []

    async def find(self, request_id: str, details: RequestDetails, objective_id: str | None,
                   vector: Vector | None = None) -> Found:
        """The open requests from other requesters that look like the same or overlapping work; ``vector``
        is the request's, when it was embedded already (``embed``)."""
        if vector is None:
            [vector] = await self.embed([details])
        opened = await self._open.all()
        by_id = {r.request_id: r for r in opened}
        matches = self.detector.similar(profile(request_id, details, objective_id), details.requester.id, vector,
                                        await self._candidates(opened))
        similar = []
        for match in matches:
            other = by_id[match.request_id]
            c = match.comparison
            assert c.kind is not None  # only flagged matches come back
            similar.append(SimilarRequest(
                request_id=other.request_id, score=c.score, kind=c.kind, shared_terms=list(c.shared_terms),
                title=other.details.title, team=other.details.requester.team, lane=other.details.requester.type,
                submitted_at=other.submitted_at))
        return Found(similar, encode(vector), {m.request_id: by_id[m.request_id].submitted_by for m in matches})

"""classifier: measures every request against the quarter's published objectives.

Emits:    request.classified (lane, colour, objective, rationale), okrs.published;
          request.classified again for open requests whose objective changes when
          another OKR set becomes current (a re-publish, or a new quarter)
          similar open requests from other requesters on request.classified (``similar``)
Consumes: request.submitted; request.withdrawn, request.done and request.merged (no longer open);
          okrs.published (its own, to rebuild the OKR store and roll over)
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers
from starlette.responses import Response

from classifier import handlers
from classifier.alignment import AlignmentConfig
from classifier.api import okrs_router
from classifier.config import ClassifierSettings
from classifier.domain import Classifier, OkrSet, current_quarter
from classifier.preview import preview_router
from classifier.similarity.detector import Detector
from classifier.similarity.lookup import Similarity
from classifier.similarity.scoring import Weights
from classifier.store import OkrStore, OpenRequests
from shared.pages import pages_router
from shared.problems import problem_response
from shared.runtime import build_runtime, subscribe, web_app

log = logging.getLogger(__name__)

NAME = "classifier"


class ProblemCORS(CORSMiddleware):
    """Starlette's CORS middleware, with a refused preflight answered as problem+json like every other error
    (it answers before the app's problem handlers, in plain text)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        refused = bytes(answer.body).decode()  # e.g. "Disallowed CORS origin, method"
        headers = {k: v for k, v in answer.headers.items() if k.lower().startswith("access-control-")}
        return problem_response(answer.status_code, f"{refused}: this origin, method or header may not call the "
                                                     "classifier from a page.", headers=headers)


def create_app(settings: ClassifierSettings) -> FastAPI:
    runtime = build_runtime(NAME, settings)
    store = OkrStore(runtime.redis)
    source = f"/{NAME}"

    async def current() -> OkrSet | None:
        return await store.latest(current_quarter(date.today(), settings.pinned_quarter))

    classifier = Classifier(settings.lane_colours, AlignmentConfig(
        threshold=settings.alignment_threshold, claim_margin=settings.alignment_claim_margin,
        title_weight=settings.alignment_title_weight))
    detector = Detector(Weights(overlap=settings.similarity_overlap_threshold,
                                duplicate=settings.similarity_duplicate_threshold))
    open_requests = OpenRequests(runtime.redis, detector.space)
    similarity = Similarity(detector, open_requests)

    async def load_model() -> None:
        await asyncio.to_thread(similarity.detector.load)
        if await open_requests.forget_other_spaces():
            log.info("similarity: vectors of another space dropped; embedding the open requests again")
        log.info("similarity: %d open requests taken in", await similarity.warm())

    roll_over = handlers.rollover(open_requests, runtime.publisher, current, classifier, source)
    subscribe(runtime, runtime.topics.consumed_by(NAME),
              *handlers.routes(store, open_requests, runtime.outcomes, runtime.publisher, current, classifier,
                               roll_over, source, similarity))
    router = okrs_router(store, runtime.publisher, runtime.access, classifier, current, source, similarity)
    preview = preview_router(store, open_requests, runtime.access, classifier,
                             lambda: current_quarter(date.today(), settings.pinned_quarter))
    pages = pages_router("classifier", {"okrs": "okrs.html"},
                         values={"capacity": settings.capacity_public_url.rstrip("/")})
    routers = [router, preview, pages]
    app = web_app(runtime, routers, title="classifier",
                  description="Which published priority does a request ladder up to?",
                  periodic=[(settings.rollover_check_s, roll_over)], startup=[load_model])
    if settings.cors_origins:  # intake's request form asks for the objectives and the dry run from its page
        app.add_middleware(ProblemCORS, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    return app

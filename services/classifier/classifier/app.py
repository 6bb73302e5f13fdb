"""classifier: measures every request against the quarter's published objectives.

Emits:    request.classified (lane, colour, objective, rationale), okrs.published
Consumes: request.submitted; okrs.published (its own, to rebuild the OKR store)
"""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI

from classifier import handlers
from classifier.alignment import AlignmentConfig
from classifier.api import okrs_router
from classifier.config import ClassifierSettings
from classifier.domain import Classifier, OkrSet, current_quarter
from classifier.store import OkrStore
from shared.runtime import build_runtime, subscribe, web_app

NAME = "classifier"


def create_app(settings: ClassifierSettings) -> FastAPI:
    runtime = build_runtime(NAME, settings)
    store = OkrStore(runtime.redis)
    source = f"/{NAME}"

    async def current() -> OkrSet | None:
        return await store.latest(current_quarter(date.today(), settings.pinned_quarter))

    classifier = Classifier(settings.lane_colours, AlignmentConfig(
        threshold=settings.alignment_threshold, claim_margin=settings.alignment_claim_margin,
        title_weight=settings.alignment_title_weight))
    subscribe(runtime, [runtime.topics.requests, runtime.topics.okrs],
              handlers.routes(store, runtime.outcomes, runtime.publisher, current, classifier, source))
    router = okrs_router(store, runtime.publisher, settings.api_keys, classifier, current, source)
    return web_app(runtime, [router], title="classifier",
                   description="Which published priority does a request ladder up to?")

"""intake: the one door. Takes requests over REST and tells their status.

Emits:    request.submitted, request.withdrawn, request.merged
Consumes: every request lifecycle event (its own included) and notification.sent,
          to build each request's timeline and current status.
"""

from __future__ import annotations

from fastapi import FastAPI

from intake import handlers
from intake.api import requests_router
from intake.config import IntakeSettings
from intake.store import RequestStore
from shared.idempotency import IdempotencyKeys
from shared.keys_api import keys_router
from shared.links import LinkSigner
from shared.pages import pages_router
from shared.runtime import build_runtime, subscribe, web_app

NAME = "intake"


def create_app(settings: IntakeSettings) -> FastAPI:
    runtime = build_runtime(NAME, settings)
    store = RequestStore(runtime.redis)
    topics = runtime.topics
    subscribe(runtime, topics.consumed_by(NAME), handlers.routes(store), handlers.runs(store))
    signer = (LinkSigner(settings.link_secret.get_secret_value(), settings.link_ttl_days * 86_400)
              if settings.link_secret else None)
    router = requests_router(store, runtime.publisher, IdempotencyKeys(runtime.redis, NAME),
                             runtime.access, settings.max_page_size, source=f"/{NAME}", signer=signer)
    keys = keys_router(runtime.access, runtime.publisher, source=f"/{NAME}")
    classifier = settings.classifier_public_url.rstrip("/")
    pages = pages_router(NAME, {"request": "request.html", "mine": "mine.html"}, connect=(classifier,),
                         values={"classifier": classifier,
                                 "form_key": settings.form_key.get_secret_value() if settings.form_key else ""})
    return web_app(runtime, [router, keys, pages], title="intake",
                   description="Every request to the marketing team enters here.")

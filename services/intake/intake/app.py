"""intake: the one door. Takes requests over REST and tells their status.

Emits:    request.submitted, request.withdrawn, request.merged
Consumes: every request lifecycle event (its own included) and notification.sent,
          to build each request's timeline and current status.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from intake import handlers
from intake.api import requests_router
from intake.config import IntakeSettings
from intake.store import RequestStore
from shared.access import KeyRegistry, Role
from shared.idempotency import IdempotencyKeys
from shared.keys_api import keys_router
from shared.links import LinkSigner
from shared.pages import pages_router
from shared.runtime import build_runtime, subscribe, web_app

NAME = "intake"

log = logging.getLogger(__name__)


def publishable(form_key: str, registry: KeyRegistry) -> str:
    """The form's key, as the request form's public page may carry it: a submit-only requester tool's key
    that is not revoked. ``INTAKE_API_KEYS`` is checked at start (``IntakeSettings``); a key made with
    ``POST /v1/keys`` is known only from the keys topic, so it is checked on each page. Any other key is left
    out (the form then asks the person for one), and the mistake is logged: a key that reads or does more
    must never be handed to whoever opens the page."""
    record = registry.find(form_key) if form_key else None
    if record is None or (record.role is Role.REQUESTER_TOOL and record.submit_only and record.revoked_at is None):
        return form_key  # unknown: it grants nothing, and the form's first post says so
    log.error("INTAKE_FORM_KEY is %s's %s key (%s): the request form's page leaves it out, and asks for a key",
              record.tool, record.role.value, "revoked" if record.revoked_at else "not submit-only")
    return ""


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
    form_key = settings.form_key.get_secret_value() if settings.form_key else ""
    pages = pages_router(NAME, {"request": "request.html", "mine": "mine.html"}, connect=(classifier,),
                         values={"classifier": classifier},
                         values_now=lambda: {"form_key": publishable(form_key, runtime.access.registry)})
    return web_app(runtime, [router, keys, pages], title="intake",
                   description="Every request to the marketing team enters here.")

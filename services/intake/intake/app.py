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


def publishable(form_key: str, registry: KeyRegistry, told: set[str] | None = None) -> str:
    """The form's key, as the request form's public page may carry it: one intake knows (from
    ``INTAKE_API_KEYS``, checked at start by ``IntakeSettings``, or from the keys topic, read in full before
    intake is ready) as a submit-only requester tool's key that is not revoked. Any other key is left out (the
    form then asks the person for one): a key intake does not know may be another service's ops key, and a key
    that reads or does more must never be handed to whoever opens the page. Each mistake is logged once
    (``told`` keeps which were)."""
    record = registry.find(form_key) if form_key else None
    if record is not None and record.role is Role.REQUESTER_TOOL and record.submit_only and record.revoked_at is None:
        return form_key
    why = ("not a key intake knows" if record is None else "revoked" if record.revoked_at
           else f"{record.tool}'s {record.role.value} key, not submit-only")
    if form_key and (told is None or why not in told):
        log.error("INTAKE_FORM_KEY is %s: the request form's page leaves it out, and asks for a key", why)
        if told is not None:
            told.add(why)
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
    told: set[str] = set()
    pages = pages_router(NAME, {"request": "request.html", "mine": "mine.html"}, connect=(classifier,),
                         values={"classifier": classifier},
                         values_now=lambda: {"form_key": publishable(form_key, runtime.access.registry, told)})
    return web_app(runtime, [router, keys, pages], title="intake",
                   description="Every request to the marketing team enters here.")

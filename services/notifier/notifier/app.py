"""notifier: tells requesters and integrations what happened, once.

Emits:    notification.sent
Consumes: request.backlogged, request.scheduled, request.started, request.paused, request.done,
          request.tradeoff_required, request.tradeoff_decided, request.conflict_detected, capacity.alert
"""

from __future__ import annotations

from fastapi import FastAPI

from notifier import handlers
from notifier.api import notifications_router
from notifier.config import NotifierSettings
from notifier.domain import Audience
from notifier.store import NotificationLog
from shared.runtime import build_runtime, subscribe, web_app

NAME = "notifier"


def create_app(settings: NotifierSettings) -> FastAPI:
    runtime = build_runtime(NAME, settings)
    notifications = NotificationLog(runtime.redis)
    subscribe(runtime, [runtime.topics.decisions],
              handlers.routes(notifications, runtime.publisher,
                              Audience(ops=settings.ops_email, heat_shield=settings.heat_shield_email),
                              source=f"/{NAME}"))
    return web_app(runtime, [notifications_router(notifications)], title="notifier",
                   description="What each requester was told, and when.")

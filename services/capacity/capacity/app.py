"""capacity: decides by a published policy what the team commits to and what waits.

Emits:    request.scheduled, request.backlogged (position, expected start, reason, start range),
          request.tradeoff_required, request.tradeoff_decided, request.conflict_detected,
          request.started, request.paused, request.done, request.bypass_refused,
          capacity.alert, policy.updated, request.forecast_slipped, request.sle_at_risk
          (and capacity.flow_history_imported, internal: past work for the flow history)
Consumes: request.classified, request.withdrawn, okrs.published (for the dashboard's objective titles)
"""

from __future__ import annotations

from fastapi import FastAPI

from capacity import handlers
from capacity.api import capacity_router
from capacity.config import CapacitySettings
from capacity.dashboard import dashboard_router
from capacity.flow.api import flow_router
from capacity.flow.service import FlowService, flow_settings
from capacity.flow.store import FlowStore
from capacity.metrics import capacity_gauges
from capacity.policy_api import policy_router
from capacity.service import CapacityService
from capacity.store import LedgerStore, TitleStore
from shared.pages import pages_router
from shared.runtime import build_runtime, subscribe, web_app

NAME = "capacity"


def create_app(settings: CapacitySettings) -> FastAPI:
    runtime = build_runtime(NAME, settings)
    flow = FlowService(FlowStore(runtime.redis), flow_settings(settings))
    service = CapacityService(LedgerStore(runtime.redis), runtime.outcomes, runtime.publisher,
                              source=f"/{NAME}", heat_shield=settings.heat_shield_email, flow=flow)
    titles = TitleStore(runtime.redis)
    runtime.metrics.watch("capacity", capacity_gauges(service))
    subscribe(runtime, runtime.topics.consumed_by(NAME), handlers.routes(service, titles),
              handlers.batch_routes(service))
    routers = [capacity_router(service, titles, runtime.access),
               dashboard_router(service, titles, runtime.access.allow(), revoked=runtime.access.registry.revoked),
               flow_router(service, flow, runtime.access),
               policy_router(service, runtime.access),
               pages_router("capacity", {"tradeoffs": "tradeoffs.html", "policy": "policy.html"},
                            values={"classifier": settings.classifier_public_url.rstrip("/")})]
    return web_app(runtime, routers, title="capacity",
                   description="Capacity by published policy: commitments, backlog, trade-offs, collisions.",
                   periodic=[(settings.cycle_check_s, service.new_cycle),
                             (settings.flow_check_s, lambda: flow.check(service.apply))])

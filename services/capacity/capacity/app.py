"""capacity: decides by a published policy what the team commits to and what waits.

Emits:    request.backlogged (position, expected start, reason)
Consumes: request.classified, request.withdrawn
"""

from __future__ import annotations

from fastapi import FastAPI

from capacity import handlers
from capacity.api import capacity_router
from capacity.config import CapacitySettings
from capacity.domain import Policy
from capacity.store import CapacityStore
from shared.runtime import build_runtime, subscribe, web_app

NAME = "capacity"


def create_app(settings: CapacitySettings) -> FastAPI:
    runtime = build_runtime(NAME, settings)
    store = CapacityStore(runtime.redis)
    policy = Policy(cycle_days=settings.cycle_days, capacity_points=settings.capacity_points,
                    size_points=settings.size_points, default_points=settings.default_points)

    def current_policy() -> Policy:
        return policy

    subscribe(runtime, [runtime.topics.requests, runtime.topics.classifications],
              handlers.routes(store, runtime.outcomes, runtime.publisher, current_policy,
                              source=f"/{NAME}"))
    return web_app(runtime, [capacity_router(store, current_policy)], title="capacity",
                   description="Capacity by published policy: the backlog, in order, with expected starts.")

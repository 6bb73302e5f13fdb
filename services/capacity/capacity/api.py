"""Capacity's HTTP surface: the backlog in order, and the policy in force."""

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from capacity.domain import Policy, priority_key
from capacity.store import CapacityStore


def capacity_router(store: CapacityStore, policy: Callable[[], Policy]) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["capacity"])

    @router.get("/backlog")
    async def backlog() -> dict[str, Any]:
        items = await store.items()
        placements = await store.placements()
        ordered = sorted(items.values(), key=priority_key)
        rows = []
        for item in ordered:
            placement = placements.get(item.request_id)
            rows.append({
                "request_id": item.request_id, "title": item.title, "lane": item.lane,
                "colour": item.colour, "objective_id": item.objective_id, "points": item.points,
                "requester": item.requester,
                "position": placement.position if placement else None,
                "expected_start_cycle": placement.cycle if placement else None,
                "expected_start": placement.cycle_start.isoformat() if placement else None,
            })
        return {"items": rows, "depth": len(rows)}

    @router.get("/policy")
    async def current_policy() -> dict[str, Any]:
        return asdict(policy())

    return router

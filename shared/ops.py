"""Routes every service has: liveness, readiness, who the caller is, and the dead letters ops replays."""

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from faststream.kafka import KafkaBroker
from redis.asyncio import Redis

from shared.access import Caller, Role
from shared.auth import AUTH_RESPONSES, Access
from shared.dead_letters import DeadLetters
from shared.problems import Problem

__all__ = ["ops_router"]


def ops_router(redis: Redis, broker: KafkaBroker, dead_letters: DeadLetters, access: Access,
               keys_followed: Callable[[], bool] = lambda: True) -> APIRouter:
    """``keys_followed``: whether the service still follows the keys topic (``KeyFeed.following``)."""
    router = APIRouter()
    Anyone = Annotated[Caller, Depends(access.allow())]
    Ops = Annotated[Caller, Depends(access.allow(Role.OPS))]

    async def keys() -> bool:
        return keys_followed()

    checks: dict[str, Callable[[], Any]] = {
        "redis": lambda: redis.ping(),
        "kafka": lambda: broker.ping(timeout=2.0),
        "keys": keys,
    }

    @router.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": dead_letters.service}

    @router.get("/readyz", tags=["ops"])
    async def readyz() -> dict[str, Any]:
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await asyncio.wait_for(check(), timeout=3.0))
            except Exception:  # any failure of a dependency means "not ready", reported below
                results[name] = False
        if not all(results.values()):
            down = ", ".join("the keys topic" if n == "keys" else n for n, ok in results.items() if not ok)
            raise Problem(503, f"Not ready: {down} unreachable.", headers={"Retry-After": "5"},
                          checks=results)
        return {"status": "ready", "service": dead_letters.service, "checks": results}

    @router.get("/v1/me", tags=["ops"], responses=AUTH_RESPONSES)
    async def me(caller: Anyone) -> dict[str, Any]:
        """The calling key: its tool, role, and the lanes and teams it may post for."""
        return {"key_id": caller.key_id, "tool": caller.tool, "role": caller.role.value,
                "lanes": list(caller.lanes), "teams": list(caller.teams) if caller.teams else None,
                "sees_every_request": caller.sees_everything}

    @router.get("/v1/dead-letters", tags=["ops"], responses=AUTH_RESPONSES)
    async def list_dead_letters(caller: Ops) -> dict[str, Any]:
        return {"items": await dead_letters.list()}

    @router.post("/v1/dead-letters/{letter_id}/replay", tags=["ops"], responses={**AUTH_RESPONSES, 404: {}})
    async def replay_dead_letter(letter_id: str, caller: Ops) -> dict[str, Any]:
        record = await dead_letters.replay(letter_id)
        if record is None:
            raise Problem(404, f"No dead letter {letter_id}.")
        return record

    return router

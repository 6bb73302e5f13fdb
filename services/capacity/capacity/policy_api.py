"""Policy before and after saving it: a preview of its effect, and the history of its versions.

    POST /v1/policy/preview     (ops) what the proposed policy would commit and move; nothing is saved
    GET  /v1/policy/versions    every saved version, newest first, with who published it and what changed
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from capacity import policy_views
from capacity.api import PolicyUpdate
from capacity.planning import Policy
from capacity.service import CapacityService
from shared.access import Caller, Role
from shared.auth import AUTH_RESPONSES, Access

__all__ = ["policy_router"]


def policy_router(service: CapacityService, access: Access) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["capacity"])
    Reader = Annotated[Caller, Depends(access.allow())]
    Ops = Annotated[Caller, Depends(access.allow(Role.OPS))]

    @router.post("/policy/preview", responses={**AUTH_RESPONSES, 413: {}, 422: {}})
    async def preview_policy(body: PolicyUpdate, caller: Ops) -> dict[str, Any]:
        """The planner's answer under the proposed policy (the body ``PUT /v1/policy`` takes): this cycle's
        commitments and shares before and after, and every card that would move into or out of the cycle or
        to an earlier or later start. Nothing is saved or announced."""
        ledger, current = await service.current()
        proposed = Policy(version=ledger.policy.version + 1, **body.model_dump())
        return policy_views.preview(ledger, current, proposed, service.today())

    @router.get("/policy/versions", responses=AUTH_RESPONSES)
    async def policy_versions(reader: Reader) -> dict[str, Any]:
        """Every saved policy version, newest first: the policy, the tool whose key published it (None for
        the planner's defaults) and each setting it changed from the version before."""
        return {"items": policy_views.versions(await service.store.policies(),
                                               await service.store.policy_authors())}

    return router

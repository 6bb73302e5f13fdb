"""The keys API (ops only): issue a key for a tool and role, list keys, revoke one.

A new key's secret is answered once and never stored; the keys topic carries
only its hash, so every service learns of it (and of its revocation) at once.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from shared.access import ApiKeyRevoked, Caller, KeyRecord, KeySpec, Role, issue
from shared.auth import AUTH_RESPONSES, Access
from shared.envelope import derived_id, envelope
from shared.messaging import EventPublisher
from shared.problems import Problem

__all__ = ["keys_router"]


def keys_router(access: Access, publisher: EventPublisher, source: str) -> APIRouter:
    router = APIRouter(prefix="/v1/keys", tags=["keys"])
    Ops = Annotated[Caller, Depends(access.allow(Role.OPS))]

    @router.post("", status_code=201, responses={**AUTH_RESPONSES, 422: {}})
    async def create_key(body: KeySpec, caller: Ops) -> Any:
        if (refused := body.refusal()) is not None:
            raise Problem(422, refused)
        secret, created = issue(body, by=caller.tool, at=datetime.now(UTC))
        record = created.key
        await publisher.publish(envelope(created, source=source, event_id=derived_id(record.key_id, "created")))
        access.registry.apply(created)
        return JSONResponse({**record.public(), "key": secret}, status_code=201,
                            headers={"Location": f"/v1/keys/{record.key_id}"})

    @router.get("", responses=AUTH_RESPONSES)
    async def list_keys(caller: Ops) -> dict[str, Any]:
        return {"items": [r.public() for r in access.registry.all()]}

    @router.get("/{key_id}", responses={**AUTH_RESPONSES, 404: {}})
    async def get_key(key_id: str, caller: Ops) -> dict[str, Any]:
        return _found(access, key_id).public()

    @router.delete("/{key_id}", responses={**AUTH_RESPONSES, 404: {}})
    async def revoke_key(key_id: str, caller: Ops) -> dict[str, Any]:
        """Revoke a key; every service refuses it from then on. Revoking twice changes nothing."""
        record = _found(access, key_id)
        if record.revoked_at is None:
            revoked = ApiKeyRevoked(key_id=key_id, revoked_at=datetime.now(UTC), revoked_by=caller.tool)
            await publisher.publish(envelope(revoked, source=source, event_id=derived_id(key_id, "revoked")))
            access.registry.apply(revoked)
        return _found(access, key_id).public()

    return router


def _found(access: Access, key_id: str) -> KeyRecord:
    record = access.registry.get(key_id)
    if record is None:
        raise Problem(404, f"No key {key_id}.")
    return record

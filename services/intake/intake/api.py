"""Intake's HTTP surface: the one door every request comes through."""

import contextlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from intake.domain import can_withdraw, request_id_for, summarize
from intake.store import RequestStore
from shared.auth import require_key
from shared.envelope import derived_id, envelope
from shared.events import Lane, RequestDetails, RequestSubmitted, RequestWithdrawn
from shared.idempotency import IdempotencyKeys, StoredAnswer, fingerprint
from shared.messaging import TRANSIENT, EventPublisher
from shared.problems import Problem


class RequestCreate(RequestDetails):
    """The body of ``POST /v1/requests``; unknown fields are refused."""


class RequestAccepted(BaseModel):
    id: str
    status: Literal["submitted"]
    links: dict[str, str]


class WithdrawBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)


def _unavailable(what: str) -> Problem:
    return Problem(503, f"{what} is unavailable, so the request was not accepted. Retry later with "
                        "the same Idempotency-Key: it answers with the same request, never a second one.",
                   headers={"Retry-After": "5"})


def requests_router(store: RequestStore, publisher: EventPublisher, keys: IdempotencyKeys,
                    api_keys: dict[str, str], source: str) -> APIRouter:
    router = APIRouter(prefix="/v1/requests", tags=["requests"])
    Caller = Annotated[str, Depends(require_key(api_keys))]

    @router.post("", status_code=202, response_model=RequestAccepted,
                 responses={409: {}, 422: {}, 503: {}})
    async def submit(body: RequestCreate, http: Request, caller: Caller,
                     idempotency_key: Annotated[str | None, Header()] = None) -> Any:
        body_hash = fingerprint(await http.body())
        try:
            if idempotency_key is not None:
                stored = await keys.begin(caller, idempotency_key, body_hash)
                if stored is not None:
                    return JSONResponse(stored.body, status_code=stored.status,
                                        headers={"Idempotent-Replayed": "true"})
            request_id = request_id_for(caller, idempotency_key, str(uuid.uuid4()))
            submitted = RequestSubmitted(
                request_id=request_id, request=RequestDetails(**body.model_dump()),
                submitted_at=datetime.now(UTC), submitted_by=caller)
            event = envelope(submitted, source=source,
                             event_id=derived_id(request_id, submitted.event_type))
            await publisher.publish(event)
        except TRANSIENT as exc:
            if idempotency_key is not None:
                await _release(keys, caller, idempotency_key)
            raise _unavailable("The event log" if isinstance(exc, KafkaError | TimeoutError)
                               else "The request store") from exc
        # Accepted: the event is on Kafka. If Redis fails now, intake's consumer writes the same
        # record from the event, and a retry with the same key finds the same request id.
        answer: dict[str, Any] = {"id": request_id, "status": "submitted",
                                  "links": {"self": f"/v1/requests/{request_id}",
                                            "withdraw": f"/v1/requests/{request_id}/withdraw"}}
        with contextlib.suppress(*TRANSIENT):
            await store.save_submitted(event.id, event.time, submitted, summarize(event.type, event.data))
            if idempotency_key is not None:
                await keys.complete(caller, idempotency_key, body_hash, StoredAnswer(202, answer))
        return JSONResponse(answer, status_code=202, headers={"Location": answer["links"]["self"]})

    @router.get("/{request_id}")
    async def get_request(request_id: str) -> dict[str, Any]:
        found = await store.get(request_id)
        if found is None:
            raise Problem(404, f"No request {request_id}.")
        return found

    @router.get("")
    async def list_requests(
        requester_id: str | None = None,
        status: str | None = None,
        lane: Lane | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[float | None, Query()] = None,
    ) -> dict[str, Any]:
        items, next_cursor = await store.page(after=cursor, limit=limit, requester_id=requester_id,
                                              status=status, lane=lane)
        return {"items": items, "next_cursor": next_cursor}

    @router.post("/{request_id}/withdraw", status_code=202, responses={404: {}, 409: {}, 503: {}})
    async def withdraw(request_id: str, caller: Caller, body: WithdrawBody | None = None) -> dict[str, Any]:
        found = await store.get(request_id)
        if found is None:
            raise Problem(404, f"No request {request_id}.")
        if not can_withdraw(found["status"]):
            raise Problem(409, f"Request {request_id} is already {found['status']}.")
        withdrawn = RequestWithdrawn(request_id=request_id, withdrawn_by=caller,
                                     reason=body.reason if body else None)
        event = envelope(withdrawn, source=source,
                         event_id=derived_id(request_id, withdrawn.event_type))
        try:
            await publisher.publish(event)
        except TRANSIENT as exc:
            raise _unavailable("The event log") from exc
        return {"id": request_id, "status": "withdrawn",
                "links": {"self": f"/v1/requests/{request_id}"}}

    return router


async def _release(keys: IdempotencyKeys, caller: str, key: str) -> None:
    # If Redis is away too, the in-flight claim expires on its own within a minute.
    with contextlib.suppress(*TRANSIENT):
        await keys.abandon(caller, key)

"""Webhook subscriptions over HTTP: ``POST``, ``GET`` and ``DELETE /v1/subscriptions``.

A subscription names a URL, the event types it wants (``"*"`` for all) and optionally its secret
(``whsec_`` + base64); without one, a secret is made and shown in the answer to the POST only.
A change is on the log (its secret sealed) before the answer, or, while Kafka is away, with the
journal's relay once it is back. A POST whose subscription was made but whose answer was never kept
(the process stopped, or Redis failed, in between) is answered again on a retry with its key; a secret
the notifier made, shown in that lost answer only, is replaced.
"""

import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from notifier.api import GUARD_RESPONSES, Responses
from notifier.domain import unknown_event_types
from notifier.webhooks.deliveries import DeliveryLog
from notifier.webhooks.subscriptions import Subscription, SubscriptionStore, check_secret, new_secret
from notifier.webhooks.targets import UnsafeTarget, resolve
from shared.envelope import derived_id
from shared.events import EVENT_TYPES
from shared.faults import TRANSIENT
from shared.idempotency import DONE_TTL_S, IdempotencyKeys, StoredAnswer, fingerprint
from shared.problems import Problem

__all__ = ["SubscriptionCreate", "subscriptions_router"]

log = logging.getLogger(__name__)

# What releases the Idempotency-Key, so the caller may try again with it.
_NOT_DONE: tuple[type[Exception], ...] = (Problem, *TRANSIENT)
_IDEMPOTENCY_DRAFT = "https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/"


class SubscriptionCreate(BaseModel):
    """The body of ``POST /v1/subscriptions``; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2_000)
    event_types: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES) + 1)
    secret: str | None = Field(default=None, max_length=200)


def _who(caller: Any) -> str:
    return str(getattr(caller, "tool", caller))


async def _announced(store: SubscriptionStore, deliveries: DeliveryLog, subscription_id: str,
                     cancelled: Sequence[str] = ()) -> None:
    """Put the change on the log before answering; while Kafka is away, the journal's relay will."""
    try:
        await store.announce(subscription_id)
        await deliveries.announce(*cancelled)
    except TRANSIENT as exc:
        log.warning("subscription %s: its change reaches the log with the relay: %r", subscription_id, exc)


def _answer_kept(created_at: str) -> bool:
    """Whether the answer to the POST that made the subscription would still be kept (48 hours): if it
    would and is not, it never was, and nobody saw its secret. Later, it may have been seen and expired."""
    try:
        made = datetime.fromisoformat(created_at)
    except ValueError:
        return False
    return datetime.now(UTC) - made < timedelta(seconds=DONE_TTL_S)


async def _unanswered(store: SubscriptionStore, made: Subscription, supplied: str | None) -> tuple[Subscription, bool]:
    """The subscription a POST with this key made but never answered, for the same body, and whether the
    answer is the one that was lost. A secret the notifier made was in that answer only: nobody holds it,
    so it is replaced, and the answer carries the new one."""
    existing = await store.get(made.id)
    if existing is None or not _answer_kept(existing.created_at):
        raise Problem(409, f"Subscription {made.id} was made with this Idempotency-Key before.")
    if (existing.url, existing.event_types) != (made.url, made.event_types) or supplied not in (None, existing.secret):
        raise Problem(422, f"This Idempotency-Key was already used for subscription {existing.id}, with a "
                           "different body; use a new key for a new subscription.",
                      type_=_IDEMPOTENCY_DRAFT, subscription_id=existing.id)
    if supplied is not None:
        return existing, True
    renewed = await store.replace_secret(existing.id, new_secret())
    if renewed is None:  # deleted meanwhile
        raise Problem(409, f"Subscription {made.id} was made with this Idempotency-Key before.")
    log.warning("subscription %s: the answer to its POST was lost; its secret is replaced", made.id)
    return renewed, False


def subscriptions_router(store: SubscriptionStore, deliveries: DeliveryLog, keys: IdempotencyKeys, *,
                         allow_private: bool, read: Callable[..., Any], manage: Callable[..., Any],
                         max_page_size: int, guard_responses: Responses = GUARD_RESPONSES) -> APIRouter:
    router = APIRouter(prefix="/v1/subscriptions", tags=["webhooks"], responses=dict(guard_responses))
    Manager = Annotated[Any, Depends(manage)]

    async def check(body: SubscriptionCreate) -> None:
        unknown = unknown_event_types(body.event_types)
        if unknown:
            raise Problem(422, f"Unknown event types: {', '.join(unknown)}. Use \"*\" or types of the "
                               "public interface.", unknown_event_types=unknown, known=sorted(EVENT_TYPES))
        if body.secret is not None:
            try:
                check_secret(body.secret)
            except ValueError as exc:
                raise Problem(422, f"The secret is not a Standard Webhooks secret: {exc}") from exc
        try:
            await resolve(body.url, allow_private=allow_private)
        except UnsafeTarget as exc:
            raise Problem(422, f"This URL cannot receive webhooks: {exc}") from exc

    @router.post("", status_code=201, responses={
        400: {"description": "The Idempotency-Key is not 1 to 255 characters."},
        409: {"description": "A POST with this Idempotency-Key is still in flight, or made its subscription "
                             "more than 48 hours ago."},
        422: {"description": "Not valid: unknown event types, a private or unresolvable URL, a bad secret, "
                             "or an Idempotency-Key used with another body."}})
    async def subscribe(body: SubscriptionCreate, http: Request, caller: Manager,
                        idempotency_key: Annotated[str | None, Header()] = None) -> Any:
        who, body_hash = _who(caller), fingerprint(await http.body())
        if idempotency_key is not None:
            stored = await keys.begin(who, idempotency_key, body_hash)
            if stored is not None:
                return JSONResponse(stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"})
        try:
            await check(body)
            subscription = Subscription(
                id=derived_id("subscription", who, idempotency_key) if idempotency_key else str(uuid.uuid4()),
                url=body.url, event_types=sorted(set(body.event_types)), secret=body.secret or new_secret(),
                created_at=datetime.now(UTC).isoformat(), created_by=who)
            replayed = False
            if not await store.create(subscription):
                subscription, replayed = await _unanswered(store, subscription, body.secret)
        except _NOT_DONE:
            if idempotency_key is not None:
                with contextlib.suppress(*TRANSIENT):
                    await keys.abandon(who, idempotency_key)
            raise
        await _announced(store, deliveries, subscription.id)
        answer = {**subscription.public(with_secret=True),
                  "links": {"self": f"/v1/subscriptions/{subscription.id}",
                            "deliveries": f"/v1/deliveries?subscription_id={subscription.id}"}}
        if idempotency_key is not None:
            try:
                await keys.complete(who, idempotency_key, body_hash, StoredAnswer(201, answer))
            except TRANSIENT as exc:
                # The subscription is made and this answer has its secret: a 503 would lose both. A retry
                # with the key (if this answer is lost too) gets the subscription from _unanswered.
                log.warning("subscription %s: its answer is not kept for the Idempotency-Key: %r",
                            subscription.id, exc)
        headers = {"Location": answer["links"]["self"], **({"Idempotent-Replayed": "true"} if replayed else {})}
        return JSONResponse(answer, status_code=201, headers=headers)

    @router.get("", dependencies=[Depends(read)])
    async def list_subscriptions(limit: Annotated[int, Query(ge=1, le=max_page_size)] = 20,
                                 cursor: Annotated[int | None, Query(ge=0)] = None) -> dict[str, Any]:
        items, next_cursor = await store.page(limit=limit, after=cursor)
        return {"items": [s.public() for s in items], "next_cursor": next_cursor}

    @router.get("/{subscription_id}", dependencies=[Depends(read)], responses={404: {}})
    async def get_subscription(subscription_id: str) -> dict[str, Any]:
        found = await store.get(subscription_id)
        if found is None:
            raise Problem(404, f"No subscription {subscription_id}.")
        return found.public()

    @router.delete("/{subscription_id}", status_code=204, responses={404: {}})
    async def unsubscribe(subscription_id: str, caller: Manager) -> Response:
        """Stop delivering to it; its pending deliveries are cancelled, its log is kept."""
        if not await store.delete(subscription_id, at=datetime.now(UTC).isoformat()):
            raise Problem(404, f"No subscription {subscription_id}.")
        cancelled = await deliveries.pending_of(subscription_id)
        for pending in cancelled:
            await deliveries.move(pending, subscription_id, "cancelled", allowed_from=["pending"], next_attempt_at="")
        await _announced(store, deliveries, subscription_id, cancelled)
        return Response(status_code=204)

    return router

"""Notifier's HTTP surface: what each person was told, and the webhook delivery log.

Routers take their guards as FastAPI dependencies (``read``, ``manage``), and what those may
answer (``guard_responses``, for the OpenAPI document), so the composition root decides who may
call what.
"""

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from notifier.store import NotificationLog
from notifier.webhooks.deliveries import DeliveryLog, Status
from notifier.webhooks.subscriptions import SubscriptionStore
from shared.faults import TRANSIENT
from shared.problems import Problem

__all__ = ["GUARD_RESPONSES", "Responses", "deliveries_router", "notifications_router"]

Responses = Mapping[int | str, dict[str, Any]]
GUARD_RESPONSES: Responses = {
    401: {"description": "No API key, or one that is not known."},
    503: {"description": "A backing service is unavailable; nothing was changed."},
}

log = logging.getLogger(__name__)


def notifications_router(notifications: NotificationLog, *, read: Callable[..., Any],
                         guard_responses: Responses = GUARD_RESPONSES) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["notifications"], dependencies=[Depends(read)],
                       responses=dict(guard_responses))

    @router.get("/notifications")
    async def list_notifications(request_id: str) -> dict[str, Any]:
        """Every message about a request: to whom, through which channel, when, and its words."""
        return {"request_id": request_id, "items": await notifications.for_subject(request_id)}

    return router


def deliveries_router(deliveries: DeliveryLog, subscriptions: SubscriptionStore, *, wake: Callable[[], None],
                      read: Callable[..., Any], manage: Callable[..., Any], max_page_size: int,
                      guard_responses: Responses = GUARD_RESPONSES) -> APIRouter:
    router = APIRouter(prefix="/v1/deliveries", tags=["webhooks"], responses=dict(guard_responses))

    @router.get("", dependencies=[Depends(read)])
    async def list_deliveries(
        subscription_id: str | None = None,
        status: Status | None = None,
        limit: Annotated[int, Query(ge=1, le=max_page_size)] = 20,
        cursor: Annotated[int | None, Query(ge=0)] = None,
    ) -> dict[str, Any]:
        """The delivery log, newest first, with every attempt."""
        items, next_cursor = await deliveries.page(subscription_id=subscription_id, status=status, limit=limit,
                                                   before=cursor)
        return {"items": items, "next_cursor": next_cursor}

    @router.get("/{delivery_id}", dependencies=[Depends(read)], responses={404: {}})
    async def get_delivery(delivery_id: str) -> dict[str, Any]:
        found = await deliveries.get(delivery_id)
        if found is None:
            raise Problem(404, f"No delivery {delivery_id}.")
        return found

    @router.post("/{delivery_id}/redeliver", status_code=202, dependencies=[Depends(manage)],
                 responses={404: {}, 409: {}})
    async def redeliver(delivery_id: str) -> dict[str, Any]:
        """Send again now, with the same webhook-id and a fresh signature."""
        found = await deliveries.get(delivery_id, with_event=False)
        if found is None:
            raise Problem(404, f"No delivery {delivery_id}.")
        subscription = await subscriptions.get(found["subscription_id"])
        if subscription is None or subscription.status != "active":
            state = "deleted" if subscription is None else subscription.status
            raise Problem(409, f"Subscription {found['subscription_id']} is {state}; nothing can be delivered to it.")
        now = time.time()
        moved = await deliveries.move(delivery_id, subscription.id, "pending",
                                      allowed_from=["succeeded", "failed", "cancelled"], due=now, failures=0,
                                      next_attempt_at=datetime.fromtimestamp(now, UTC).isoformat())
        if moved != "ok":
            raise Problem(409, f"Delivery {delivery_id} is still pending; its next attempt is at "
                               f"{found['next_attempt_at']}.")
        wake()
        try:
            await deliveries.announce(delivery_id)
        except TRANSIENT as exc:  # still marked unpublished: the journal's relay puts it on the log
            log.warning("delivery %s: its redelivery reaches the log with the relay: %r", delivery_id, exc)
        return {"id": delivery_id, "status": "pending", "links": {"self": f"/v1/deliveries/{delivery_id}"}}

    return router

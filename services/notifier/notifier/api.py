"""Notifier's HTTP surface: what each person was told, and when."""

from typing import Any

from fastapi import APIRouter

from notifier.store import NotificationLog


def notifications_router(notifications: NotificationLog) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["notifications"])

    @router.get("/notifications")
    async def list_notifications(request_id: str) -> dict[str, Any]:
        return {"request_id": request_id, "items": await notifications.for_subject(request_id)}

    return router

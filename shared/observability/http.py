"""Every HTTP request measured (``http_requests_total``, ``http_request_duration_seconds``) and
written to the access log, by route template so ids never become labels.

The access log line holds method, route, path, status and duration; it never holds headers or the
query string, where keys and personal data travel. A route's ``{id}`` or ``{request_id}`` becomes the
line's ``request_id``.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability.logs import log_context
from shared.observability.metrics import ServiceMetrics

__all__ = ["AccessLog"]

log = logging.getLogger("access")

_UNLOGGED = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLog:
    """Pure ASGI middleware (no body buffering, streaming responses pass through)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route_obj = scope.get("route")
            route = getattr(route_obj, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.http_requests.labels(method, route, str(status)).inc()
            self.metrics.http_seconds.labels(method, route).observe(elapsed)
            path = scope["path"]
            if path not in _UNLOGGED:
                params = scope.get("path_params") or {}
                with log_context(request_id=params.get("request_id") or params.get("id")):
                    log.info("%s %s %d", method, path, status, extra={
                        "http_method": method, "route": route, "path": path, "status": status,
                        "duration_ms": round(elapsed * 1000, 1)})

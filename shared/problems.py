"""RFC 9457 problem details for every error a service answers, and a request-body size limit.

    Problem                 raised by routes and dependencies; rendered as problem+json
    RequestValidationError  FastAPI's 422, rendered as problem+json with an ``errors`` list
    HTTPException           Starlette's 404/405/..., rendered as problem+json
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.faults import TRANSIENT

__all__ = ["BodySizeLimit", "Problem", "install_problem_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: "Request body too large",
    415: "Unsupported media type", 422: "Unprocessable content", 429: "Too many requests",
    500: "Internal server error", 503: "Service unavailable",
}


class Problem(Exception):
    """An error to answer as problem+json."""

    def __init__(self, status: int, detail: str, *, title: str | None = None,
                 type_: str = "about:blank", headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.type = type_
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, detail: str, *, title: str | None = None,
                     type_: str = "about:blank", instance: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title or _TITLES.get(status, "Error"),
                            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(jsonable_encoder(extra))
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc.status, exc.detail, title=exc.title, type_=exc.type,
                                instance=request.url.path, headers=exc.headers, **exc.extra)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"location": list(e.get("loc", ())), "message": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors()]
        fields = ", ".join(".".join(str(p) for p in e["location"][1:]) or "body" for e in errors)
        return problem_response(422, f"The request is not valid: {fields}.",
                                instance=request.url.path, errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(exc.status_code, str(exc.detail), instance=request.url.path,
                                headers=dict(exc.headers or {}))

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(503, f"A backing service is unavailable ({type(exc).__name__}); nothing was "
                                     "changed. Retry later.", instance=request.url.path,
                                headers={"Retry-After": "5"})

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: still problem+json, with nothing of the exception shown to the caller.
        log.exception("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(500, "Something went wrong on our side; nothing was changed that the answer "
                                     "does not say. The error was logged.", instance=request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(Exception, on_unexpected)
    for fault in TRANSIENT:
        app.add_exception_handler(fault, on_unavailable)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


class BodySizeLimit:
    """Answers 413 before a handler sees a body larger than ``max_bytes``, in problem+json. (FastAPI's own
    ``max_body_size`` answers a body whose declared length is too large in plain text.)"""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, f"The body is larger than {self.max_bytes} bytes.")
        await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """A body past the limit, found while it is read (a chunked body declares no length). An HTTP exception,
    so that FastAPI passes it on as it is instead of answering 400 for a body it could not parse."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"The body is larger than {max_bytes} bytes.")

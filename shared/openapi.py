"""The OpenAPI document says what the services really answer: every error is problem+json.

FastAPI documents its 422 as ``application/json`` with its own schema; ours is a
problem. Every guarded operation may also answer 401, 403, 429 and 503, and every
operation with a body 413. Integrators (and the schema fuzzer) read this document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

__all__ = ["document_problems"]

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
    },
}
_DESCRIPTIONS = {
    400: "A body that cannot be parsed, or a malformed header such as an empty Idempotency-Key.",
    401: "No API key, an unknown key or a revoked key.",
    403: "The key's role, lane or team may not make this call.",
    404: "Not found (or not visible to this key).",
    409: "Conflicts with the current state.",
    413: "The body is larger than the service accepts.",
    422: "The request is not valid; nothing was changed.",
    429: "Too many calls with this key; retry after Retry-After seconds.",
    503: "A backing service is unavailable; nothing was changed. Retry later.",
}


def _problem(status: int, description: str | None) -> dict[str, Any]:
    return {"description": description or _DESCRIPTIONS.get(status, "Error"),
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def document_problems(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=app.routes)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for schemas_name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(schemas_name, None)
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                answers: dict[str, Any] = operation.setdefault("responses", {})
                statuses = {int(s) for s in answers if s.isdigit() and int(s) >= 400}
                statuses |= {422, 503}
                if operation.get("security"):
                    statuses |= {401, 403, 429}
                if "requestBody" in operation:
                    statuses |= {400, 413}
                if any(p.get("name", "").lower() == "idempotency-key" for p in operation.get("parameters", [])):
                    statuses.add(400)
                for status in sorted(statuses):
                    answers[str(status)] = _problem(status, answers.get(str(status), {}).get("description"))
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]

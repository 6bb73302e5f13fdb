"""Bearer API keys, checked the same way by every service.

Keys come from each service's settings (``<PREFIX>API_KEYS``, a JSON map of key to
tool name). Roles and per-tool scopes build on this.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from fastapi import Request

from shared.problems import Problem

__all__ = ["require_key"]


def require_key(keys: Mapping[str, str]) -> Callable[[Request], str]:
    """A dependency returning the calling tool's name, or answering 401."""

    def dependency(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "Send your API key as 'Authorization: Bearer <key>'.",
                          headers={"WWW-Authenticate": "Bearer"})
        for key, tool in keys.items():
            if hmac.compare_digest(key.encode(), token.strip().encode()):
                return tool
        raise Problem(401, "This API key is not known.", headers={"WWW-Authenticate": "Bearer"})

    return dependency

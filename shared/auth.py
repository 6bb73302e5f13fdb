"""Bearer API keys and roles, checked the same way by every service.

``Access.allow(*roles)`` is a FastAPI dependency answering the ``Caller``, or:

- 401 without a key, with a key nobody issued, or with a revoked key;
- 403 when the key's role may not make this call (ops may make every call);
- 429 with ``Retry-After`` when the key is over its rate limit in this service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.access import Caller, KeyRegistry, Role
from shared.problems import Problem
from shared.ratelimit import RateLimiter

__all__ = ["AUTH_RESPONSES", "BEARER", "Access"]

# What every guarded route may answer besides its own statuses, for the OpenAPI document.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key, an unknown key or a revoked key."},
    403: {"description": "The key's role may not make this call."},
    429: {"description": "Too many calls with this key; retry after the Retry-After seconds."},
    503: {"description": "A backing service is unavailable; nothing was changed."},
}


# Declares the scheme in the OpenAPI document; the dependency below answers the 401 itself, as problem+json.
_BEARER = HTTPBearer(auto_error=False, bearerFormat="API key",
                     description="An API key from ops: `Authorization: Bearer <key>`.")
BEARER = _BEARER  # for a route that takes a key or another credential (intake's signed links)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


class Access:
    def __init__(self, registry: KeyRegistry, limiter: RateLimiter, default_rate_per_minute: int) -> None:
        self.registry = registry
        self._limiter = limiter
        self._default_rate = default_rate_per_minute

    def allow(self, *roles: Role, submit_only: bool = False) -> Callable[..., Awaitable[Caller]]:
        """A dependency admitting keys of ``roles`` (and ops); no roles admits every valid key. A submit-only
        key (a public form's) is admitted only where ``submit_only`` says so: submitting and dry runs."""
        admitted = set(roles) | {Role.OPS} if roles else set(Role)

        async def dependency(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
                             ) -> Caller:
            caller = self.identify(credentials)
            if caller.submit_only and not submit_only:
                raise Problem(403, f"The key of '{caller.tool}' only submits requests; follow a request "
                                   "through the signed link in its answer and in every notice.")
            if caller.role not in admitted:
                needed = " or ".join(sorted(r.value for r in admitted))
                raise Problem(403, f"This call needs a key with the role {needed}; the key of "
                                   f"'{caller.tool}' has the role {caller.role.value}.")
            wait = await self._limiter.retry_after_s(caller.key_id,
                                                     caller.rate_limit_per_minute or self._default_rate)
            if wait is not None:
                raise Problem(429, f"The key of '{caller.tool}' made more calls than its limit of "
                                   f"{caller.rate_limit_per_minute or self._default_rate} a minute.",
                              headers={"Retry-After": str(wait)})
            return caller

        return dependency

    def identify(self, credentials: HTTPAuthorizationCredentials | None) -> Caller:
        if credentials is None or not credentials.credentials.strip():
            raise _unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
        record = self.registry.find(credentials.credentials)
        if record is None:
            raise _unauthorized("This API key is not known.")
        if record.revoked_at is not None:
            raise _unauthorized(f"This API key was revoked on {record.revoked_at:%Y-%m-%d %H:%M} UTC.")
        return Caller.of(record)


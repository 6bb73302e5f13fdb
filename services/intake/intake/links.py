"""A request read or withdrawn through its signed link (``X-Request-Link``) instead of an API key.

The link grants that one request, for the requester it was made for, and nothing else: the routes that
accept it (``GET /v1/requests/{id}``, ``POST /v1/requests/{id}/withdraw``) check the request's id and its
requester's email against the token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.security import HTTPAuthorizationCredentials

from intake.domain import redacted
from intake.merges import MERGED, redacted_merge
from intake.store import RequestStore
from shared.access import Caller, Role
from shared.auth import BEARER, Access
from shared.links import LINK_HEADER, LinkError, LinkSigner, RequestLink, email_hash
from shared.problems import Problem

__all__ = ["LINK_ACTOR", "LINK_RESPONSES", "follow_url", "followed", "key_or_link", "link_refusal"]

LINK_ACTOR = "requester-link"  # who withdrew a request through its signed link, on request.withdrawn

LINK_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No API key or signed link, an unknown or revoked key, or a link that was changed, "
                         "is not ours or has expired."},
    403: {"description": "The key's role may not make this call, or the link is for another request."},
}


def follow_url(signer: LinkSigner | None, request_id: str, email: str) -> str | None:
    """The request's own page, signed for its requester; None when links are not configured."""
    return None if signer is None else signer.page_url("", request_id, email)


def key_or_link(access: Access, signer: LinkSigner | None,
                *roles: Role) -> Callable[..., Awaitable[Caller | RequestLink]]:
    """A dependency answering the link when ``X-Request-Link`` is sent, else the caller of the API key."""
    allow = access.allow(*roles)

    async def dependency(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
                         link: Annotated[str | None, Header(alias=LINK_HEADER, max_length=1_000)] = None,
                         ) -> Caller | RequestLink:
        if link is None:
            return await allow(credentials)
        if signer is None:
            raise Problem(401, "Signed links are not enabled here; send an API key.")
        try:
            return signer.read(link)
        except LinkError as exc:
            raise Problem(401, str(exc)) from exc

    return dependency


_CHAIN = 100  # the most requests merged, one into another, whose requesters a link follows back


async def _followers(store: RequestStore, found: dict[str, Any], *, own_only: bool) -> set[str]:
    """Whose links open ``found``: its requester's, and (to read it) the requesters of requests merged into
    it, and into those, who all hear its news (the notifier follows the same chain)."""
    people = {found["request"]["requester"]["email"]}
    seen, frontier = {found["id"]}, [] if own_only else [found]
    while frontier:
        current = frontier.pop()
        for entry in current["timeline"]:
            if entry["type"] != MERGED or entry["data"].get("into") != current["id"]:
                continue
            people.add(entry["data"]["requester"]["email"])
            merged_id = entry["data"]["request_id"]
            if merged_id not in seen and len(seen) < _CHAIN:
                seen.add(merged_id)
                merged = await store.get(merged_id)
                if merged is not None:
                    frontier.append(merged)
    return {email_hash(email) for email in people}


async def link_refusal(store: RequestStore, link: RequestLink, request_id: str, found: dict[str, Any] | None, *,
                       withdraw: bool = False) -> Problem | None:
    """Why a valid link does not open this request (or, with ``withdraw``, may not withdraw it); None when
    it does. Only the request's own requester withdraws it."""
    if link.request_id != request_id:
        return Problem(403, "This link is for another request; it opens only the request it was sent about.")
    if found is None:
        return Problem(404, f"No request {request_id}.")
    if link.requester not in await _followers(store, found, own_only=withdraw):
        return Problem(403, "This link was made for another requester.")
    return None


async def followed(store: RequestStore, link: RequestLink, request_id: str, *,
                   withdraw: bool = False) -> dict[str, Any]:
    """The request a link opens, as its requester may read it: of the other requests its timeline lists,
    none is named, and nobody's contact details appear."""
    found = await store.get(request_id)
    refusal = await link_refusal(store, link, request_id, found, withdraw=withdraw)
    if refusal is not None:
        raise refusal
    assert found is not None
    own = {request_id}
    found["merged_from"] = []
    found["timeline"] = [redacted_merge(entry, own) if entry["type"] == MERGED
                         else redacted(entry, own, lambda address: email_hash(address) == link.requester)
                         for entry in found["timeline"]]
    asker = email_hash(found["request"]["requester"]["email"]) == link.requester
    found["link_may_withdraw"] = asker  # only the request's own requester withdraws it through a link
    if not asker:
        # The requester of a request merged into this one: the survivor's requester appears in the request and
        # in its events (submitted, classified, every card event), each time as a name, team and type only.
        found["request"] = _without_contact(found["request"])
        found["timeline"] = [{**entry, "data": _without_contact(entry.get("data") or {})}
                             for entry in found["timeline"]]
    return found


def _without_contact(value: Any) -> Any:
    """``value`` with every person in it (a ``Requester``: the only record with an ``email``) reduced to the
    name, team and type, at any depth."""
    if isinstance(value, dict):
        if "email" in value:
            return {k: value[k] for k in ("name", "team", "type") if k in value}
        return {k: _without_contact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_contact(item) for item in value]
    return value

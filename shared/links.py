"""Signed links: a person follows one request from the notices they receive, with no API key.

A link's token names one request and the requester it was made for (a hash of their email address, so
the token does not carry the address), and is signed with HMAC-SHA256 under a secret that intake and the
notifier share (``<SERVICE>_LINK_SECRET``). Intake accepts a token only for reading that one request (as
its requester tool would see it) and for withdrawing it; it grants nothing else. A token expires after
``ttl_s``: its signature carries the time it was made, checked against the ttl when it is read.

The signing is itsdangerous' (Pallets), the same serializer Flask's sessions use: constant-time
comparison, a salt so a token made here is no valid signature for another purpose, and a signed time.
Links carry the token in the URL's fragment (``/pages/mine#token=...``): a browser never sends a fragment
to a server, so tokens stay out of access logs and ``Referer`` headers; the page sends it in the
``X-Request-Link`` header.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

__all__ = ["LINK_HEADER", "LinkError", "LinkSigner", "RequestLink", "email_hash"]

LINK_HEADER = "X-Request-Link"
_SALT = "governance.request-link.v1"


class LinkError(Exception):
    """A token that is not ours, was altered, or has expired; ``expired`` tells which."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class RequestLink:
    """What a valid token grants: one request, for the requester it was made for."""

    request_id: str
    requester: str  # the email hash


def email_hash(email: str) -> str:
    """The requester as a token names them: not the address itself."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class LinkSigner:
    def __init__(self, secret: str, ttl_s: float) -> None:
        # Signed with SHA-256; a link signed before with itsdangerous' default (SHA-1) is still read until it
        # expires, so nobody's link stops working when this changes.
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256},
                                                  fallback_signers=[{"digest_method": hashlib.sha1}])
        self._ttl_s = ttl_s

    def token(self, request_id: str, email: str) -> str:
        return str(self._serializer.dumps({"r": request_id, "h": email_hash(email)}))

    def page_url(self, base_url: str, request_id: str, email: str) -> str:
        """The address of the request's own page on intake, for a notice."""
        return f"{base_url.rstrip('/')}/pages/mine#request={request_id}&token={self.token(request_id, email)}"

    def read(self, token: str) -> RequestLink:
        try:
            data = self._serializer.loads(token.strip(), max_age=int(self._ttl_s))
        except SignatureExpired as exc:
            raise LinkError("This link has expired; a newer notice has a fresh one.", expired=True) from exc
        except BadSignature as exc:
            raise LinkError("This link is not valid: it was changed or not made by this team.") from exc
        if not (isinstance(data, dict) and isinstance(data.get("r"), str) and isinstance(data.get("h"), str)):
            raise LinkError("This link is not valid: it names no request.")
        return RequestLink(request_id=data["r"], requester=data["h"])

"""Where webhooks may go: http(s) URLs whose host resolves only to public addresses.

Checked when a subscription is made and again before every send, and the send goes to the very
address that was checked (the host name travels in the Host header and TLS SNI), so a DNS answer
that changes in between (rebinding) cannot point a delivery at the notifier's own network.
Loopback, private, link-local, multicast, reserved and unspecified addresses are refused unless
the deployment allows private targets (tests and demos).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

__all__ = ["Target", "UnsafeTarget", "refusal", "resolve"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(Exception):
    """A URL the notifier will not send to; the message says why, for the caller."""


@dataclass(frozen=True)
class Target:
    """A URL pinned to one checked address; ``host`` goes in the Host header and TLS server name."""

    url: httpx.URL
    host: str
    netloc: str

    @property
    def extensions(self) -> dict[str, bytes]:
        return {"sni_hostname": self.host.encode("ascii")}


def refusal(address: IPAddress) -> str | None:
    """Why an address is not a public one, or None when it is."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if mapped is not None:
        return refusal(mapped)
    for kind in ("loopback", "unspecified", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def _parse(url: str) -> tuple[httpx.URL, str, int]:
    """The URL, its host as sent on the wire (IDNA) and its port; UnsafeTarget when it is no web address."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        port = parsed.port if parsed.port is not None else (443 if parsed.scheme == "https" else 80)  # 0 is no port
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise UnsafeTarget(f"{url!r} is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not host:
        raise UnsafeTarget("Only http and https URLs with a host name can receive webhooks.")
    if parsed.userinfo:
        raise UnsafeTarget("Put credentials in the signature secret, not in the URL.")
    if not 0 < port < 65536:
        raise UnsafeTarget(f"{port} is not a TCP port.")
    return parsed, host, port


async def resolve(url: str, *, allow_private: bool, timeout_s: float = 5.0) -> Target:
    """The URL pinned to its host's first address, after checking every address the host has."""
    parsed, host, port = _parse(url)
    try:
        async with asyncio.timeout(timeout_s):
            found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"The host {host} does not resolve: {exc.strerror}.") from exc
    except (UnicodeError, ValueError) as exc:
        raise UnsafeTarget(f"The host {host} is not a valid host name: {exc}.") from exc
    except TimeoutError as exc:
        raise UnsafeTarget(f"The host {host} did not resolve within {timeout_s:.0f} s.") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    if not addresses:
        raise UnsafeTarget(f"The host {host} does not resolve.")
    if not allow_private:
        for address in addresses:
            why = refusal(address)
            if why is not None:
                raise UnsafeTarget(f"The host {host} resolves to {address}, a {why} address; webhooks "
                                   "go only to public addresses.")
    return Target(url=parsed.copy_with(host=str(addresses[0])), host=host, netloc=parsed.netloc.decode("ascii"))

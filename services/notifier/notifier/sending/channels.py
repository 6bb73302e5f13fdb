"""The channels, each making one attempt and reporting how it went; none of them retries.

    Email     SMTP (aiosmtplib), to people, on sessions kept open between messages (smtp_pool); each
              send a span of the trace it continues, whose ``traceparent`` the message carries as a header
    Slack     a Slack incoming webhook: ``{"text": ...}`` in mrkdwn
    Webhooks  the event's CloudEvents JSON, signed per Standard Webhooks, to a subscription's URL

Every attempt is bounded by ``timeout_s`` in all (DNS, connect, TLS, the answer). Redirects are
not followed: a 3xx is a failed attempt.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.utils import format_datetime, formataddr

import aiosmtplib
import httpx
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from notifier.sending.smtp_pool import SmtpPool
from notifier.webhooks.targets import UnsafeTarget, resolve
from shared.observability.tracing import traceparent

__all__ = ["Attempt", "EmailChannel", "SlackChannel", "WebhookChannel", "signed_headers"]

USER_AGENT = "governance-notifier/1"


@dataclass(frozen=True)
class Attempt:
    at: datetime
    ok: bool
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    # No later attempt can do better (a refused recipient, a channel not configured).
    final: bool = False
    # The channel is not configured: nothing was sent, and nothing will be.
    skipped: bool = False

    def as_record(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "ok": self.ok, "status_code": self.status_code,
                "error": self.error, "duration_ms": self.duration_ms}


class _Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)
        self._start = time.monotonic()

    def ms(self) -> int:
        return round((time.monotonic() - self._start) * 1000)

    def ok(self, status_code: int | None = None) -> Attempt:
        return Attempt(self.at, True, self.ms(), status_code)

    def failed(self, error: str, status_code: int | None = None, *, final: bool = False) -> Attempt:
        return Attempt(self.at, False, self.ms(), status_code, error, final)

    def skipped(self, why: str) -> Attempt:
        return Attempt(self.at, False, 0, None, why, final=True, skipped=True)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    sender_name: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None


class EmailChannel:
    def __init__(self, server: SmtpServer | None, timeout_s: float, tracer: trace.Tracer | None = None) -> None:
        self._server = server
        self._timeout_s = timeout_s
        self._tracer = tracer or trace.get_tracer(__name__)
        self.pool = SmtpPool(server, timeout_s) if server is not None else None

    @property
    def configured(self) -> bool:
        return self._server is not None

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def send(self, *, to: str, subject: str, text: str, message_id: str) -> Attempt:
        clock = _Clock()
        server = self._server
        if server is None:
            return clock.skipped("no SMTP server configured (NOTIFIER_SMTP_HOST)")
        with self._tracer.start_as_current_span("smtp send", kind=trace.SpanKind.CLIENT, attributes={
                "server.address": server.host, "server.port": server.port}) as span:
            attempt = await self._attempt(server, clock, to=to, subject=subject, text=text, message_id=message_id)
            if not attempt.ok:
                span.set_status(StatusCode.ERROR, attempt.error)
            return attempt

    async def _attempt(self, server: SmtpServer, clock: _Clock, *, to: str, subject: str, text: str,
                       message_id: str) -> Attempt:
        try:
            message = _message(server, clock.at, to=to, subject=subject, text=text, message_id=message_id)
            assert self.pool is not None  # there is a server
            async with asyncio.timeout(self._timeout_s):
                await self.pool.send(message, sender=server.sender, to=to)
        except ValueError as exc:  # a header no retry can mend (a line break in an address, say)
            return clock.failed(_describe(exc), final=True)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return clock.failed(_describe(exc), final=all(r.code >= 500 for r in exc.recipients))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return clock.failed(_describe(exc))
        return clock.ok()


# The compat32 Message, not EmailMessage: the modern policy parses and refolds every header, several
# milliseconds a message (about 90% of building and flattening one), where plain headers do here. So the
# checks it made are made here: no line break in a header, and words outside ASCII encoded (RFC 2047).
_BODY = Charset("utf-8")
_BODY.body_encoding = QP  # readable as it travels, unlike base64


def _header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("header values may not contain linefeed or carriage return characters")
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()


def _message(server: SmtpServer, at: datetime, *, to: str, subject: str, text: str, message_id: str) -> Message:
    message = Message()
    message["From"] = _header("From", formataddr((server.sender_name, server.sender), "utf-8"))
    message["To"] = _header("To", to)
    message["Subject"] = _header("Subject", subject)
    message["Date"] = format_datetime(at)
    # The same Message-ID on a repeat, so a mailbox can tell it is the same message.
    message["Message-ID"] = _header("Message-ID", f"<{message_id}@{server.sender.rsplit('@', 1)[-1]}>")
    for name, value in traceparent().items():  # the send's span, as a webhook carries its post's
        message[name] = value
    message.set_payload(text, _BODY)
    return message


class SlackChannel:
    def __init__(self, url: SecretStr, client: httpx.AsyncClient, timeout_s: float) -> None:
        self._url = url  # its path is the webhook's token: kept out of reprs and logs
        self._client = client
        self._timeout_s = timeout_s

    async def send(self, text: str) -> Attempt:
        clock = _Clock()
        try:
            async with asyncio.timeout(self._timeout_s):
                answer = await self._client.post(self._url.get_secret_value(), json={"text": text},
                                                 follow_redirects=False)
        except (httpx.InvalidURL, ValueError) as exc:  # a malformed webhook URL: no retry can mend it
            return clock.failed(_describe(exc), final=True)
        except (httpx.HTTPError, TimeoutError) as exc:
            return clock.failed(_describe(exc))
        if answer.is_success:
            return clock.ok(answer.status_code)
        return clock.failed(f"HTTP {answer.status_code}: {answer.text[:200]}", answer.status_code)


def signed_headers(secret: str, webhook_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: a fresh timestamp and signature for each attempt."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


class WebhookChannel:
    def __init__(self, client: httpx.AsyncClient, timeout_s: float, *, allow_private: bool) -> None:
        self._client = client
        self._timeout_s = timeout_s
        self._allow_private = allow_private

    async def send(self, *, url: str, secret: str, webhook_id: str, body: str) -> Attempt:
        clock = _Clock()
        try:
            async with asyncio.timeout(self._timeout_s):
                target = await resolve(url, allow_private=self._allow_private)
                headers = {"content-type": "application/cloudevents+json", "user-agent": USER_AGENT,
                           "host": target.netloc, **signed_headers(secret, webhook_id, body, clock.at)}
                answer = await self._client.post(target.url, content=body.encode(), headers=headers,
                                                 extensions=target.extensions, follow_redirects=False)
        except UnsafeTarget as exc:
            return clock.failed(f"refused: {exc}")
        except (httpx.InvalidURL, ValueError) as exc:  # a malformed URL: no retry can mend it
            return clock.failed(_describe(exc), final=True)
        except (httpx.HTTPError, TimeoutError) as exc:
            return clock.failed(_describe(exc))
        if answer.is_success:
            return clock.ok(answer.status_code)
        return clock.failed(f"HTTP {answer.status_code}", answer.status_code)

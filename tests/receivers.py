"""Real servers on loopback for the notifier's channels: an HTTP receiver and an SMTP server.

``HttpReceiver`` records every request (raw body and headers) and answers with the statuses it
is given, in order, then ``default``; ``delay_s`` makes it a slow receiver. ``MailSink`` is an
aiosmtpd SMTP server that keeps every message it accepts, and answers "try again later" for the
addresses it is ``refusing``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() when the request had arrived
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HttpReceiver:
    def __init__(self, statuses: Iterable[int] = (), *, default: int = 200, delay_s: float = 0.0,
                 extra_headers: dict[str, str] | None = None) -> None:
        self.requests: list[Received] = []
        self._statuses = list(statuses)
        self._default = default
        self._delay_s = delay_s
        self._extra = extra_headers or {}
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    async def __aenter__(self) -> HttpReceiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Received(time.monotonic(), method, path, headers, body))
            status = self._statuses.pop(0) if self._statuses else self._default
            await asyncio.sleep(self._delay_s)
            extra = "".join(f"{k}: {v}\r\n" for k, v in self._extra.items())
            writer.write(f"HTTP/1.1 {status} Answer\r\nContent-Length: 0\r\n{extra}Connection: close\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        await _until(lambda: len(self.requests) >= count, timeout, lambda: f"{len(self.requests)} request(s)")
        return self.requests


@dataclass(frozen=True)
class Mail:
    at: float
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert isinstance(body, EmailMessage)
        return str(body.get_content()).replace("\r\n", "\n").strip()


class MailSink:
    """An SMTP server that keeps what it accepts; ``delay_s`` slows each message's acceptance."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.mail: list[Mail] = []
        self.refused: list[list[str]] = []  # the recipients of each message answered "try again later"
        self.refusing: set[str] = set()  # mail to these addresses is answered 451 (a temporary failure)
        self._delay_s = delay_s
        self._server: asyncio.Server | None = None
        self._sessions: list[SMTP] = []

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> MailSink:
        def session() -> SMTP:
            smtp = SMTP(self, hostname="localhost")
            self._sessions.append(smtp)
            return smtp

        self._server = await asyncio.get_running_loop().create_server(session, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for smtp in self._sessions:
            if smtp.transport is not None:
                smtp.transport.close()
        await self._server.wait_closed()
        await asyncio.sleep(0.05)  # let closed sessions finish their handlers

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self._delay_s)
        if self.refusing & set(envelope.rcpt_tos):
            self.refused.append(list(envelope.rcpt_tos))
            return "451 4.3.0 Try again later"
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mail.append(Mail(time.monotonic(), list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mail if address in m.to]

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Mail]:
        await _until(lambda: len(self.mail) >= count, timeout, lambda: f"{len(self.mail)} message(s)")
        return self.mail


async def _until(check: Callable[[], bool], timeout: float, seen: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s with {seen()}")
        await asyncio.sleep(0.02)

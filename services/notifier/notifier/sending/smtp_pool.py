"""SMTP sessions kept open between messages, as a mail client keeps them.

Opening a session costs a connection, the greeting, EHLO, and where configured STARTTLS and a login:
more than the message itself on a nearby relay, many times more over TLS. A session that sent a message
goes back to the pool for the next one. aiosmtplib sends well but keeps no pool, and a pool of SMTP
sessions is a few lines, so it is written here.

- At most ``size`` sessions are kept idle; more may be open at once (the dispatcher bounds concurrency).
- A session idle longer than ``check_after_s`` is asked NOOP before it is used again, and one idle longer
  than ``idle_s`` is closed unused: servers drop quiet clients (Postfix after 300 s).
- A session that failed in any way is closed, never reused; the attempt fails as it did without a pool
  (the dispatcher retries later). A message is never sent again here, so a pool adds no repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from email.message import Message
from typing import TYPE_CHECKING

import aiosmtplib

if TYPE_CHECKING:
    from notifier.sending.channels import SmtpServer

__all__ = ["SmtpPool"]


class SmtpPool:
    def __init__(self, server: SmtpServer, timeout_s: float, *, size: int = 8, check_after_s: float = 5.0,
                 idle_s: float = 60.0) -> None:
        self._server = server
        self._timeout_s = timeout_s
        self._size = size
        self._check_after_s = check_after_s
        self._idle_s = idle_s
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # the most recently used last
        self.opened = 0  # sessions opened so far (a gauge of how much the pool saves)

    async def send(self, message: Message, *, sender: str, to: str) -> None:
        """Send ``message`` from ``sender`` to ``to`` on a kept session, or a new one; raises what aiosmtplib
        raises."""
        session = await self._take()
        try:
            await session.send_message(message, sender=sender, recipients=[to])
        except BaseException:
            session.close()  # never reused after a failure of any kind
            raise
        self._give_back(session)

    async def close(self) -> None:
        """Say QUIT on every idle session."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._quit(session) for session, _ in idle))

    async def _take(self) -> aiosmtplib.SMTP:
        while self._idle:
            session, since = self._idle.pop()
            quiet = time.monotonic() - since
            if session.is_connected and quiet < self._idle_s:
                if quiet < self._check_after_s:
                    return session
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await session.noop()
                    return session
            session.close()
        return await self._open()

    async def _open(self) -> aiosmtplib.SMTP:
        server = self._server
        session = aiosmtplib.SMTP(hostname=server.host, port=server.port, start_tls=server.starttls,
                                  username=server.username, password=server.password, timeout=self._timeout_s)
        await session.connect()
        self.opened += 1
        return session

    def _give_back(self, session: aiosmtplib.SMTP) -> None:
        if session.is_connected and len(self._idle) < self._size:
            self._idle.append((session, time.monotonic()))
        else:
            session.close()

    async def _quit(self, session: aiosmtplib.SMTP) -> None:
        try:
            await session.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            session.close()

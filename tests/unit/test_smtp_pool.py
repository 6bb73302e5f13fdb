"""Email goes out on SMTP sessions kept open between messages, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio

from notifier.sending.channels import EmailChannel, SmtpServer
from tests.receivers import MailSink


def channel(sink: MailSink) -> EmailChannel:
    return EmailChannel(SmtpServer(host="127.0.0.1", port=sink.port, sender="requests@example.com",
                                   sender_name="Requests"), timeout_s=5.0)


async def test_messages_one_after_another_share_one_session() -> None:
    async with MailSink() as sink:
        email = channel(sink)
        attempts = [await email.send(to=f"p{n}@example.com", subject=f"S{n}", text="x", message_id=f"n-{n}")
                    for n in range(5)]
        await email.close()
    assert all(a.ok for a in attempts)
    assert [m.to for m in sink.mail] == [[f"p{n}@example.com"] for n in range(5)]
    assert email.pool is not None and email.pool.opened == 1


async def test_messages_at_once_open_a_session_each_and_keep_them() -> None:
    async with MailSink(delay_s=0.05) as sink:
        email = channel(sink)
        first = await asyncio.gather(*(email.send(to=f"p{n}@example.com", subject="S", text="x",
                                                  message_id=f"a-{n}") for n in range(4)))
        second = await asyncio.gather(*(email.send(to=f"q{n}@example.com", subject="S", text="x",
                                                   message_id=f"b-{n}") for n in range(4)))
        await email.close()
    assert all(a.ok for a in [*first, *second]) and len(sink.mail) == 8
    assert email.pool is not None and email.pool.opened == 4


async def test_a_session_the_server_dropped_is_replaced_and_the_message_goes_once() -> None:
    async with MailSink() as sink:
        email = channel(sink)
        assert (await email.send(to="a@example.com", subject="S", text="x", message_id="n-1")).ok
        for session in sink._sessions:  # the server drops its idle clients
            assert session.transport is not None
            session.transport.close()
        await asyncio.sleep(0.1)
        assert (await email.send(to="b@example.com", subject="S", text="x", message_id="n-2")).ok
        await email.close()
    assert [m.to for m in sink.mail] == [["a@example.com"], ["b@example.com"]]
    assert email.pool is not None and email.pool.opened == 2


async def test_a_refused_message_fails_its_attempt_and_its_session_is_not_reused() -> None:
    async with MailSink() as sink:
        sink.refusing = {"busy@example.com"}
        email = channel(sink)
        refused = await email.send(to="busy@example.com", subject="S", text="x", message_id="n-1")
        sent = await email.send(to="free@example.com", subject="S", text="x", message_id="n-2")
        await email.close()
    assert not refused.ok and not refused.final and "451" in (refused.error or "")
    assert sent.ok and [m.to for m in sink.mail] == [["free@example.com"]] and len(sink.refused) == 1
    assert email.pool is not None and email.pool.opened == 2

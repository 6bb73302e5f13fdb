"""An email as it leaves: words outside ASCII survive the trip, and no header can be split into two."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from aiosmtplib.email import flatten_message

from notifier.sending.channels import SmtpServer, _message

SERVER = SmtpServer("localhost", 25, "team@example.com", "Équipe marketing")
AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def received(**fields: str) -> EmailMessage:
    sent = _message(SERVER, AT, **{"to": "ana@example.com", "subject": "Scheduled", "text": "Hello.",
                                   "message_id": "n-1", **fields})
    parsed = email.message_from_bytes(flatten_message(sent), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_words_outside_ascii_arrive_as_written() -> None:
    subject = "Café launch: a landing page für Globex, scheduled for the week of 7 December, in Lisbon"
    got = received(subject=subject, text="Olá Ana,\n\nyour request is scheduled.\n")
    assert got["Subject"] == subject
    assert got["From"] == "Équipe marketing <team@example.com>" and got["To"] == "ana@example.com"
    assert got["Message-ID"] == "<n-1@example.com>" and got["Date"] == "Wed, 02 Dec 2026 09:30:00 +0000"
    assert got.get_content() == "Olá Ana,\n\nyour request is scheduled.\n"


@pytest.mark.parametrize("field", ["to", "subject", "message_id"])
def test_a_line_break_in_a_header_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        received(**{field: "ana@example.com\r\nBcc: everyone@example.com"})

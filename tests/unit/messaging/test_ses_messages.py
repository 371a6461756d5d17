"""The messages SES makes: headers it refuses or replaces, charsets, attachments, and a raw message's Date and Message-ID."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest

from sluiceway.messaging.ses_messages import Attachment, Formatted, MessageFormatError, build_message, replace_identity_headers

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ID = "0000018f2e8a0000-6f1c7f4e-1111-2222-3333-444455556666-000000"


def _parsed(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize(
    "formatted",
    [
        Formatted(source="a@b.example", subject="hi\r\nBcc: v@evil.example"),
        Formatted(source="a@b.example", to=["x@b.example\r\nBcc: v@evil.example"]),
        Formatted(source="a@b.example", reply_to=["r@b.example\nX-Evil: 1"]),
        Formatted(source="a@b.example", headers=[("X-A", "1\r\nBcc: v@evil.example")]),
        Formatted(source="a@b.example", headers=[("From", "boss@other.example")]),
        Formatted(source="a@b.example", headers=[("Subject", "two")]),
        Formatted(source="a@b.example", text="b", charset="nonsense-xx"),
        Formatted(source="a@b.example", text="héllo", charset="us-ascii"),
    ],
)
def test_what_cannot_make_a_message_is_refused(formatted: Formatted) -> None:
    with pytest.raises(MessageFormatError):
        build_message(formatted, message_id=ID, date=WHEN)


def test_a_given_date_and_message_id_are_replaced_not_added() -> None:
    given = [("Date", "Mon, 1 Jan 2001 00:00:00 +0000"), ("Message-ID", "<mine@x.example>"), ("X-Run", "7")]
    parsed = _parsed(build_message(Formatted(source="a@b.example", text="t", headers=given), message_id=ID, date=WHEN))
    assert parsed.get_all("Date") == ["Wed, 01 May 2024 12:00:00 +0000"]
    assert parsed.get_all("Message-ID") == [f"<{ID}@email.amazonses.com>"]
    assert parsed["X-Run"] == "7"


def test_attachments_make_a_mixed_message() -> None:
    formatted = Formatted(
        source="a@b.example",
        text="see attached",
        html="<p>see</p>",
        attachments=[
            Attachment(b"%PDF-1\x00\xff", "report.pdf", "application/pdf"),
            Attachment(b"logo", "logo.png", "image/png", disposition="INLINE", content_id="logo1"),
            Attachment(b"a=b\n", "notes.txt", "text/plain", transfer_encoding="QUOTED_PRINTABLE"),
        ],
    )
    parsed = _parsed(build_message(formatted, message_id=ID, date=WHEN))
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed.get_body(("plain",)).get_content().strip() == "see attached"  # type: ignore[union-attr]
    found = {part.get_filename(): part for part in parsed.iter_attachments()}
    assert found["report.pdf"].get_content() == b"%PDF-1\x00\xff"
    assert found["report.pdf"]["Content-Disposition"].startswith("attachment")
    assert found["logo.png"]["Content-ID"] == "<logo1>" and found["logo.png"]["Content-Disposition"].startswith("inline")
    assert found["notes.txt"]["Content-Transfer-Encoding"] == "quoted-printable"
    assert found["notes.txt"].get_content().strip() == "a=b"


def test_a_raw_message_gets_ses_date_and_message_id() -> None:
    raw = b"From: a@b.example\r\nMessage-ID: <mine@x.example>\r\nDate: Mon, 1 Jan 2001\r\n  00:00:00 +0000\r\nSubject: s\r\n\r\nbody\r\n"
    stamped = replace_identity_headers(raw, message_id=ID, date=WHEN)
    parsed = _parsed(stamped)
    assert parsed.get_all("Message-ID") == [f"<{ID}@email.amazonses.com>"]
    assert parsed.get_all("Date") == ["Wed, 01 May 2024 12:00:00 +0000"]
    assert parsed["Subject"] == "s" and stamped.endswith(b"\r\n\r\nbody\r\n")

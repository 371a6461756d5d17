"""The RFC 5322 message SES makes of a formatted send (SendEmail, a rendered template): pure.

Bcc recipients are in the envelope only, never in a header; the Message-ID is SES's
``<message-id@email.amazonses.com>``. A text and an HTML body make a ``multipart/alternative``.
The caller passes the date and the id in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

__all__ = ["Formatted", "build_message"]

SES_MESSAGE_DOMAIN = "email.amazonses.com"


@dataclass(frozen=True)
class Formatted:
    """A formatted message's parts, as SendEmail takes them."""

    source: str
    to: Sequence[str] = ()
    cc: Sequence[str] = ()
    reply_to: Sequence[str] = ()
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    charset: str = "utf-8"
    headers: Sequence[tuple[str, str]] = field(default_factory=tuple)
    """Extra headers (v2's Headers), in order."""
    return_path: str | None = None


def build_message(message: Formatted, *, message_id: str, date: datetime) -> bytes:
    """The message's bytes (CRLF line ends, as SMTP carries them)."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = message.source
    if message.to:
        mail["To"] = ", ".join(message.to)
    if message.cc:
        mail["Cc"] = ", ".join(message.cc)
    if message.reply_to:
        mail["Reply-To"] = ", ".join(message.reply_to)
    if message.return_path:
        mail["Return-Path"] = message.return_path
    mail["Subject"] = message.subject or ""
    mail["Date"] = format_datetime(date)
    mail["Message-ID"] = f"<{message_id}@{SES_MESSAGE_DOMAIN}>"
    for name, value in message.headers:
        mail[name] = value
    charset = message.charset or "utf-8"
    if message.text is not None:
        mail.set_content(message.text, subtype="plain", charset=charset)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html", charset=charset)
    elif message.html is not None:
        mail.set_content(message.html, subtype="html", charset=charset)
    else:
        mail.set_content("", subtype="plain", charset=charset)
    return mail.as_bytes()

"""The RFC 5322 message SES makes of a formatted send (SendEmail, a rendered template): pure.

Bcc recipients are in the envelope only, never in a header; the Message-ID is SES's
``<message-id@email.amazonses.com>``. A text and an HTML body make a ``multipart/alternative``;
attachments (v2's ``Attachments``) wrap it in a ``multipart/mixed``. The caller passes the date
and the id in. A message that cannot be made (a charset Python does not know, a body its charset
cannot carry, a header value that would break the header section) raises
:class:`MessageFormatError`, which each API maps to its refusal.
"""

from __future__ import annotations

import base64
import quopri
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final

__all__ = ["Attachment", "Formatted", "MessageFormatError", "build_message", "check_header_value", "replace_identity_headers"]

SES_MESSAGE_DOMAIN = "email.amazonses.com"
#: Headers SES sets itself: one a caller gives is replaced, not added (SES's "header fields" page).
_SES_OWNED: Final = frozenset({"date", "message-id"})
#: Headers that may appear only once (SES's "header fields" page); those of them this module
#: writes itself cannot be given again as extra headers.
_WRITTEN_ONCE: Final = frozenset(
    {"from", "to", "cc", "reply-to", "subject", "return-path", "mime-version", "content-type", "content-transfer-encoding"}
)


class MessageFormatError(ValueError):
    """The send's parts cannot make a message (SES refuses it: the text is its reason)."""


@dataclass(frozen=True)
class Attachment:
    """One of v2's attachments, as SendEmail takes it."""

    raw: bytes
    file_name: str
    content_type: str | None = None
    """The MIME type; guessed as ``application/octet-stream`` when not given."""
    disposition: str = "ATTACHMENT"
    """``ATTACHMENT`` or ``INLINE``."""
    content_id: str | None = None
    description: str | None = None
    transfer_encoding: str = "BASE64"
    """``BASE64``, ``QUOTED_PRINTABLE`` or ``SEVEN_BIT``."""


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
    attachments: Sequence[Attachment] = field(default_factory=tuple)


def check_header_value(name: str, value: str) -> None:
    """Refuse a value that would end its header early (CR or LF) or another control character."""
    if any(ord(c) < 32 and c != "\t" or ord(c) == 127 for c in value):
        raise MessageFormatError(f"Header {name} contains a line break or a control character.")


def build_message(message: Formatted, *, message_id: str, date: datetime) -> bytes:
    """The message's bytes (CRLF line ends, as SMTP carries them).

    Raises:
        MessageFormatError: the parts cannot make a message (see the module docstring).
    """
    try:
        return _build(message, message_id, date)
    except MessageFormatError:
        raise
    except LookupError:
        raise MessageFormatError(f"Unknown charset: {message.charset}") from None
    except UnicodeError:
        raise MessageFormatError(f"The message cannot be encoded in the charset {message.charset}.") from None


def _build(message: Formatted, message_id: str, date: datetime) -> bytes:
    mail = EmailMessage(policy=policy.SMTP)
    _set(mail, "From", message.source)
    if message.to:
        _set(mail, "To", ", ".join(message.to))
    if message.cc:
        _set(mail, "Cc", ", ".join(message.cc))
    if message.reply_to:
        _set(mail, "Reply-To", ", ".join(message.reply_to))
    if message.return_path:
        _set(mail, "Return-Path", message.return_path)
    _set(mail, "Subject", message.subject or "")
    mail["Date"] = format_datetime(date)
    mail["Message-ID"] = f"<{message_id}@{SES_MESSAGE_DOMAIN}>"
    for name, value in message.headers:
        lowered = name.lower()
        if lowered in _SES_OWNED:
            continue  # SES writes its own Date and Message-ID over the caller's
        if lowered in _WRITTEN_ONCE:
            raise MessageFormatError(f"Header {name} can appear only once in a message.")
        _set(mail, name, value)
    charset = message.charset or "utf-8"
    "".encode(charset)  # an unknown charset is refused before any part is made (LookupError)
    body = mail if not message.attachments else EmailMessage(policy=policy.SMTP)
    if message.text is not None:
        body.set_content(message.text, subtype="plain", charset=charset)
        if message.html is not None:
            body.add_alternative(message.html, subtype="html", charset=charset)
    elif message.html is not None:
        body.set_content(message.html, subtype="html", charset=charset)
    else:
        body.set_content("", subtype="plain", charset=charset)
    if message.attachments:
        mail.make_mixed()
        mail.attach(body)
        for attachment in message.attachments:
            mail.attach(_attachment(attachment))
    return mail.as_bytes()


def _set(mail: EmailMessage, name: str, value: str) -> None:
    check_header_value(name, value)
    try:
        mail[name] = value
    except ValueError as exc:  # a value the header's parser refuses (an address it cannot read)
        raise MessageFormatError(f"Invalid header {name}: {exc}") from None


def _attachment(given: Attachment) -> EmailMessage:
    part = EmailMessage(policy=policy.SMTP)
    content_type = given.content_type or "application/octet-stream"
    maintype, _, subtype = content_type.partition("/")
    if not subtype or any(c.isspace() for c in content_type):
        raise MessageFormatError(f"Invalid attachment content type: {content_type}")
    check_header_value("Content-Type", content_type)
    check_header_value("Content-Disposition", given.file_name)
    encoding = given.transfer_encoding
    if encoding == "SEVEN_BIT":
        if any(b > 127 for b in given.raw):
            raise MessageFormatError(f"Attachment {given.file_name} is not 7-bit ASCII.")
        payload, cte = given.raw.decode("ascii"), "7bit"
    elif encoding == "QUOTED_PRINTABLE":
        payload, cte = quopri.encodestring(given.raw).decode("ascii"), "quoted-printable"
    else:
        payload, cte = base64.encodebytes(given.raw).decode("ascii"), "base64"
    part.set_payload(payload)
    part["Content-Type"] = content_type
    part["Content-Transfer-Encoding"] = cte
    disposition = "inline" if given.disposition == "INLINE" else "attachment"
    part.add_header("Content-Disposition", disposition, filename=given.file_name)
    if given.content_id:
        check_header_value("Content-ID", given.content_id)
        part["Content-ID"] = given.content_id if given.content_id.startswith("<") else f"<{given.content_id}>"
    if given.description:
        check_header_value("Content-Description", given.description)
        part["Content-Description"] = given.description
    return part


def replace_identity_headers(raw: bytes, *, message_id: str, date: datetime) -> bytes:
    """A raw message with SES's own Message-ID and Date in place of the caller's (SendRawEmail's rule).

    Only the header section is rewritten; the body's bytes are kept as given. Header lines of
    other fields (and their folded continuations) are kept in order.
    """
    end = _header_end(raw)
    head, body = raw[:end], raw[end:]
    newline = b"\r\n" if b"\r\n" in head or not head else b"\n"
    kept: list[bytes] = []
    skipping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skipping = name in (b"date", b"message-id")
        if not skipping:
            kept.append(line)
    stamped = [
        b"Date: " + format_datetime(date).encode("ascii") + newline,
        b"Message-ID: <" + message_id.encode("ascii") + b"@" + SES_MESSAGE_DOMAIN.encode("ascii") + b">" + newline,
    ]
    if kept and not kept[-1].endswith(b"\n"):
        kept[-1] += newline
    return b"".join(kept + stamped) + body


def _header_end(raw: bytes) -> int:
    """Where the header section ends (the blank line stays with the body); the whole of a message without a body."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(separator)
        if at != -1:
            return at + len(separator) // 2
    return len(raw)

"""The messages SES accepted: one ``.eml`` file each under ``<data>/ses/``, and a row in ``ses_messages``.

A message is *captured* before its send is answered: the file is written whole (a temporary
file renamed into place) and then its row is committed, so a message the caller was given an id
for is always on disk. The row also carries the message's relay to the configured SMTP server
(``relay`` ``pending``): it is the durable side of a delivery loop (see
:mod:`sluiceway.runtime.messaging.ses_relay`), claimed, attempted and recorded like topic
deliveries, and a failed relay never touches the captured copy.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ...ports import Clock
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["CapturedMessage", "SqliteMailbox"]

_MESSAGE_ID: Final = re.compile(r"^[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$")
_COLUMNS: Final = (
    "id, message_id, region, operation, source, recipients, subject, status, error, file, created_ms, relay, attempts, last_error"
)


@dataclass(frozen=True)
class CapturedMessage:
    """One accepted message (a row of ``ses_messages``)."""

    id: int
    message_id: str
    region: str
    operation: str
    """The API call that sent it: ``SendEmail``, ``SendRawEmail``, ``SendTemplatedEmail``..."""
    source: str
    recipients: tuple[str, ...]
    """The envelope's recipients (To, Cc and Bcc, or a raw message's Destinations)."""
    subject: str | None
    status: str
    """``captured``, or ``render-failed``: a template that could not be rendered (no file then)."""
    error: str | None
    file: str | None
    """The ``.eml`` file's name under the mailbox folder."""
    created_ms: int
    relay: str
    """``pending`` (the SMTP server has yet to take it), ``sent``, ``rejected``, ``failed`` or ``none``."""
    attempts: int
    last_error: str | None

    @classmethod
    def from_row(cls, row: tuple[object, ...]) -> CapturedMessage:
        values = list(row)
        values[5] = tuple(json.loads(str(values[5])))
        return cls(*values)  # type: ignore[arg-type]


class SqliteMailbox:
    """The captured messages: files under ``folder``, rows in ``db``; also a delivery log for the relay.

    Args:
        db: the state database.
        folder: where the ``.eml`` files go (``<data>/ses``).
        clock: the time.
    """

    def __init__(self, db: Database, folder: Path, clock: Clock) -> None:
        self.db = db
        self.folder = folder
        self.clock = clock

    def capture(
        self,
        *,
        message_id: str,
        region: str,
        operation: str,
        source: str,
        recipients: tuple[str, ...],
        subject: str | None,
        raw: bytes | None,
        error: str | None = None,
        relay: bool,
    ) -> CapturedMessage:
        """Keep one accepted message: its file (when ``raw`` is given) and then its row.

        Args:
            message_id: the id SES answered with (it names the file, so its form is checked).
            raw: the RFC 5322 message; None for a message that failed to render (``error`` says why).
            relay: queue it for the SMTP server.

        Raises:
            ValueError: ``message_id`` is not of SES's form.
        """
        if not _MESSAGE_ID.match(message_id):
            raise ValueError(f"not an SES message id: {message_id!r}")
        name = None
        if raw is not None:
            name = f"{message_id}.eml"
            self._write(name, raw)
        now = self.clock.now()
        status = "captured" if raw is not None else "render-failed"
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO ses_messages (message_id, region, operation, source, recipients, subject, status, error, file,"
                " created_ms, relay, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    region,
                    operation,
                    source,
                    json.dumps(list(recipients)),
                    subject,
                    status,
                    error,
                    name,
                    int(now.timestamp() * 1000),
                    "pending" if relay and raw is not None else "none",
                    now.timestamp(),
                    _stamp(now),
                ),
            )
            row_id = cursor.lastrowid
        found = self._row("id = ?", row_id)
        assert found is not None
        return found

    def message(self, message_id: str) -> CapturedMessage | None:
        return self._row("message_id = ?", message_id)

    def messages(self, *, limit: int = 100) -> list[CapturedMessage]:
        """The newest ``limit`` messages, newest first."""
        rows = self.db.connection().execute(f"SELECT {_COLUMNS} FROM ses_messages ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [CapturedMessage.from_row(r) for r in rows]

    def raw(self, message: CapturedMessage) -> bytes:
        """The message's ``.eml`` bytes. Raises FileNotFoundError for a message without a file."""
        if message.file is None:
            raise FileNotFoundError(f"message {message.message_id} has no file (status {message.status})")
        return (self.folder / message.file).read_bytes()

    def sent_since(self, region: str, since_ms: int) -> int:
        """How many recipients the region's messages accepted since ``since_ms`` went to (GetSendQuota counts them)."""
        rows = self.db.connection().execute(
            "SELECT recipients FROM ses_messages WHERE region = ? AND created_ms >= ? AND status = 'captured'", (region, since_ms)
        )
        return sum(len(json.loads(r[0])) for r in rows)

    # -- the relay's delivery log ---------------------------------------------------------------

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[CapturedMessage]:
        rows = (
            self.db.connection()
            .execute(
                f"SELECT {_COLUMNS} FROM ses_messages WHERE relay = 'pending' AND next_attempt_at <= ? AND id > ? ORDER BY id LIMIT ?",
                (now.timestamp(), after_id, limit),
            )
            .fetchall()
        )
        return [CapturedMessage.from_row(r) for r in rows]

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        with self.db.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE ses_messages SET next_attempt_at = ?, updated_at = ?, claimed_by = ?"
                    " WHERE id = ? AND relay = 'pending' AND next_attempt_at <= ?",
                    (until.timestamp(), _stamp(now), self.db.owner.id, delivery_id, now.timestamp()),
                ).rowcount
                == 1
            )

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        now = self.clock.now()
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE ses_messages SET relay = ?, attempts = ?, next_attempt_at = ?, last_error = coalesce(?, last_error),"
                " updated_at = ?, claimed_by = NULL WHERE id = ? AND relay = 'pending'",
                (status, attempts, (next_attempt_at or now).timestamp(), error, _stamp(now), delivery_id),
            )

    def release_orphans(self) -> int:
        now = self.clock.now()
        owners = [
            r[0]
            for r in self.db.connection().execute(
                "SELECT DISTINCT claimed_by FROM ses_messages WHERE relay = 'pending' AND claimed_by IS NOT NULL AND next_attempt_at > ?",
                (now.timestamp(),),
            )
        ]
        released = 0
        for owner in owners:
            if self.db.owner.alive(owner):
                continue
            with self.db.transaction() as conn:
                released += conn.execute(
                    "UPDATE ses_messages SET next_attempt_at = ?, claimed_by = NULL WHERE relay = 'pending' AND claimed_by = ?",
                    (now.timestamp(), owner),
                ).rowcount
        if released:
            logger.warning("claims of a stopped process released", extra={"deliveries": released, "of": "ses relay"})
        return released

    # -- helpers --------------------------------------------------------------------------------

    def _row(self, where: str, value: object) -> CapturedMessage | None:
        row = self.db.connection().execute(f"SELECT {_COLUMNS} FROM ses_messages WHERE {where}", (value,)).fetchone()
        return CapturedMessage.from_row(row) if row else None

    def _write(self, name: str, raw: bytes) -> None:
        """Write ``name`` whole or not at all: a fresh partial file (never one already there, nor a
        link planted in its place), synced, renamed into place, and the rename synced with the folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / name
        partial = self.folder / f".{name}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        _sync_folder(self.folder)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # Windows cannot open a folder; its renames are durable as they are
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")

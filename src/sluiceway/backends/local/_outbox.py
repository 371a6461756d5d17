"""The ``outbox`` subscriber's two stores: the ``outbox`` table and ``outbox.jsonl``.

The table row is written in the publish transaction (:func:`insert_row`, idempotent
by message id), so the message is there when ``publish`` returns. The file gets one
whole JSON line per message (:class:`OutboxFile`), for ``tail -f``: a line torn by a
crash is closed off, never glued onto, and a delivery made again after a crash does
not write its line twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Final

from ...messaging.sns import PublishedMessage

__all__ = ["OUTBOX_ENDPOINT", "OutboxFile", "insert_row"]

OUTBOX_ENDPOINT: Final = "outbox"
"""The endpoint of every ``outbox`` subscription (there is one outbox per data directory)."""

_TAIL_BYTES = 4 * 1024 * 1024


def insert_row(conn: sqlite3.Connection, message: PublishedMessage) -> None:
    """Add ``message`` to the ``outbox`` table in ``conn``'s transaction, unless it is there."""
    conn.execute(
        "INSERT OR IGNORE INTO outbox (message_id, topic, subject, message, attributes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            message.message_id,
            message.published_as or message.topic,
            message.subject,
            message.message,
            json.dumps({k: a.value for k, a in message.attributes.items()}),
            message.timestamp.isoformat(),
        ),
    )


class OutboxFile:
    """``outbox.jsonl``: one JSON object per message. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, message: PublishedMessage, *, again: bool) -> bool:
        """Append ``message``'s line; False if ``again`` and the line is already there.

        Args:
            again: the delivery may have been made before (by a process that died before
                recording it), so look for its line first.
        """
        line = json.dumps(
            {
                "message_id": message.message_id,
                "timestamp": message.timestamp.isoformat(),
                "topic": message.published_as or message.topic,
                "subject": message.subject,
                "body": message.message,
                "attributes": {k: a.value for k, a in message.attributes.items()},
            }
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if again and _written_lately(self.path, message.message_id):
                return False
            _append_line(self.path, line)
        return True


def _append_line(path: Path, line: str) -> None:
    """Append one JSON line whole: a line torn by a crash before it is closed off, never glued onto."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        size = os.fstat(fd).st_size
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        data = ("\n" if torn else "").encode() + (line + "\n").encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def _written_lately(path: Path, message_id: str) -> bool:
    """Whether the last few MiB of the outbox file hold a line for ``message_id``.

    A delivery is made again only when its process died between writing the line and
    recording the delivery, moments before: its line, if any, is near the end.
    """
    needle = f'"message_id": "{message_id}"'.encode()
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - _TAIL_BYTES))
            return needle in f.read()
    except FileNotFoundError:
        return False

"""Which queues exist and how they are configured: rows of the ``queues`` table as :class:`QueueConfig`.

Every queue operation starts by looking its queue up inside its own transaction, so
the lookup is cached by the whole row: a queue deleted and created again, or any
attribute changed, reads as a new entry.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ...messaging.errors import QueueDoesNotExistError
from ...messaging.queue import QueueConfig
from ...messaging.redrive import RedrivePolicy

__all__ = ["QueueCatalog", "QueueRow"]

_QUEUE_SQL = (
    "SELECT id, name, fifo, content_based_dedup, visibility_timeout_s, retention_s, delay_s,"
    " receive_wait_s, dead_letter_queue, max_receive_count, created_at, max_message_bytes"
    " FROM queues WHERE name = ?"
)


@dataclass(frozen=True)
class QueueRow:
    """A queue as its messages refer to it: the row id, its configuration, its creation time."""

    id: int
    config: QueueConfig
    created_at: float
    """Seconds since the epoch."""


class QueueCatalog:
    """Looks queues up by name in a caller's connection. Thread-safe (the cache only ever gains rows)."""

    def __init__(self) -> None:
        self._queues: dict[tuple[Any, ...], QueueRow] = {}

    def find(self, conn: sqlite3.Connection, name: str) -> QueueRow | None:
        """The queue named ``name``, or None."""
        row = conn.execute(_QUEUE_SQL, (name,)).fetchone()
        if row is None:
            return None
        key = tuple(row)
        cached = self._queues.get(key)
        if cached is None:
            policy = RedrivePolicy(row[8], row[9]) if row[8] is not None else None
            config = QueueConfig(
                name=row[1],
                fifo=bool(row[2]),
                content_based_dedup=bool(row[3]),
                visibility_timeout_s=row[4],
                retention_s=row[5],
                delay_s=row[6],
                receive_wait_s=row[7],
                redrive_policy=policy,
                max_message_bytes=row[11],
            )
            cached = self._queues[key] = QueueRow(id=row[0], config=config, created_at=row[10])
        return cached

    def must(self, conn: sqlite3.Connection, name: str) -> QueueRow:
        """The queue named ``name``.

        Raises:
            NotFoundError: no such queue (SQS's QueueDoesNotExist text).
        """
        q = self.find(conn, name)
        if q is None:
            raise QueueDoesNotExistError(f"The specified queue does not exist: {name}")
        return q

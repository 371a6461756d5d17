"""The local event bus's durable side: events committed to SQLite before they are acknowledged."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from ...events.envelope import object_event_key
from ...ports import Clock
from ...types import EventDict
from ._sqlite import Database

logger = logging.getLogger(__name__)


class SqliteEventBus:
    """An :class:`~sluiceway.ports.EventPublisher` whose events wait in SQLite for delivery.

    An S3 object event is recorded once per write (its identity comes from
    :func:`~sluiceway.events.envelope.object_event_key`): the same write reported
    twice, by the writer and by the folder watcher, is stored once.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def put_events(self, entries: Sequence[EventDict]) -> list[str]:
        ids: list[str] = []
        now = self.clock.now().isoformat()
        with self.db.transaction() as conn:
            for entry in entries:
                event = dict(entry)
                event.setdefault("id", str(uuid.uuid4()))
                dedupe = object_event_key(event)
                if dedupe is not None:
                    row = conn.execute("SELECT event_id FROM events WHERE dedupe_key=?", (dedupe,)).fetchone()
                    if row is not None:
                        ids.append(row["event_id"])
                        continue
                conn.execute(
                    "INSERT INTO events (event_id, dedupe_key, body, created_at) VALUES (?, ?, ?, ?)",
                    (event["id"], dedupe, json.dumps(event, separators=(",", ":")), now),
                )
                ids.append(event["id"])
        return ids

    def seen(self, event: EventDict) -> bool:
        """Whether this object event (same write) was already recorded."""
        dedupe = object_event_key(event)
        if dedupe is None:
            return False
        row = self.db.connection().execute("SELECT 1 FROM events WHERE dedupe_key=?", (dedupe,)).fetchone()
        return row is not None

    def pending(self, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
        """Events not yet delivered, oldest first."""
        rows = self.db.connection().execute(
            "SELECT seq, body FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT ?", (limit,)
        )
        return [(int(r["seq"]), json.loads(r["body"])) for r in rows]

    def mark_delivered(self, seq: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE events SET delivered_at=? WHERE seq=?", (self.clock.now().isoformat(), seq))

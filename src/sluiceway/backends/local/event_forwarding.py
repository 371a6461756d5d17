"""Events one local bus sends on to another (an event bus target), stored in the bus's log.

A forwarded event keeps its id (as on AWS), and the bus's log keeps event ids unique
across buses; so the forwarded copy is stored under a key of the delivery that sent it
(:func:`~sluiceway.events.forwarding.forward_key`), its body holding the event's own id.
That key also makes the forward exactly once: a delivery made again after a crash finds
its copy stored and stores nothing. Whether an event on a bus came from another bus is
then a lookup: the bus holds it under its own id only when it was put there directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from ...errors import NotFoundError
from ...observability.propagation import current_traceparent
from ...ports import Clock
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["SqliteEventForwarding"]


class SqliteEventForwarding:
    """Stores forwarded events in the local bus's log (``SqliteEventBus``'s tables), for its router to route."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def forward(self, event: Mapping[str, Any], *, bus: str, key: str) -> bool:
        """Commit ``event`` to ``bus`` under ``key``, unless a copy under ``key`` is stored already.

        Returns:
            Whether it was stored now (False: an earlier attempt of the same delivery stored it).

        Raises:
            NotFoundError: no such bus.
        """
        now = self.clock.now().astimezone(UTC).isoformat(timespec="microseconds")
        trace_parent = current_traceparent()
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM event_buses WHERE name=?", (bus,)).fetchone() is None:
                raise NotFoundError(f"Event bus {bus} does not exist.")
            cursor = conn.execute(
                "INSERT OR IGNORE INTO events (event_id, dedupe_key, body, created_at, bus) VALUES (?, NULL, ?, ?, ?)",
                (key, json.dumps(dict(event), separators=(",", ":")), now, bus),
            )
            if not cursor.rowcount:
                return False
            if trace_parent is not None:
                # The receiving bus's deliveries continue the trace, as those of a put event do.
                conn.execute(
                    "INSERT OR REPLACE INTO event_trace_contexts (seq, trace_parent) VALUES (?, ?)",
                    (int(cursor.lastrowid or 0), trace_parent),
                )
        return True

    def put_directly(self, event_id: str, bus: str) -> bool:
        """Whether ``bus`` holds event ``event_id`` under its own id: put on it, not forwarded from another bus."""
        row = self.db.connection().execute("SELECT 1 FROM events WHERE event_id=? AND bus=?", (event_id, bus)).fetchone()
        return row is not None

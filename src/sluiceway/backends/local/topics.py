"""Topics on SQLite: every published message is committed to the outbox table,
then appended to a JSON-lines file (one message per line) and logged.

The SQLite row is the durable record; the JSON-lines file is a convenience for
people and tools (``tail -f outbox.jsonl``) and can be rebuilt from the table.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path

from ...ports import Clock, TopicMessage
from ._sqlite import Database

logger = logging.getLogger(__name__)


class SqliteTopic:
    """A :class:`~sluiceway.ports.Topic` whose only subscriber, for now, is the outbox."""

    def __init__(self, db: Database, outbox_path: str | Path, clock: Clock) -> None:
        self.db = db
        self.outbox_path = Path(outbox_path)
        self.clock = clock
        self._lock = threading.Lock()

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        if not isinstance(message, str):
            raise TypeError("message must be a string")
        message_id = str(uuid.uuid4())
        now = self.clock.now().isoformat()
        attrs = dict(attributes or {})
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO outbox (message_id, topic, subject, message, attributes, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (message_id, topic, subject, message, json.dumps(attrs), now),
            )
        line = json.dumps(
            {"message_id": message_id, "timestamp": now, "topic": topic, "subject": subject, "body": message, "attributes": attrs}
        )
        with self._lock:
            self.outbox_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.outbox_path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        logger.info("notification published", extra={"topic": topic, "subject": subject, "message_id": message_id, "body": message})
        return message_id

    def messages(self, topic: str | None = None, *, limit: int = 1000) -> list[TopicMessage]:
        """Published messages, oldest first (for the CLI, the API and tests)."""
        from datetime import datetime

        sql = "SELECT * FROM outbox"
        params: tuple[object, ...] = ()
        if topic is not None:
            sql += " WHERE topic = ?"
            params = (topic,)
        sql += " ORDER BY seq LIMIT ?"
        params += (limit,)
        return [
            TopicMessage(
                topic=r["topic"],
                message=r["message"],
                message_id=r["message_id"],
                timestamp=datetime.fromisoformat(r["created_at"]),
                subject=r["subject"],
                attributes=json.loads(r["attributes"]),
            )
            for r in self.db.connection().execute(sql, params)
        ]

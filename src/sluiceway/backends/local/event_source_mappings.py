"""Lambda event source mappings made through the API (CreateEventSourceMapping), kept across restarts.

A mapping is kept in ``lambda.db`` beside the API-made functions, as the configuration Lambda
reports for it (its ``UUID``, ``EventSourceArn``, ``FunctionArn``, ``BatchSize``...) with
whether it is enabled and its tags. The running stack's pollers are made from these records
when the endpoint starts, so a mapping outlives a restart; what a mapping has consumed (a
stream's checkpoint) is kept by the poller's own store under the same UUID.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConflictError, NotFoundError
from ._sqlite import ThreadConnections

__all__ = ["SqliteEventSourceMappings", "StoredMapping"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS lambda_event_source_mappings (
    uuid      TEXT PRIMARY KEY,
    function  TEXT NOT NULL,
    source    TEXT NOT NULL,
    config    TEXT NOT NULL
)"""


@dataclass(frozen=True)
class StoredMapping:
    """One mapping as Lambda reports it (without its transient ``State``)."""

    uuid: str
    function: str
    """The function's name (``FunctionArn`` names it too, with a qualifier when one was given)."""
    source: str
    """``EventSourceArn``."""
    config: Mapping[str, Any]
    """The configuration's members as Lambda answers them (``LastModified`` in epoch seconds)."""
    enabled: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"config": dict(self.config), "enabled": self.enabled, "tags": dict(self.tags)})

    @classmethod
    def from_row(cls, uuid: str, function: str, source: str, text: str) -> StoredMapping:
        data = json.loads(text)
        return cls(uuid, function, source, data["config"], bool(data.get("enabled", True)), data.get("tags") or {})


class SqliteEventSourceMappings:
    """The API-made event source mappings, in one SQLite file (``lambda.db``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(self.path)
        self._connections.get().execute(_SCHEMA)

    def add(self, mapping: StoredMapping) -> None:
        """Raises ConflictError if a mapping with that UUID exists."""
        try:
            self._connections.get().execute(
                "INSERT INTO lambda_event_source_mappings (uuid, function, source, config) VALUES (?, ?, ?, ?)",
                (mapping.uuid, mapping.function, mapping.source, mapping.to_json()),
            )
        except sqlite3.IntegrityError:
            raise ConflictError(f"event source mapping {mapping.uuid} exists") from None

    def replace(self, mapping: StoredMapping) -> None:
        """Raises NotFoundError if there is no mapping with that UUID."""
        cursor = self._connections.get().execute(
            "UPDATE lambda_event_source_mappings SET function = ?, source = ?, config = ? WHERE uuid = ?",
            (mapping.function, mapping.source, mapping.to_json(), mapping.uuid),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"event source mapping {mapping.uuid} does not exist")

    def get(self, uuid: str) -> StoredMapping | None:
        row = (
            self._connections.get()
            .execute("SELECT uuid, function, source, config FROM lambda_event_source_mappings WHERE uuid = ?", (uuid,))
            .fetchone()
        )
        return None if row is None else StoredMapping.from_row(*row)

    def all(self) -> list[StoredMapping]:
        """Every mapping, in UUID order (the order ListEventSourceMappings pages in)."""
        rows = self._connections.get().execute("SELECT uuid, function, source, config FROM lambda_event_source_mappings ORDER BY uuid")
        return [StoredMapping.from_row(*row) for row in rows]

    def delete(self, uuid: str) -> StoredMapping:
        """Raises NotFoundError."""
        mapping = self.get(uuid)
        if mapping is None:
            raise NotFoundError(f"event source mapping {uuid} does not exist")
        self._connections.get().execute("DELETE FROM lambda_event_source_mappings WHERE uuid = ?", (uuid,))
        return mapping

    def close(self) -> None:
        self._connections.close()

"""The metadata table on SQLite: JSON items keyed by a partition (and sort) key."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from ...errors import ConflictError
from ...types import JSON
from ._sqlite import Database

logger = logging.getLogger(__name__)


class SqliteTable:
    """A :class:`~sluiceway.ports.MetadataTable` stored in the ``items`` table.

    ``Status`` and ``Timestamp`` attributes are copied into indexed columns so
    that runs can be listed by status and time without reading every item.
    """

    def __init__(self, db: Database, name: str, *, partition_key: str = "ExecutionId", sort_key: str | None = None) -> None:
        self.db = db
        self.name = name
        self.partition_key = partition_key
        self.sort_key = sort_key

    def _key(self, item: Mapping[str, JSON]) -> tuple[str, str]:
        try:
            pk = item[self.partition_key]
        except KeyError:
            raise ValueError(f"item has no partition key attribute {self.partition_key!r}") from None
        if self.sort_key is None:
            return str(pk), ""
        if self.sort_key not in item:
            # DynamoDB refuses a key without its sort key attribute; so do we.
            raise ValueError(f"item has no sort key attribute {self.sort_key!r}")
        return str(pk), str(item[self.sort_key])

    def put(self, item: Mapping[str, JSON], *, if_absent: bool = False) -> None:
        pk, sk = self._key(item)
        body = json.dumps(item, sort_keys=True, default=str)
        with self.db.transaction() as conn:
            if if_absent:
                exists = conn.execute(
                    "SELECT 1 FROM items WHERE table_name=? AND pk=? AND sk=?", (self.name, pk, sk)
                ).fetchone()
                if exists:
                    raise ConflictError(f"item {pk!r} already exists in table {self.name}")
            conn.execute(
                "INSERT OR REPLACE INTO items (table_name, pk, sk, body, status, ts) VALUES (?, ?, ?, ?, ?, ?)",
                (self.name, pk, sk, body, _str(item.get("Status")), _str(item.get("Timestamp"))),
            )

    def get(self, key: Mapping[str, JSON]) -> dict[str, JSON] | None:
        pk, sk = self._key(key)
        row = self.db.connection().execute(
            "SELECT body FROM items WHERE table_name=? AND pk=? AND sk=?", (self.name, pk, sk)
        ).fetchone()
        return None if row is None else dict(json.loads(row["body"]))

    def update(self, key: Mapping[str, JSON], changes: Mapping[str, JSON]) -> dict[str, JSON]:
        pk, sk = self._key(key)
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT body FROM items WHERE table_name=? AND pk=? AND sk=?", (self.name, pk, sk)
            ).fetchone()
            item: dict[str, Any] = json.loads(row["body"]) if row else dict(key)
            item.update(changes)
            conn.execute(
                "INSERT OR REPLACE INTO items (table_name, pk, sk, body, status, ts) VALUES (?, ?, ?, ?, ?, ?)",
                (self.name, pk, sk, json.dumps(item, sort_keys=True, default=str), _str(item.get("Status")), _str(item.get("Timestamp"))),
            )
        return item

    def delete(self, key: Mapping[str, JSON]) -> None:
        pk, sk = self._key(key)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM items WHERE table_name=? AND pk=? AND sk=?", (self.name, pk, sk))

    def scan(self, *, limit: int | None = None) -> list[dict[str, JSON]]:
        sql = "SELECT body FROM items WHERE table_name=? ORDER BY ts DESC, pk"
        params: tuple[Any, ...] = (self.name,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return [dict(json.loads(r["body"])) for r in self.db.connection().execute(sql, params)]


def _str(value: JSON) -> str | None:
    return None if value is None else str(value)

"""The metadata table on SQLite: JSON items keyed by a partition (and sort) key."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ...errors import ConflictError
from ...ports import STATUS_TIME_INDEX, Condition, SecondaryIndex, check_query
from ...types import JSON
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["SqliteTable"]

#: Each index the ``items`` table can serve, with the columns holding its keys.
_INDEX_COLUMNS: dict[str, tuple[SecondaryIndex, str, str]] = {
    STATUS_TIME_INDEX.name: (STATUS_TIME_INDEX, "status", "ts"),
}


class SqliteTable:
    """A :class:`~sluiceway.ports.MetadataTable` stored in the ``items`` table.

    ``Status`` and ``Timestamp`` attributes are copied into indexed columns, which
    serve :data:`~sluiceway.ports.STATUS_TIME_INDEX` (and ``scan``'s order) without
    reading every item. Conditions are checked inside the write's ``BEGIN
    IMMEDIATE`` transaction, so no other writer can slip in between check and write.

    Args:
        db: the database holding the ``items`` table.
        name: the table's name (many tables share ``items``).
        partition_key: the partition key attribute.
        sort_key: the sort key attribute, if the table has one.
    """

    indexes: tuple[SecondaryIndex, ...] = tuple(spec for spec, _, _ in _INDEX_COLUMNS.values())
    """The secondary indexes, fixed by the columns of ``items``."""

    def __init__(
        self,
        db: Database,
        name: str,
        *,
        partition_key: str = "ExecutionId",
        sort_key: str | None = None,
    ) -> None:
        self.db = db
        self.name = name
        self.partition_key = partition_key
        self.sort_key = sort_key

    def _key(self, item: Mapping[str, JSON]) -> tuple[str, str]:
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        values: list[str] = []
        for name in names:
            if name not in item:
                # DynamoDB refuses a key without all its attributes; so do we.
                raise ValueError(f"item has no key attribute {name!r}")
            value = item[name]
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"key attribute {name!r} must be a non-empty string, not {value!r}"
                )
            values.append(value)
        return values[0], values[1] if self.sort_key else ""

    def _check_index_values(self, attributes: Mapping[str, JSON]) -> None:
        for index in self.indexes:
            index.check_values(attributes)

    def _stored(self, conn: sqlite3.Connection, pk: str, sk: str) -> dict[str, JSON] | None:
        row = conn.execute(
            "SELECT body FROM items WHERE table_name=? AND pk=? AND sk=?", (self.name, pk, sk)
        ).fetchone()
        return None if row is None else dict(json.loads(row["body"]))

    def _write(self, conn: sqlite3.Connection, pk: str, sk: str, item: Mapping[str, JSON]) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO items (table_name, pk, sk, body, status, ts)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.name,
                pk,
                sk,
                json.dumps(item, sort_keys=True, default=str),
                _str(item.get("Status")),
                _str(item.get("Timestamp")),
            ),
        )

    def _require(
        self, condition: Condition | None, stored: dict[str, JSON] | None, pk: str
    ) -> None:
        if condition is not None and not _holds(condition, stored):
            raise ConflictError(f"condition failed for item {pk!r} in table {self.name}")

    def put(
        self,
        item: Mapping[str, JSON],
        *,
        if_absent: bool = False,
        condition: Condition | None = None,
    ) -> None:
        """Write ``item``, replacing the whole item; see :meth:`MetadataTable.put`."""
        pk, sk = self._key(item)
        self._check_index_values(item)
        with self.db.transaction() as conn:
            stored = self._stored(conn, pk, sk) if if_absent or condition is not None else None
            if if_absent and stored is not None:
                raise ConflictError(f"item {pk!r} already exists in table {self.name}")
            self._require(condition, stored, pk)
            self._write(conn, pk, sk, item)

    def get(self, key: Mapping[str, JSON]) -> dict[str, JSON] | None:
        """The item with ``key``, or None."""
        pk, sk = self._key(key)
        return self._stored(self.db.connection(), pk, sk)

    def update(
        self,
        key: Mapping[str, JSON],
        changes: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
    ) -> dict[str, JSON]:
        """Set attributes (creating the item) and return it; see :meth:`MetadataTable.update`."""
        pk, sk = self._key(key)
        key_names = (self.partition_key,) + ((self.sort_key,) if self.sort_key else ())
        for attribute in key_names:
            if attribute in changes and changes[attribute] != key[attribute]:
                raise ValueError(f"cannot change key attribute {attribute!r}")
        self._check_index_values(changes)
        with self.db.transaction() as conn:
            stored = self._stored(conn, pk, sk)
            self._require(condition, stored, pk)
            item: dict[str, JSON] = stored if stored is not None else {n: key[n] for n in key_names}
            item.update(changes)
            self._write(conn, pk, sk, item)
        return item

    def delete(self, key: Mapping[str, JSON], *, condition: Condition | None = None) -> None:
        """Delete the item (a missing one is not an error); see :meth:`MetadataTable.delete`."""
        pk, sk = self._key(key)
        with self.db.transaction() as conn:
            if condition is not None:
                self._require(condition, self._stored(conn, pk, sk), pk)
            conn.execute(
                "DELETE FROM items WHERE table_name=? AND pk=? AND sk=?", (self.name, pk, sk)
            )

    def query(
        self,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Items of one partition in sort key order; see :meth:`MetadataTable.query`."""
        check_query(
            partition_value, sort_from, sort_to, limit, self.sort_key, f"table {self.name}"
        )
        return self._select(
            "pk", "sk", partition_value, sort_from, sort_to, newest_first, limit, ("pk", "sk")
        )

    def query_index(
        self,
        index: str,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = True,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Items of one index partition in order; see :meth:`MetadataTable.query_index`."""
        if index not in _INDEX_COLUMNS:
            known = ", ".join(sorted(_INDEX_COLUMNS))
            raise ValueError(f"table {self.name} has no index {index!r}; known indexes: {known}")
        spec, partition_column, sort_column = _INDEX_COLUMNS[index]
        check_query(partition_value, sort_from, sort_to, limit, spec.sort_key, f"index {index}")
        return self._select(
            partition_column,
            sort_column,
            partition_value,
            sort_from,
            sort_to,
            newest_first,
            limit,
            # The index is sparse: an item without its sort attribute is not in it.
            (sort_column, "pk", "sk"),
            f" AND {sort_column} IS NOT NULL",
        )

    def _select(
        self,
        partition_column: str,
        sort_column: str,
        partition_value: str,
        sort_from: str | None,
        sort_to: str | None,
        descending: bool,
        limit: int | None,
        order: tuple[str, ...],
        extra: str = "",
    ) -> list[dict[str, JSON]]:
        # Column names come from this module, never from callers.
        sql = f"SELECT body FROM items WHERE table_name=? AND {partition_column}=?{extra}"
        params: list[Any] = [self.name, partition_value]
        if sort_from is not None:
            sql += f" AND {sort_column} >= ?"
            params.append(sort_from)
        if sort_to is not None:
            sql += f" AND {sort_column} <= ?"
            params.append(sort_to)
        direction = " DESC" if descending else ""
        sql += " ORDER BY " + ", ".join(column + direction for column in order)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [dict(json.loads(r["body"])) for r in self.db.connection().execute(sql, params)]

    def scan(self, *, limit: int | None = None) -> list[dict[str, JSON]]:
        """Every item, newest first by ``Timestamp`` (items without one last), then by key."""
        sql = "SELECT body FROM items WHERE table_name=? ORDER BY ts DESC, pk, sk"
        params: tuple[Any, ...] = (self.name,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return [dict(json.loads(r["body"])) for r in self.db.connection().execute(sql, params)]




def _holds(condition: Condition, item: Mapping[str, JSON] | None) -> bool:
    """Whether the stored ``item`` (None when missing) satisfies ``condition``, as DynamoDB says."""
    stored: Mapping[str, JSON] = item or {}
    return (
        all(name in stored for name in condition.exists)
        and all(name not in stored for name in condition.not_exists)
        and all(
            name in stored and _same(stored[name], value)
            for name, value in condition.equals.items()
        )
    )


def _same(a: Any, b: Any) -> bool:
    """DynamoDB's typed ``=``: numbers by value, never equal across types (``True`` != ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        # DynamoDB numbers are decimals: 1 == 1.0, and floats compare as written.
        return Decimal(str(a)) == Decimal(str(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if a is None or b is None:
        return a is None and b is None
    return type(a) is type(b) and bool(a == b)


def _str(value: JSON) -> str | None:
    return None if value is None else str(value)

"""Items of every table in ``items``, and their secondary index entries in ``item_index``.

A row's ``pk``/``sk`` hold the item's key as order-preserving text
(:func:`~sluiceway.dynamodb.keys.sort_text`), so SQLite orders and bounds keys as
DynamoDB does; ``sk`` is ``''`` for a table without a sort key. The body is the
item in DynamoDB JSON (``typed = 1``); rows from before the DynamoDB engine hold
plain JSON (``typed = 0``) and are read as the metadata table always wrote them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ....dynamodb.keys import sort_text
from ....dynamodb.schema import IndexSpec, TableSpec
from ....dynamodb.values import Item, Value, from_plain, from_storage, to_storage, type_of

__all__ = ["ItemStore", "Row", "Position"]

Position = tuple[str, ...]
"""Where a read is in its order: (pk, sk) for a table, (ipk, isk, pk, sk) for an index."""


@dataclass(frozen=True)
class Row:
    item: Item
    position: Position


def decode(body: str, typed: int) -> Item:
    data = json.loads(body)
    if typed:
        return {name: from_storage(value) for name, value in data.items()}
    return {name: from_plain(value) for name, value in data.items()}


def encode(item: Mapping[str, Value]) -> str:
    return json.dumps({name: to_storage(value) for name, value in item.items()}, sort_keys=True)


def row_key(spec: TableSpec, item: Mapping[str, Value]) -> tuple[str, str]:
    """The (pk, sk) text of an item (or a key) of ``spec``."""
    pk = sort_text(item[spec.hash_key.name])
    sk = sort_text(item[spec.range_key.name]) if spec.range_key is not None else ""
    return pk, sk


def index_key(index: IndexSpec, item: Mapping[str, Value]) -> tuple[str, str] | None:
    """The (ipk, isk) text of an item in ``index``, or None when the item is not in it (sparse)."""
    values = []
    for attribute in index.key:
        value = item.get(attribute.name)
        if value is None or type_of(value) != attribute.kind:
            return None
        values.append(sort_text(value))
    return values[0], values[1] if len(values) > 1 else ""


class ItemStore:
    """Rows of items and index entries; every method runs on the caller's connection (and transaction)."""

    def get(self, conn: sqlite3.Connection, table: str, pk: str, sk: str) -> Item | None:
        row = conn.execute("SELECT body, typed FROM items WHERE table_name=? AND pk=? AND sk=?", (table, pk, sk)).fetchone()
        return None if row is None else decode(row["body"], row["typed"])

    def put(self, conn: sqlite3.Connection, spec: TableSpec, item: Mapping[str, Value]) -> None:
        pk, sk = row_key(spec, item)
        conn.execute(
            "INSERT OR REPLACE INTO items (table_name, pk, sk, body, typed) VALUES (?, ?, ?, ?, 1)",
            (spec.name, pk, sk, encode(item)),
        )
        if spec.indexes:
            conn.execute("DELETE FROM item_index WHERE table_name=? AND pk=? AND sk=?", (spec.name, pk, sk))
            self._index(conn, spec, spec.indexes, item, pk, sk)

    def _index(
        self, conn: sqlite3.Connection, spec: TableSpec, indexes: Sequence[IndexSpec], item: Mapping[str, Value], pk: str, sk: str
    ) -> None:
        for index in indexes:
            key = index_key(index, item)
            if key is not None:
                conn.execute(
                    "INSERT INTO item_index (table_name, index_name, ipk, isk, pk, sk) VALUES (?, ?, ?, ?, ?, ?)",
                    (spec.name, index.name, key[0], key[1], pk, sk),
                )

    def delete(self, conn: sqlite3.Connection, spec: TableSpec, pk: str, sk: str) -> None:
        conn.execute("DELETE FROM items WHERE table_name=? AND pk=? AND sk=?", (spec.name, pk, sk))
        conn.execute("DELETE FROM item_index WHERE table_name=? AND pk=? AND sk=?", (spec.name, pk, sk))

    def drop_table(self, conn: sqlite3.Connection, table: str) -> None:
        conn.execute("DELETE FROM items WHERE table_name=?", (table,))
        conn.execute("DELETE FROM item_index WHERE table_name=?", (table,))

    def build_index(self, conn: sqlite3.Connection, spec: TableSpec, index: IndexSpec) -> None:
        """Fill a new index from the table's items (UpdateTable's backfill, done at once)."""
        rows = conn.execute("SELECT pk, sk, body, typed FROM items WHERE table_name=?", (spec.name,)).fetchall()
        for row in rows:
            self._index(conn, spec, (index,), decode(row["body"], row["typed"]), row["pk"], row["sk"])

    def drop_index(self, conn: sqlite3.Connection, table: str, index: str) -> None:
        conn.execute("DELETE FROM item_index WHERE table_name=? AND index_name=?", (table, index))

    def counts(self, conn: sqlite3.Connection, table: str) -> tuple[int, int]:
        row = conn.execute(
            "SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(body)), 0) AS size FROM items WHERE table_name=?", (table,)
        ).fetchone()
        return int(row["n"]), int(row["size"])

    def index_counts(self, conn: sqlite3.Connection, table: str) -> dict[str, tuple[int, int]]:
        rows = conn.execute(
            "SELECT i.index_name AS name, COUNT(*) AS n, COALESCE(SUM(LENGTH(t.body)), 0) AS size"
            " FROM item_index i JOIN items t ON t.table_name=i.table_name AND t.pk=i.pk AND t.sk=i.sk"
            " WHERE i.table_name=? GROUP BY i.index_name",
            (table,),
        )
        return {str(r["name"]): (int(r["n"]), int(r["size"])) for r in rows}

    def rows(
        self,
        conn: sqlite3.Connection,
        table: str,
        *,
        index: str | None,
        partition: str | None,
        sort_conditions: Sequence[tuple[str, Any]],
        after: Position | None,
        descending: bool,
        batch: int = 200,
    ) -> Iterator[Row]:
        """Rows in key order (an index's order when ``index`` is given), one partition or all, after ``after``.

        ``sort_conditions`` are (SQL comparison on the sort column with ``?``, value) pairs
        built by the engine from a key condition. Rows are read in batches, so a reader
        that stops early (Limit, 1 MB) reads little more than it uses.
        """
        if index is None:
            columns: tuple[str, ...] = ("t.pk", "t.sk")
            source = "items t"
            where = ["t.table_name=?"]
            params: list[Any] = [table]
            partition_column, sort_column = "t.pk", "t.sk"
        else:
            columns = ("i.ipk", "i.isk", "i.pk", "i.sk")
            source = "item_index i JOIN items t ON t.table_name=i.table_name AND t.pk=i.pk AND t.sk=i.sk"
            where = ["i.table_name=?", "i.index_name=?"]
            params = [table, index]
            partition_column, sort_column = "i.ipk", "i.isk"
        if partition is not None:
            where.append(f"{partition_column}=?")
            params.append(partition)
        for clause, value in sort_conditions:
            where.append(clause.replace("{sort}", sort_column))
            params.extend(value if isinstance(value, tuple) else (value,))
        direction = " DESC" if descending else ""
        order = ", ".join(c + direction for c in columns)
        comparison = "<" if descending else ">"
        position = after
        while True:
            sql_where = list(where)
            sql_params = list(params)
            if position is not None:
                sql_where.append(f"({', '.join(columns)}) {comparison} ({', '.join('?' * len(columns))})")
                sql_params.extend(position)
            sql = (
                f"SELECT {', '.join(columns)}, t.body AS body, t.typed AS typed FROM {source}"
                f" WHERE {' AND '.join(sql_where)} ORDER BY {order} LIMIT ?"
            )
            fetched = conn.execute(sql, [*sql_params, batch]).fetchall()
            for row in fetched:
                position = tuple(str(row[i]) for i in range(len(columns)))
                yield Row(decode(row["body"], row["typed"]), position)
            if len(fetched) < batch:
                return

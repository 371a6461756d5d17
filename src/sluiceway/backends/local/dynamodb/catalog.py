"""The tables of the data dir: their definitions in ``dynamodb_tables``."""

from __future__ import annotations

import json
import sqlite3
import threading

from ....dynamodb.errors import resource_not_found
from ....dynamodb.schema import TableSpec

__all__ = ["TableCatalog"]


class TableCatalog:
    """Table definitions by name, read inside the caller's transaction (another process may change them).

    Parsed definitions are kept by their JSON text, so that a table read many times
    is parsed once and a table changed elsewhere is read afresh.
    """

    def __init__(self) -> None:
        self._parsed: dict[str, TableSpec] = {}
        self._lock = threading.Lock()

    def get(self, conn: sqlite3.Connection, name: str) -> TableSpec | None:
        row = conn.execute("SELECT spec FROM dynamodb_tables WHERE name=?", (name,)).fetchone()
        if row is None:
            return None
        text: str = row["spec"]
        with self._lock:
            spec = self._parsed.get(text)
            if spec is None:
                if len(self._parsed) > 1000:
                    self._parsed.clear()
                spec = self._parsed[text] = TableSpec.from_json(json.loads(text))
        return spec

    def must(self, conn: sqlite3.Connection, name: str, *, describe: bool = False) -> TableSpec:
        """The table, or DynamoDB's ResourceNotFoundException (DescribeTable's message names the table)."""
        spec = self.get(conn, name)
        if spec is None:
            raise resource_not_found(
                f"Requested resource not found: Table: {name} not found" if describe else "Requested resource not found"
            )
        return spec

    def names(self, conn: sqlite3.Connection, after: str | None, limit: int) -> list[str]:
        rows = conn.execute("SELECT name FROM dynamodb_tables WHERE name > ? ORDER BY name LIMIT ?", (after or "", limit))
        return [str(r["name"]) for r in rows]

    def put(self, conn: sqlite3.Connection, spec: TableSpec) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO dynamodb_tables (name, spec) VALUES (?, ?)",
            (spec.name, json.dumps(spec.to_json(), sort_keys=True)),
        )

    def delete(self, conn: sqlite3.Connection, name: str) -> None:
        conn.execute("DELETE FROM dynamodb_tables WHERE name=?", (name,))

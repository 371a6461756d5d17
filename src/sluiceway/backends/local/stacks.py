"""CloudFormation stacks made from templates, kept in SQLite: what DescribeStacks and DescribeStackResources read.

A stack is one row whose ``document`` holds it as the CloudFormation API shows it
(status, parameters, outputs, resources with their physical ids) plus each resource's
resolved properties and provisioner notes, so the next start can update it: change
what changed, delete what left the template.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ._sqlite import Database

__all__ = ["SqliteStacks"]


class SqliteStacks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> dict[str, Any] | None:
        """The stack named ``name`` (or whose StackId is ``name``), or None."""
        row = self.db.connection().execute("SELECT document FROM cfn_stacks WHERE name=? OR stack_id=?", (name, name)).fetchone()
        return None if row is None else json.loads(row["document"])

    def list(self) -> list[dict[str, Any]]:
        rows = self.db.connection().execute("SELECT document FROM cfn_stacks ORDER BY name").fetchall()
        return [json.loads(row["document"]) for row in rows]

    def put(self, document: dict[str, Any], now: datetime) -> None:
        """Store the stack (one transaction: a reader sees the old or the new record, whole)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO cfn_stacks (name, stack_id, status, document, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET stack_id=excluded.stack_id, status=excluded.status,"
                " document=excluded.document, updated_at=excluded.updated_at",
                (document["StackName"], document["StackId"], document["StackStatus"], json.dumps(document), now.isoformat()),
            )

    def delete(self, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM cfn_stacks WHERE name=?", (name,))

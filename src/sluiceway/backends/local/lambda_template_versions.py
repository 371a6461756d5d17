"""The versions templates published of their functions, kept in the state database.

A template publishes a version with ``AWS::Lambda::Version`` (SAM's ``AutoPublishAlias`` makes one
each time the function changes, with ``DeletionPolicy: Retain``). The stack's record forgets a
retained resource once it leaves the template, but Lambda does not un-publish it: the version is
still listed and invokable. So the published versions live here, one row each, with the highest
number each function has used: as on Lambda, a number is never used twice for a function, even
after its version was deleted.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ._sqlite import Database

__all__ = ["PublishedVersion", "SqliteTemplateVersions"]

_COLUMNS = "function, version, owner, description, code_sha256, published_at"


@dataclass(frozen=True)
class PublishedVersion:
    """One published version of a template's function."""

    function: str
    """The function's name."""
    version: int
    """Its number, as Lambda counts them (1, 2, ...)."""
    owner: str
    """``<stack>/<logical id>``: the Version resource that published it."""
    description: str
    """The Version resource's Description ("" when it has none)."""
    code_sha256: str
    """The code it was published with, as Lambda reports it (``CodeSha256``)."""
    published_at: str
    """When it was published (ISO 8601)."""


class SqliteTemplateVersions:
    """The published versions of templates' functions (tables of migration 0100)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def of(self, function: str) -> list[PublishedVersion]:
        """Function ``function``'s versions, oldest first."""
        rows = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM lambda_template_versions WHERE function = ? ORDER BY version", (function,)
        )
        return [PublishedVersion(*row) for row in rows]

    def get(self, function: str, version: int) -> PublishedVersion | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_COLUMNS} FROM lambda_template_versions WHERE function = ? AND version = ?", (function, version))
            .fetchone()
        )
        return None if row is None else PublishedVersion(*row)

    def publish(self, function: str, owner: str, description: str, code_sha256: str, now: str) -> PublishedVersion:
        """Publish the next version of ``function`` (one more than the highest number it ever used).

        Idempotent for a publish that is repeated before anything else was published (a deploy that
        stopped after publishing, before its record was written, runs the resource again): when the
        function's newest version is ``owner``'s with the same description and code, it is that version.
        """
        with self.db.transaction() as conn:
            newest = conn.execute(
                f"SELECT {_COLUMNS} FROM lambda_template_versions WHERE function = ? ORDER BY version DESC LIMIT 1", (function,)
            ).fetchone()
            highest = self._highest(conn, function)
            if newest is not None and newest["version"] == highest:
                kept = PublishedVersion(*newest)
                if (kept.owner, kept.description, kept.code_sha256) == (owner, description, code_sha256):
                    return kept
            version = PublishedVersion(function, highest + 1, owner, description, code_sha256, now)
            self._insert(conn, version)
            return version

    def keep(self, version: PublishedVersion) -> None:
        """Record ``version`` as published if it is not (a version a template published before this record existed)."""
        with self.db.transaction() as conn:
            if conn.execute(
                "SELECT 1 FROM lambda_template_versions WHERE function = ? AND version = ?", (version.function, version.version)
            ).fetchone():
                return
            self._insert(conn, version)

    def remove(self, function: str, version: int) -> None:
        """Delete one version (its number stays used); no error if it is not there."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM lambda_template_versions WHERE function = ? AND version = ?", (function, version))

    def forget(self, function: str) -> None:
        """The function was deleted: its versions go with it, and a new function of that name starts at 1 again."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM lambda_template_versions WHERE function = ?", (function,))
            conn.execute("DELETE FROM lambda_template_version_numbers WHERE function = ?", (function,))

    @staticmethod
    def _highest(conn: sqlite3.Connection, function: str) -> int:
        row = conn.execute("SELECT highest FROM lambda_template_version_numbers WHERE function = ?", (function,)).fetchone()
        return int(row[0]) if row is not None else 0

    @staticmethod
    def _insert(conn: sqlite3.Connection, version: PublishedVersion) -> None:
        conn.execute(
            f"INSERT INTO lambda_template_versions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (version.function, version.version, version.owner, version.description, version.code_sha256, version.published_at),
        )
        conn.execute(
            "INSERT INTO lambda_template_version_numbers (function, highest) VALUES (?, ?)"
            " ON CONFLICT (function) DO UPDATE SET highest = max(highest, excluded.highest)",
            (version.function, version.version),
        )

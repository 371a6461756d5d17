"""Migrations can be applied again over what they made: a data dir whose recorded version was
rewound (as the upgrade tests rewind it) still migrates, whatever migrations came since."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sluiceway.backends.local._sqlite import migrate


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall())


REPLAYABLE_FROM = 53
"""The oldest version an upgrade test rewinds to (tests/functional/runtime/test_async_invocations.py):
every migration from it on must apply again over what it made (``CREATE ... IF NOT EXISTS``, and
``ADD COLUMN`` is skipped for a column that is there)."""


def test_the_migrations_since_the_oldest_rewound_apply_again_over_what_they_made() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    version = migrate(conn)
    made = _schema(conn)
    conn.execute("DELETE FROM schema_version WHERE version >= ?", (REPLAYABLE_FROM,))
    assert migrate(conn) == version
    assert _schema(conn) == made  # nothing added twice, nothing changed
    assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(
        {int(v) for (v,) in conn.execute("SELECT version FROM schema_version")}
    )


def test_an_added_column_that_is_there_is_skipped_and_a_missing_one_added() -> None:
    from sluiceway.backends.local._sqlite import _column_there

    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (a TEXT)")
    assert _column_there(conn, "ALTER TABLE t ADD COLUMN a TEXT")
    assert _column_there(conn, "alter table t add a text")
    assert not _column_there(conn, "ALTER TABLE t ADD COLUMN b TEXT")
    assert not _column_there(conn, "CREATE TABLE IF NOT EXISTS u (x)")


def test_two_processes_migrating_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = sqlite3.connect(path, isolation_level=None)
    version = migrate(first)
    first.execute("DELETE FROM schema_version WHERE version >= ?", (REPLAYABLE_FROM,))
    first.close()
    barrier = threading.Barrier(2)
    results: list[int] = []

    def start() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        barrier.wait()
        results.append(migrate(conn))
        conn.close()

    starters = [threading.Thread(target=start) for _ in range(2)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join(60)
    assert results == [version, version]
    check = sqlite3.connect(path)
    twice = check.execute("SELECT version FROM schema_version GROUP BY version HAVING count(*) > 1").fetchall()
    check.close()
    assert twice == []

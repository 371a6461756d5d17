"""SQLite connections and numbered migrations, shared by every local backend."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000


def connect(path: str | Path) -> sqlite3.Connection:
    """Open ``path`` with the settings every local backend relies on.

    WAL lets readers run beside the one writer; ``synchronous=NORMAL`` in WAL mode
    keeps every committed transaction across a process crash (``kill -9``); only an
    OS crash may lose the last transactions.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


class Database:
    """One SQLite file, migrated once, used from many threads.

    A connection is kept per thread; write transactions go through
    :meth:`transaction`, which uses ``BEGIN IMMEDIATE`` so that two writers never
    deadlock on a lock upgrade.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        migrate(self.connection())

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the numbered ``migrations/NNNN_*.sql`` files not yet applied; return the version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    applied = {int(r[0]) for r in conn.execute("SELECT version FROM schema_version")}
    current = max(applied, default=0)
    scripts = sorted(
        (p for p in resources.files(__package__).joinpath("migrations").iterdir() if p.name.endswith(".sql")),
        key=lambda p: p.name,
    )
    for script in scripts:
        version = int(script.name.split("_", 1)[0])
        if version in applied:
            continue
        logger.info("applying migration", extra={"migration": script.name})
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script.read_text()):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.add(version)
        current = max(current, version)
    return int(current)


def _statements(script: str) -> list[str]:
    """Split a migration into statements; ``--`` comment lines are dropped first."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if line.lstrip().startswith("--"):
            continue
        current.append(line)
        text = "\n".join(current).strip()
        if text and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        raise ValueError(f"incomplete SQL statement at the end of a migration: {rest[:80]!r}")
    return statements

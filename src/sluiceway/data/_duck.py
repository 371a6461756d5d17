"""DuckDB plumbing shared by the engine: connections and SQL quoting."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import duckdb

__all__ = ["connect", "ident", "literal", "path_literal"]

logger = logging.getLogger(__name__)


def connect(
    *, threads: int = 1, memory_limit_mb: int | None = None, temp_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for one stage invocation.

    Args:
        threads: worker threads; chunk workers use 1 because the Map already runs
            chunks in parallel processes.
        memory_limit_mb: DuckDB's memory limit (spills to ``temp_dir`` beyond it).
        temp_dir: where DuckDB may spill.
    """
    con = _database().cursor()
    con.execute(f"SET threads = {max(1, threads)}")
    con.execute("SET enable_progress_bar = false")
    if memory_limit_mb:
        con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {path_literal(temp_dir / 'duckdb')}")
    return con


_lock = threading.Lock()
_shared: tuple[int, duckdb.DuckDBPyConnection] | None = None


def _database() -> duckdb.DuckDBPyConnection:
    """The process's in-memory database; each invocation works in its own connection (cursor).

    Opening a database costs ~30 ms, a connection to an open one under 1 ms; a
    connection's temporary tables (and reject tables) are its own. A forked child
    opens its own database (DuckDB's threads do not survive a fork).
    """
    global _shared
    with _lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), duckdb.connect(":memory:"))
        return _shared[1]


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def path_literal(path: str | Path) -> str:
    return literal(str(path))

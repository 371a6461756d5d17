"""DuckDB plumbing shared by the engine: connections and SQL quoting."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb

__all__ = ["connect", "ident", "literal", "path_literal"]

logger = logging.getLogger(__name__)


def connect(*, threads: int = 1, memory_limit_mb: int | None = None, temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for one stage invocation.

    Args:
        threads: worker threads; chunk workers use 1 because the Map already runs
            chunks in parallel processes.
        memory_limit_mb: DuckDB's memory limit (spills to ``temp_dir`` beyond it).
        temp_dir: where DuckDB may spill.
    """
    # A database per invocation (~30 ms to open): a database kept open across
    # invocations would leave DuckDB's threads in a process that may fork, and a
    # forked child's DuckDB deadlocks.
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {max(1, threads)}")
    con.execute("SET enable_progress_bar = false")
    if memory_limit_mb:
        con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {path_literal(temp_dir / 'duckdb')}")
    return con


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

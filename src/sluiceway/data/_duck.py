"""DuckDB plumbing shared by the engine: connections, SQL quoting, Parquet copies."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb

from .excerpt import excerpt, printable

__all__ = ["connect", "copy_parquet", "error_text", "ident", "literal", "path_literal"]

logger = logging.getLogger(__name__)


def connect(
    *,
    files: Sequence[Path] | None,
    threads: int = 1,
    memory_limit_mb: int | None = None,
    temp_dir: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for one stage invocation.

    Args:
        files: the folders whose files the connection may read and write; nothing
            else is reachable (no other file, URL, extension or attached database),
            and its settings are locked, so SQL from the pipeline config cannot undo
            that. ``None`` only for connections that never run the config's SQL.
        threads: worker threads; chunk workers use 1 because the Map already runs
            chunks in parallel processes.
        memory_limit_mb: DuckDB's memory limit (spills to ``temp_dir`` beyond it).
        temp_dir: where DuckDB may spill (reachable too).
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
    if files is not None:
        folders = sorted({os.path.join(os.path.abspath(f), "") for f in [*files, *([temp_dir] if temp_dir else [])]})
        # DuckDB takes allowed_directories only while external access is on, and compares
        # normalised paths ('..' cannot leave a folder). With external access off, a
        # path outside them, a URL, INSTALL/LOAD, ATTACH and replacement scans of
        # files (FROM 'x.csv') fail with a PermissionException; lock_configuration
        # keeps SET from turning it back on.
        con.execute(f"SET allowed_directories = [{', '.join(literal(f) for f in folders)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
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


_QUOTED = re.compile(r"'((?:[^']|'')*)'|\"((?:[^\"]|\"\")*)\"")


def copy_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    """Write the rows of ``query`` to the Parquet file ``target``."""
    con.execute(f"COPY ({query}) TO {path_literal(target)} (FORMAT parquet)")


def error_text(exc: BaseException | str) -> str:
    """The first line of a DuckDB error, fit for a message: every quoted part (often a value
    from the file) cut to a short excerpt, control characters escaped."""
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else text

    def cut(match: re.Match[str]) -> str:
        quote = match.group(0)[0]
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        return quote + excerpt(inner) + quote

    # Quoted parts are escaped by excerpt; the rest (DuckDB's own words) by printable.
    parts: list[str] = []
    last = 0
    for match in _QUOTED.finditer(first):
        parts.append(printable(first[last : match.start()]))
        parts.append(cut(match))
        last = match.end()
    parts.append(printable(first[last:]))
    joined = "".join(parts)
    return joined if len(joined) <= 400 else joined[:400] + "…"  # escaped already: cut, not escaped again

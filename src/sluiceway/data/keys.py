"""The values of a chunk's unique columns: kept in the first pass, settled, and found again.

A ``unique`` column's values may not repeat among the valid rows of the whole
file. Each chunk settles what it can alone and reports :class:`KeyStats` (count,
distinct count, bounds) per unique column, so that the aggregate stage compares
values across chunks only where their ranges overlap:

* an integer column's count and bounds, kept in the first pass, usually prove
  its values distinct (``n`` integers between ``lo`` and ``hi`` with
  ``hi - lo + 1 == n``) without a look at them;
* otherwise its values (kept in the pass as a list, or read from the chunk
  again where the caller expected the bounds to do) are counted, and written to
  ``keys-<j>.parquet`` when they hold a duplicate or have no comparable bounds.

The aggregate stage reads a chunk's values again with :func:`write_keys`, and
finds the rows that hold duplicates with :func:`locate_values`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from . import records, rules
from ._duck import connect, copy_parquet, ident, path_literal
from .lines import count_lines_in
from .reader import MAX_RECORD_BYTES, ChunkFormat, read_relation, run_reader
from .scan import terminator

if TYPE_CHECKING:
    from ..spec import PipelineConfig

__all__ = ["ChunkKeys", "KeyStats", "locate_values", "pass_columns", "pass_items", "settle", "write_keys"]

logger = logging.getLogger(__name__)

_KEYS = "__sw_k"


@dataclass(frozen=True)
class KeyStats:
    """The values of one unique column among a chunk's valid rows."""

    count: int
    distinct: int
    low: Any = None
    """Smallest value as JSON (None if not comparable across chunks)."""
    high: Any = None

    def to_event(self) -> dict[str, Any]:
        return {"count": self.count, "distinct": self.distinct, "min": self.low, "max": self.high}

    @classmethod
    def from_event(cls, data: Mapping[str, Any]) -> KeyStats:
        return cls(int(data["count"]), int(data["distinct"]), data.get("min"), data.get("max"))


@dataclass(frozen=True)
class ChunkKeys:
    """What a chunk settled about its unique columns."""

    stats: dict[str, KeyStats]
    """Unique column name -> its statistics."""
    files: dict[str, Path]
    """``keys-<j>`` -> the values of schema column ``j``, where the aggregate stage needs them."""
    unproven: tuple[str, ...]
    """Integer columns whose count and bounds did not prove their values distinct."""


def pass_items(j: int, name: str, *, listed: bool, counted: bool) -> list[str]:
    """The first pass's aggregate items that keep unique column ``j`` (``name``) of each group's rows.

    Args:
        listed: keep its values (a list).
        counted: keep its count and bounds (integer columns: they often prove
            the values distinct without a look at them, see :func:`settle`).
    """
    col = ident(name)
    items: list[str] = []
    if listed:
        items.append(f"list({col}) FILTER (WHERE {col} IS NOT NULL) AS {_KEYS}{j}")
    if counted:
        items += [f"count({col}) AS {_KEYS}n{j}", f"min({col}) AS {_KEYS}lo{j}", f"max({col}) AS {_KEYS}hi{j}"]
    return items


def pass_columns(j: int, *, listed: bool, counted: bool) -> list[str]:
    """The names of the columns :func:`pass_items` makes (the partials leave them out)."""
    kinds = ([""] if listed else []) + (["n", "lo", "hi"] if counted else [])
    return [f"{_KEYS}{kind}{j}" for kind in kinds]


def settle(
    con: duckdb.DuckDBPyConnection,
    partials: str,
    unique: Sequence[tuple[int, str]],
    *,
    listed: Collection[int],
    counted: Collection[int],
    rows: Callable[[], str],
    out_dir: Path,
) -> ChunkKeys:
    """Settle each unique column from what the first pass kept.

    Args:
        partials: the first pass's table: one row per group with ``__sw_ok`` and
            the :func:`pass_items` of every unique column.
        unique: (schema index, name) of each unique column.
        listed: the columns whose values the pass kept.
        counted: the columns whose count and bounds the pass kept.
        rows: the chunk's typed rows (a relation with ``__sw_ok``), read again for
            a column whose values the pass did not keep and whose bounds prove nothing.
        out_dir: where ``keys-<j>.parquet`` files go.
    """
    stats: dict[str, KeyStats] = {}
    files: dict[str, Path] = {}
    unproven: list[str] = []
    for j, name in unique:
        proven = _proven(con, partials, j) if j in counted else None
        if proven is not None:
            count, distinct, low, high = proven
            stats[name] = KeyStats(count, distinct, _comparable(low), _comparable(high))
            continue
        if j in counted:
            unproven.append(name)
        if j in listed:
            table = f"(SELECT unnest({_KEYS}{j}) AS k FROM {partials} WHERE {rules.OK})"
        else:
            # The bounds were expected to settle it and did not: the values, read again.
            table = f"__sw_keys{j}"
            col = ident(name)
            con.execute(f"CREATE TEMP TABLE {table} AS SELECT {col} AS k FROM ({rows()}) WHERE {rules.OK} AND {col} IS NOT NULL")
        count, low, high = con.execute(f"SELECT count(k), min(k), max(k) FROM {table}").fetchone() or (0, None, None)
        distinct = _distinct(con, table, int(count), low, high)
        stats[name] = KeyStats(int(count), distinct, _comparable(low), _comparable(high))
        # Without an internal duplicate and with comparable bounds, the aggregate stage
        # compares the values only if the chunks' ranges overlap; it then reads them
        # from the chunk itself (write_keys), which is rarer than writing them here.
        if distinct < count or stats[name].low is None or stats[name].high is None:
            files[f"keys-{j}"] = out_dir / f"keys-{j}.parquet"
            copy_parquet(con, f"SELECT k FROM {table}", files[f"keys-{j}"])
    return ChunkKeys(stats, files, tuple(unproven))


_BITMAP_LIMIT = 1 << 26


def _distinct(con: duckdb.DuckDBPyConnection, table: str, count: int, low: Any, high: Any) -> int:
    """How many distinct values ``table.k`` holds.

    Dense integer keys (ids) are counted with a bitmap, much cheaper than hashing them.
    """
    if count == 0:
        return 0
    if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool) and 0 <= high - low < _BITMAP_LIMIT:
        found = con.execute(f"SELECT bit_count(bitstring_agg(k, {low}, {high})) FROM {table}").fetchone()
    else:
        found = con.execute(f"SELECT count(DISTINCT k) FROM {table}").fetchone()
    return int(found[0]) if found else 0


def _proven(con: duckdb.DuckDBPyConnection, partials: str, j: int) -> tuple[int, int, Any, Any] | None:
    """(count, distinct, min, max) of integer key ``j`` among the valid rows, if count and bounds prove it distinct.

    ``n`` integers between ``low`` and ``high`` with ``high - low + 1 == n`` are all
    different (pigeonhole). This holds for the valid rows when it holds for them or
    for all rows whose key parsed (rejected rows often leave gaps in an id sequence).
    """
    n, lo, hi = f"{_KEYS}n{j}", f"{_KEYS}lo{j}", f"{_KEYS}hi{j}"
    found = con.execute(
        f"SELECT coalesce(sum({n}) FILTER (WHERE {rules.OK}), 0), min({lo}) FILTER (WHERE {rules.OK}), "
        f"max({hi}) FILTER (WHERE {rules.OK}), coalesce(sum({n}), 0), min({lo}), max({hi}) FROM {partials}"
    ).fetchone()
    if found is None or not found[0]:
        return None
    count, low, high, count_all, low_all, high_all = found
    count, count_all = int(count), int(count_all)
    if high - low + 1 == count or high_all - low_all + 1 == count_all:
        return count, count, low, high
    return None


def _comparable(value: Any) -> Any:
    """A key bound as JSON that compares like the original, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return value if len(value) <= 256 else None
    return None


# ------------------------------------------------------------------ locating


def write_keys(
    path: Path,
    *,
    config: PipelineConfig,
    fmt: ChunkFormat,
    column: str,
    target: Path,
    where: str,
    memory_limit_mb: int | None = None,
    temp_dir: Path | None = None,
) -> None:
    """Write the values of ``column`` among the chunk's valid rows to ``target`` (Parquet, one column ``k``).

    The same values :func:`.validate.check_chunk` keeps for a unique column; for chunks that
    did not write them.
    """
    con = connect(files=[path.parent, target.parent], threads=1, memory_limit_mb=memory_limit_mb, temp_dir=temp_dir)
    try:

        def phase(fmt: ChunkFormat) -> None:
            typed = rules.typed_relation(config, read_relation(path, config, fmt, store_rejects=True))
            name = ident(column)
            copy_parquet(con, f"SELECT {name} AS k FROM ({typed}) WHERE {rules.OK} AND {name} IS NOT NULL", target)

        run_reader(con, path, fmt, where, phase)
    finally:
        con.close()


def locate_values(
    path: Path,
    *,
    config: PipelineConfig,
    fmt: ChunkFormat,
    column: str,
    values_file: Path,
    where: str,
    memory_limit_mb: int | None = None,
    temp_dir: Path | None = None,
) -> list[tuple[int, int, str, str]]:
    """Find the valid rows of a chunk whose ``column`` holds one of the values in ``values_file``.

    Args:
        values_file: a Parquet file with one column ``k`` of the column's type.

    Returns:
        (ordinal, 0-based chunk line, raw text, the typed value as text) of each such row, in file order.
    """
    con = connect(files=[path.parent, values_file.parent], threads=1, memory_limit_mb=memory_limit_mb, temp_dir=temp_dir)
    try:
        j = config.column_names.index(column)
        result: list[Any] = []

        def phase(fmt: ChunkFormat) -> None:
            typed = rules.typed_relation(config, read_relation(path, config, fmt, store_rejects=True))
            result[:] = con.execute(
                f"SELECT {rules.ORD}, {rules.raw_name(j)}, CAST({ident(column)} AS VARCHAR) FROM ({typed}) "
                f"WHERE {rules.OK} AND {ident(column)} IN (SELECT k FROM read_parquet({path_literal(values_file)})) "
                f"ORDER BY {rules.ORD}"
            ).fetchall()

        fmt = run_reader(con, path, fmt, where, phase)
        parsed = int((con.execute(f"SELECT count(*) FROM {read_relation(path, config, fmt, store_rejects=False)}").fetchone() or (0,))[0])
        rejected = records.reader_rejects(con, config, fmt, path)
        lines = count_lines_in(path, terminator(fmt.newline))
        if parsed + len(rejected) != lines:
            records.account_records(path, config, fmt, where, parsed, rejected, lines, MAX_RECORD_BYTES)
        line_map, _ = records.line_map(path, config, fmt, parsed, sorted(rejected), lines)
        return [(int(o), line_map.line_of(int(o)), str(raw), str(value)) for o, raw, value in result]
    finally:
        con.close()

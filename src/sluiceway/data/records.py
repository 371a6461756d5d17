"""A chunk's records as DuckDB cannot tell them: what it refused, what it lost, and the line of each.

DuckDB returns rows and, with ``store_rejects``, the records it refused, by byte
offset (:func:`reader_rejects` gives each a reason). Every record must be one or
the other: when the rows and rejects do not match the chunk's lines (NumPy counts
them), the records are counted by quote parity without DuckDB
(:func:`account_records`); a record DuckDB skipped for its length is rejected,
any other shortfall fails the chunk.

Rows are numbered by DuckDB's ordinal; rejects.csv wants physical lines.
:func:`line_map` maps one to the other: from the reject offsets alone when every
record is one line, by walking the chunk otherwise (:mod:`.lines`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..errors import DataError
from .lines import LineMap, LongRecord, build_line_map, count_records_in, fast_line_map, lines_at
from .reader import BUFFER_RECORDS, MAX_RECORD_BYTES, ChunkFormat
from .scan import terminator

if TYPE_CHECKING:
    from ..spec import PipelineConfig

__all__ = [
    "MAX_VALUE_CHARS",
    "account_records",
    "cut",
    "line_expr",
    "line_map",
    "load_line_map",
    "reader_rejects",
    "too_long",
]

logger = logging.getLogger(__name__)

MAX_VALUE_CHARS = 4096
"""Reject values longer than this are cut (with a trailing ``…``) in rejects.csv."""
_COUNT_MESSAGE = re.compile(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)")


def reader_rejects(
    con: duckdb.DuckDBPyConnection, config: PipelineConfig, fmt: ChunkFormat, path: Path, limit: int = MAX_RECORD_BYTES
) -> dict[int, tuple[int, str, str, str]]:
    """Records DuckDB refused, by the byte offset where they start: (pos, column, value, reason)."""
    try:
        found = con.execute(
            "SELECT scan_id, line_byte_position, column_name, error_type, csv_line, error_message "
            "FROM reject_errors ORDER BY scan_id DESC, line_byte_position, column_idx"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    if not found:
        return {}
    latest = found[0][0]
    names = config.column_names
    result: dict[int, tuple[int, str, str, str]] = {}
    with open(path, "rb") as handle:
        starts = {int(p): _record_start(handle, int(p)) for scan, p, *_ in found if scan == latest}
    for scan_id, position, column, kind, line, message in found:
        if scan_id != latest or starts[int(position)] in result:
            continue
        offset = starts[int(position)]
        pos, name = -1, ""
        if isinstance(column, str) and column.startswith("__sw_r"):
            pos = int(column[len("__sw_r") :])
            name = names[pos]
        kind = str(kind)
        if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            match = _COUNT_MESSAGE.search(str(message))
            reason = f"expected {match.group(1)} fields, found {match.group(2)}" if match else _first_line(str(message))
            pos, name = -1, ""
        elif kind == "UNQUOTED VALUE":
            reason = "unterminated or misplaced quote"
        elif kind in ("INVALID ENCODING", "INVALID UNICODE"):
            reason = f"not valid {fmt.encoding} text"
        elif kind == "LINE SIZE OVER MAXIMUM":
            reason = too_long(limit)
            pos, name = -1, ""
        else:
            reason = _first_line(str(message))
        text = str(line or "").strip("\r\n")
        result[offset] = (pos, name, cut(text), reason)
    return result


def _record_start(handle: Any, position: int) -> int:
    """The offset of a rejected record from DuckDB's ``line_byte_position``.

    DuckDB reports one past the end of the previous record, which may still be a
    line break (the LF of a CRLF, blank lines); the record starts after those.
    """
    offset = max(0, position - 1)
    handle.seek(offset)
    while True:
        window = handle.read(256)
        if not window:
            return offset
        skipped = len(window) - len(window.lstrip(b"\r\n"))
        offset += skipped
        if skipped < len(window):
            return offset


def account_records(
    path: Path,
    config: PipelineConfig,
    fmt: ChunkFormat,
    where: str,
    parsed: int,
    refused: dict[int, tuple[int, str, str, str]],
    lines: int,
    limit: int,
) -> int:
    """The chunk's records, counted without DuckDB; records DuckDB skipped unreported join ``refused``.

    Raises:
        DataError: records are missing that no limit explains.
    """
    dialect = config.csv
    counted = count_records_in(
        path,
        term=terminator(fmt.newline),
        quote=dialect.quote.encode(fmt.encoding) if dialect.quote else b"",
        escape=dialect.escape.encode(fmt.encoding) if dialect.quote and dialect.escape and dialect.escape != dialect.quote else b"",
        columns=len(config.columns),
        limit=limit,
    )
    seen = parsed + len(refused)
    if counted.records > seen:
        skipped = [r for r in counted.long if r.offset not in refused]
        if len(skipped) != counted.records - seen:
            raise DataError(
                f"{where}: {counted.records - seen} of its {counted.records} records were neither read nor rejected "
                f"by the CSV reader ({parsed} read, {len(refused)} rejected); refusing an incomplete result"
            )
        _reject_long(path, fmt, refused, skipped, limit)
        return counted.records
    if counted.records < seen:
        # A quote inside an unquoted field (5") opens a quoted field for the parity count,
        # which then joins the lines up to the next quote; DuckDB keeps such a quote
        # literal and reads those lines apart. Its rows are then the better count (never
        # more than the chunk's lines), but they cannot show a skipped record: the lines
        # too long for DuckDB's buffer, which it can neither return nor report, are.
        overlong = count_records_in(path, term=terminator(fmt.newline), quote=b"", limit=limit * BUFFER_RECORDS).long
        skipped = [r for r in overlong if r.offset not in refused]
        _reject_long(path, fmt, refused, skipped, limit)
        seen += len(skipped)
        if seen > lines:
            raise DataError(f"{where}: the CSV reader returned {seen} records from {lines} lines; refusing an inconsistent result")
        logger.warning("a stray quote: records counted by the reader", extra={"chunk": where, "counted": counted.records, "seen": seen})
    return seen


def _reject_long(
    path: Path, fmt: ChunkFormat, refused: dict[int, tuple[int, str, str, str]], records: Sequence[LongRecord], limit: int
) -> None:
    """Add records DuckDB skipped for their length to ``refused``, with their first characters."""
    with open(path, "rb") as handle:
        for record in records:
            handle.seek(record.offset)
            head = handle.read(MAX_VALUE_CHARS).decode(fmt.encoding, errors="replace")
            refused[record.offset] = (-1, "", cut(head + "…"), too_long(limit))


def too_long(limit: int) -> str:
    """The reason a record over ``limit`` bytes is rejected."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit % size == 0:
            return f"record longer than the {limit // size} {unit} limit"
    return f"record longer than the {limit}-byte limit"


def line_map(
    path: Path,
    config: PipelineConfig,
    fmt: ChunkFormat,
    parsed: int,
    offsets: Sequence[int],
    lines: int,
) -> tuple[LineMap, dict[int, int]]:
    """Ordinals to lines: from the reject offsets alone when every record is one line, else by walking."""
    term = terminator(fmt.newline)
    if lines == parsed + len(offsets):
        reject_lines = lines_at(path, term, offsets)
        return fast_line_map(reject_lines.values()), reject_lines
    dialect = config.csv
    quote = dialect.quote.encode(fmt.encoding) if dialect.quote else b""
    escape = dialect.escape.encode(fmt.encoding) if dialect.escape and dialect.escape != dialect.quote else b""
    return build_line_map(
        path.read_bytes(),
        term=term,
        parsed=parsed,
        rejected_offsets=offsets,
        quote=quote,
        escape=escape,
        columns=len(config.columns),
    )


def load_line_map(con: duckdb.DuckDBPyConnection, mapping: LineMap) -> None:
    """Store ``mapping`` as the table ``__sw_lines`` for :func:`line_expr`."""
    con.execute("CREATE TEMP TABLE __sw_lines (ord_start BIGINT, line_start BIGINT)")
    con.executemany(
        "INSERT INTO __sw_lines VALUES (?, ?)",
        list(zip(mapping.starts, mapping.lines, strict=True)),
    )


def line_expr(ordinal: str) -> str:
    """SQL for the line of ``ordinal`` in a query that joins ``__sw_lines m`` (``ASOF JOIN __sw_lines m ON ordinal >= m.ord_start``)."""
    return f"m.line_start + ({ordinal} - m.ord_start)"


def cut(text: str) -> str:
    """``text`` as rejects.csv shows it: at most :data:`MAX_VALUE_CHARS` characters, then ``…``."""
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else message

"""DuckDB's CSV reader over one chunk file: the relation that reads it, and running it.

A chunk is a local file holding a line-aligned byte range of the input. DuckDB
reads it with every column as VARCHAR in the declared dialect, strictly (a wrong
field count is a reject, not padding), numbering the records
(``WITH ORDINALITY``); ``store_rejects`` records the structurally broken ones
(wrong field count, unterminated quotes, bad encoding) with their byte offsets,
which :mod:`.records` turns into rejects with reasons and lines.

DuckDB reads UTF-8 and latin-1 itself; :func:`normalize_chunk` makes other
encodings readable first. :func:`run_reader` runs a pass over the relation and
retries once the chunk's line ends are made plain when DuckDB trips over mixed
ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ..errors import DataError
from . import rules
from ._duck import error_text, literal, path_literal

if TYPE_CHECKING:
    from ..spec import PipelineConfig

__all__ = [
    "BUFFER_RECORDS",
    "MAX_RECORD_BYTES",
    "ChunkFormat",
    "normalize_chunk",
    "read_relation",
    "run_reader",
]

logger = logging.getLogger(__name__)

MAX_RECORD_BYTES = 32 * 1024 * 1024
"""Longest record a chunk reads; longer ones are rejected ("record longer than the 32 MiB limit")."""
BUFFER_RECORDS = 16
"""DuckDB's read buffer, in records of the longest size (its own default ratio).

DuckDB reports a record longer than ``max_line_size`` as ``LINE SIZE OVER MAXIMUM``
only while it fits its read buffer; a longer one (over 512 MiB with a 32 MiB
limit) it skips without a word: neither a row nor a reject. The chunk's records
are therefore counted apart from DuckDB, and such records rejected there
(:func:`.records.account_records`)."""
BLOCK = 8 * 1024 * 1024
"""How much of a chunk :func:`normalize_chunk` transcodes at a time."""
# DuckDB's explicit '\r\n' mode misreads files (one giant line); its detection handles CRLF.
_NEW_LINE = {"lf": "\\n", "crlf": None, "cr": "\\r"}


@dataclass(frozen=True)
class ChunkFormat:
    """How a chunk's bytes are laid out."""

    columns: tuple[str, ...]
    """Column names in file order."""
    newline: str
    """``lf``, ``crlf`` or ``cr``."""
    encoding: str = "utf-8"
    """``utf-8`` or ``latin-1`` (DuckDB reads these natively)."""


def normalize_chunk(path: Path, *, encoding: str) -> str:
    """Make a chunk file readable by DuckDB; return the encoding it is now in.

    UTF-8 and latin-1 are left alone. Other single-byte encodings (cp1252) are
    transcoded to UTF-8 block by block; undecodable bytes are kept as they are, so
    DuckDB rejects those rows as invalid UTF-8 instead of the whole chunk failing.
    """
    if encoding in ("utf-8", "utf-8-sig", "ascii"):
        return "utf-8"
    if encoding == "latin-1":
        return "latin-1"
    target = path.with_suffix(".utf8")
    with open(path, "rb") as src, open(target, "wb") as out:
        while block := src.read(BLOCK):
            out.write(block.decode(encoding, "surrogateescape").encode("utf-8", "surrogateescape"))
    target.replace(path)
    return "utf-8"


def read_relation(
    path: Path, config: PipelineConfig, fmt: ChunkFormat, *, store_rejects: bool, max_record_bytes: int = MAX_RECORD_BYTES
) -> str:
    """The chunk's records as a relation: ``__sw_r<j>`` (VARCHAR) per schema column and the ordinal ``__sw_ord``.

    Args:
        store_rejects: record broken records in DuckDB's ``reject_errors``
            (:func:`.records.reader_rejects` reads them); otherwise skip them.
        max_record_bytes: longer records are refused.
    """
    dialect = config.csv
    position = {name: j for j, name in enumerate(config.column_names)}
    names = [rules.raw_name(position[c]) for c in fmt.columns]
    columns = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
    escape = dialect.escape if dialect.quote else ""
    options = [
        "header = false",
        "auto_detect = false",
        f"delim = {literal(dialect.delimiter)}",
        f"quote = {literal(dialect.quote)}",
        f"escape = {literal(escape)}",
        f"encoding = {literal(fmt.encoding)}",
        # Null markers match unquoted fields only: a quoted field is a value ("" an empty string).
        # DuckDB's allow_quoted_nulls defaults to true, which reads a quoted "" as NULL too.
        f"nullstr = [{', '.join(literal(v) for v in dialect.null_values)}]",
        "allow_quoted_nulls = false",
        f"columns = {columns}",
        f"max_line_size = {max_record_bytes}",
        f"buffer_size = {max_record_bytes * BUFFER_RECORDS}",
        "strict_mode = true",
        "null_padding = false",
        "store_rejects = true" if store_rejects else "ignore_errors = true",
    ]
    new_line = _NEW_LINE[fmt.newline]
    if new_line is not None:
        options.append(f"new_line = {literal(new_line)}")
    alias = ", ".join([*names, rules.ORD])
    return f"read_csv({path_literal(path)}, {', '.join(options)}) WITH ORDINALITY AS __sw_t({alias})"


def run_reader(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: ChunkFormat,
    where: str,
    phase: Callable[[ChunkFormat], None],
    *,
    creates: Sequence[str] = (),
) -> ChunkFormat:
    """Run a pass over the chunk; if DuckDB's strict parser trips over carriage returns, normalise and retry.

    DuckDB refuses chunks that mix CRLF and LF (Excel writes LF inside quoted cells
    and CRLF between rows; concatenated exports mix both). Such chunks are
    rewritten with CRLF turned into LF, then, if that is not enough, with every CR
    removed; line numbers are unaffected, CRs inside values are lost.

    Args:
        phase: the pass, given the chunk's format as it now is (read it with
            :func:`read_relation`).
        creates: tables the pass creates, dropped before it runs again.

    Returns:
        The chunk's format after any normalising.

    Raises:
        DataError: the chunk cannot be parsed, or a derived column fails on a valid row.
    """
    attempts: list[bytes | None] = [None] if fmt.newline == "cr" else [None, b"\r\n", b"\r"]
    last = ""
    for attempt in attempts:
        if attempt is not None:
            logger.info("normalising line endings", extra={"chunk": where})
            data = path.read_bytes()
            path.write_bytes(data.replace(attempt, b"\n" if attempt == b"\r\n" else b""))
            del data
            fmt = ChunkFormat(fmt.columns, "lf", fmt.encoding)
            for table in creates:
                con.execute(f"DROP TABLE IF EXISTS {table}")
        try:
            phase(fmt)
            return fmt
        except duckdb.InvalidInputException as exc:
            last = error_text(exc)
            if "invalid state" not in last:
                break
        except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
            raise DataError(f"{where}: a derived column failed on a valid row: {error_text(exc)}") from None
    raise DataError(f"{where}: cannot be parsed as CSV: {last}")

"""One chunk through DuckDB: parse, validate every row, and keep what the aggregate stage needs.

A chunk is a local file holding a line-aligned byte range of the input. DuckDB
reads it once with every column as VARCHAR in the declared dialect
(``store_rejects`` records structurally broken records -- wrong field count,
unterminated quotes, bad encoding -- with their byte offsets). The same pass
types the values, evaluates every rule into one validity flag and, depending
on the processing mode, produces:

* ``aggregations``: GROUP BY partials over the valid rows (counts, sums,
  min/max, distinct-value lists), plus the values of unique columns (and, for
  integer ones, their count and bounds, which usually prove them distinct
  without a look at the values);
* ``sql``: the valid rows themselves (typed, with their line numbers).

Every record is accounted for: when DuckDB's rows and rejects do not match the
chunk's lines (NumPy counts them), the records are counted by quote parity
without DuckDB (:func:`.lines.count_records_in`); a record DuckDB skipped for
its length is rejected, any other shortfall fails the chunk.

Only when something was rejected are per-column reasons computed, for the
failing rows alone: the first pass keeps the raw values of up to
:data:`BAD_ROWS_KEPT` of them, so only a chunk with more is read a second time. Files written to ``out_dir``:

``partial.parquet``   aggregations mode: one row per group (valid rows only)
``keys-<j>.parquet``  aggregations mode: values of unique schema column ``j``, only if they
                      hold a duplicate or have no comparable bounds (:func:`write_keys` otherwise)
``rows.parquet``      sql mode: valid rows with ``__sw_line`` (0-based, chunk-relative)
``rejects.parquet``   line (0-based, chunk-relative), pos, column, value, reason
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..errors import DataError
from . import aggregate as agg
from . import rules
from ._duck import connect, error_text, ident, literal, path_literal
from .lines import LineMap, LongRecord, build_line_map, count_lines_in, count_records_in, fast_line_map, lines_at
from .scan import terminator

if TYPE_CHECKING:
    from ..spec import PipelineConfig

__all__ = [
    "MAX_RECORD_BYTES",
    "MAX_VALUE_CHARS",
    "ChunkFormat",
    "ChunkOutcome",
    "Exclusion",
    "KeyStats",
    "check_chunk",
    "locate_values",
    "normalize_chunk",
    "write_keys",
]

logger = logging.getLogger(__name__)

MAX_RECORD_BYTES = 32 * 1024 * 1024
"""Longest record a chunk reads; longer ones are rejected ("record longer than the 32 MiB limit")."""
_BUFFER_RECORDS = 16
"""DuckDB's read buffer, in records of the longest size (its own default ratio).

DuckDB reports a record longer than ``max_line_size`` as ``LINE SIZE OVER MAXIMUM``
only while it fits its read buffer; a longer one (over 512 MiB with a 32 MiB
limit) it skips without a word: neither a row nor a reject. The chunk's records
are therefore counted apart from DuckDB, and such records rejected here."""
MAX_VALUE_CHARS = 4096
"""Reject values longer than this are cut (with a trailing ``…``) in rejects.csv."""

# DuckDB's explicit '\r\n' mode misreads files (one giant line); its detection handles CRLF.
BLOCK = 8 * 1024 * 1024
_NEW_LINE = {"lf": "\\n", "crlf": None, "cr": "\\r"}
BAD_ROWS_KEPT = 65536
"""Failing rows whose raw values the first pass keeps; a chunk with more is read a second time for reasons."""
_KEYS = "__sw_k"
_BAD = "__sw_badrows"
_COUNT_MESSAGE = re.compile(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)")


@dataclass(frozen=True)
class ChunkFormat:
    """How a chunk's bytes are laid out."""

    columns: tuple[str, ...]
    """Column names in file order."""
    newline: str
    """``lf``, ``crlf`` or ``cr``."""
    encoding: str = "utf-8"
    """``utf-8`` or ``latin-1`` (DuckDB reads these natively)."""


@dataclass(frozen=True)
class Exclusion:
    """A row that passed its rules but is rejected anyway (a duplicate of a unique column)."""

    ordinal: int
    column: str
    value: str
    reason: str


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
class ChunkOutcome:
    """What checking one chunk produced."""

    rows_read: int
    rows_valid: int
    rows_rejected: int
    lines: int
    """Physical lines in the chunk."""
    exact_lines: bool = True
    files: Mapping[str, Path] = field(default_factory=dict)
    """name (``partial``, ``rejects``, ``rows``, ``keys-<j>``) -> local file."""
    keys: Mapping[str, KeyStats] = field(default_factory=dict)
    """unique column name -> its statistics (aggregations mode)."""
    pattern_failures: tuple[str, ...] = ()
    """Columns whose pattern some row's value broke (found on the distinct values, or among the rejects)."""
    unproven_keys: tuple[str, ...] = ()
    """Integer unique columns whose count and bounds did not prove their values distinct."""


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


def _reader(path: Path, config: PipelineConfig, fmt: ChunkFormat, *, store_rejects: bool, max_record_bytes: int = MAX_RECORD_BYTES) -> str:
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
        f"buffer_size = {max_record_bytes * _BUFFER_RECORDS}",
        "strict_mode = true",
        "null_padding = false",
        "store_rejects = true" if store_rejects else "ignore_errors = true",
    ]
    new_line = _NEW_LINE[fmt.newline]
    if new_line is not None:
        options.append(f"new_line = {literal(new_line)}")
    alias = ", ".join([*names, rules.ORD])
    return f"read_csv({path_literal(path)}, {', '.join(options)}) WITH ORDINALITY AS __sw_t({alias})"


def _raw_names(config: PipelineConfig) -> list[str]:
    return [rules.raw_name(j) for j in range(len(config.columns))]


def _raw_struct(config: PipelineConfig) -> str:
    """A row's ordinal and raw values as a struct whose fields are named like the columns."""
    fields = [rules.ORD, *_raw_names(config)]
    return "{" + ", ".join(f"{literal(f)}: {f}" for f in fields) + "}"


def _describe_types(con: duckdb.DuckDBPyConnection, config: PipelineConfig) -> dict[str, str]:
    """DuckDB type of every schema and derived column."""
    width = len(config.columns)
    empty = (
        "(SELECT "
        + ", ".join(
            [
                *(f"NULL::VARCHAR AS {rules.raw_name(j)}" for j in range(width)),
                f"0::BIGINT AS {rules.ORD}",
            ]
        )
        + " WHERE FALSE)"
    )
    relation = rules.derived_relation(config, rules.typed_relation(config, empty))
    return {str(name): str(kind) for name, kind, *_ in con.execute(f"DESCRIBE {relation}").fetchall()}


def check_chunk(
    path: Path,
    *,
    config: PipelineConfig,
    fmt: ChunkFormat,
    out_dir: Path,
    where: str,
    exclude: Sequence[Exclusion] = (),
    memory_limit_mb: int | None = None,
    temp_dir: Path | None = None,
    bad_rows_kept: int = BAD_ROWS_KEPT,
    per_row_patterns: Collection[str] = (),
    listed_keys: Collection[str] | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> ChunkOutcome:
    """Validate and reduce one chunk file.

    Args:
        path: the chunk's bytes (UTF-8 or latin-1, see :func:`normalize_chunk`).
        config: the pipeline.
        fmt: columns in file order, line terminator, encoding.
        out_dir: where the output files go (created).
        where: names the chunk in messages (``s3://b/k bytes 0-1000``).
        exclude: rows to reject as duplicates (a re-run by the aggregate stage).
        memory_limit_mb: DuckDB's memory limit.
        temp_dir: where DuckDB may spill.
        bad_rows_kept: aggregations mode: how many failing rows the first pass
            keeps for their reasons; with more, the chunk is read again.
        per_row_patterns: columns whose pattern is checked on every row even where
            the distinct values would do (see :func:`rules.deferrable_columns`).
        listed_keys: integer unique columns whose values the pass collects in case
            their count and bounds prove nothing (``None``: all of them). The
            others are read again from the chunk when that happens.
        max_record_bytes: longer records are rejected.

    Raises:
        DataError: DuckDB cannot parse the chunk at all, a derived expression
            fails on a valid row, or the chunk's records and what DuckDB made of
            them do not add up (every record is either a row or a reject).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    con = connect(files=[path.parent, out_dir], threads=1, memory_limit_mb=memory_limit_mb, temp_dir=temp_dir)
    try:
        return _check(con, path, config, fmt, out_dir, where, exclude, bad_rows_kept, per_row_patterns, listed_keys, max_record_bytes)
    except duckdb.Error as exc:
        # Whatever else DuckDB says may quote the chunk's values: excerpts only.
        raise DataError(f"{where}: {error_text(exc)}") from None
    finally:
        con.close()


def _check(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    config: PipelineConfig,
    fmt: ChunkFormat,
    out_dir: Path,
    where: str,
    exclude: Sequence[Exclusion],
    bad_rows_kept: int,
    per_row_patterns: Collection[str],
    listed_keys: Collection[str] | None,
    limit: int,
) -> ChunkOutcome:
    mode = config.processing.mode
    kept = max(1, bad_rows_kept)
    types = _describe_types(con, config)
    unique = [(j, c.name) for j, c in enumerate(config.columns) if c.unique] if mode == "aggregations" else []
    # Integer keys also get their count and bounds, which usually settle their distinctness.
    counted = {j for j, _ in unique if config.columns[j].type == "integer"}
    # Their values are collected too, unless the caller expects the bounds to settle it.
    listed = {j for j, name in unique if j not in counted or listed_keys is None or name in listed_keys}
    exclude_table = None
    if exclude:
        con.execute("CREATE TEMP TABLE __sw_excl (ord BIGINT)")
        con.executemany("INSERT INTO __sw_excl VALUES (?)", [(e.ordinal,) for e in exclude])
        exclude_table = "__sw_excl"

    # Patterns of columns whose distinct values the partials keep are checked on those values.
    deferred = rules.deferrable_columns(config) if mode == "aggregations" else {}
    deferred = {j: partial for j, partial in deferred.items() if config.columns[j].name not in per_row_patterns}
    failing: dict[int, str] = {}

    def typed_rows(fmt: ChunkFormat, *, store_rejects: bool) -> str:
        """The chunk's rows, typed and judged as this check judges them (patterns deferred or named)."""
        source = _reader(path, config, fmt, store_rejects=store_rejects, max_record_bytes=limit)
        return rules.typed_relation(config, source, exclude=exclude_table, deferred=tuple(deferred), failing=failing)

    def phase_one(fmt: ChunkFormat) -> None:
        typed = typed_rows(fmt, store_rejects=True)
        if mode == "aggregations":
            relation = rules.derived_relation(config, typed)
            items = [f"CASE WHEN {rules.OK} THEN {ident(g)} END AS {ident(g)}" for g in config.processing.group_by]
            items += [rules.OK, "count(*) AS __sw_n", *agg.chunk_partials(config, types)]
            for j, name in unique:
                col = ident(name)
                if j in listed:
                    items.append(f"list({col}) FILTER (WHERE {col} IS NOT NULL) AS {_KEYS}{j}")
                if j in counted:
                    # Count and bounds often prove the values distinct without looking at them (see _key_stats).
                    items += [f"count({col}) AS {_KEYS}n{j}", f"min({col}) AS {_KEYS}lo{j}", f"max({col}) AS {_KEYS}hi{j}"]
            # The first failing rows' raw values, so that their reasons need no second read of the chunk.
            items.append(f"min_by({_raw_struct(config)}, {rules.ORD}, {kept}) FILTER (WHERE NOT {rules.OK}) AS {_BAD}")
            con.execute(f"CREATE TEMP TABLE __sw_partial AS SELECT {', '.join(items)} FROM ({relation}) GROUP BY ALL")
        else:
            names = rules.schema_columns_sql(config)
            # Raw values of failing rows only (NULL elsewhere): their reasons need them.
            raws = ", ".join(f"CASE WHEN NOT {rules.OK} THEN {r} END AS {r}" for r in _raw_names(config))
            con.execute(f"CREATE TEMP TABLE __sw_rows AS SELECT {rules.ORD}, {rules.OK}, {names}, {raws} FROM ({typed})")

    try:
        fmt = _run_reader(con, path, fmt, where, phase_one)
    except (DataError, duckdb.Error):
        if not deferred:
            raise
        # A derived column failed (with whatever error DuckDB gives) on a row whose only fault
        # may be a deferred pattern: decided again with every pattern per row, where a failure
        # on a valid row stays an error.
        deferred.clear()
        con.execute("DROP TABLE IF EXISTS __sw_partial")
        fmt = _run_reader(con, path, fmt, where, phase_one)
    for j, partial in deferred.items():
        table = f"__sw_fail{j}"
        con.execute(f"CREATE TEMP TABLE {table} AS {rules.failing_values_sql(config, j, partial, '__sw_partial')}")
        if (con.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,))[0]:
            failing[j] = table
    if failing:
        # Some valid-looking rows hold values that break a pattern: the partials counted them,
        # so the chunk is computed again with those values named (cheaper than the patterns).
        logger.info("values break a pattern; computing the chunk again", extra={"chunk": where})
        con.execute("DROP TABLE __sw_partial")
        fmt = _run_reader(con, path, fmt, where, phase_one)

    if mode == "aggregations":
        parsed, bad = con.execute(
            f"SELECT coalesce(sum(__sw_n), 0), coalesce(sum(__sw_n) FILTER (WHERE NOT {rules.OK}), 0) FROM __sw_partial"
        ).fetchone() or (0, 0)
    else:
        parsed, bad = con.execute(f"SELECT count(*), count(*) FILTER (WHERE NOT {rules.OK}) FROM __sw_rows").fetchone() or (0, 0)
    parsed, bad = int(parsed), int(bad)
    reader_rejects = _reader_rejects(con, config, fmt, path, limit)
    term = terminator(fmt.newline)
    lines = count_lines_in(path, term)
    rows_read = parsed + len(reader_rejects)
    if rows_read != lines:
        # Not one record per line (quoted line breaks, blank lines), or DuckDB lost some.
        rows_read = _account_records(path, config, fmt, where, parsed, reader_rejects, lines, limit)
    line_map = LineMap((1,), (0,))
    reject_lines: dict[int, int] = {}
    if bad or reader_rejects or mode == "sql":
        line_map, reject_lines = _line_map(path, config, fmt, parsed, sorted(reader_rejects), lines)
    _load_line_map(con, line_map)

    con.execute("CREATE TEMP TABLE __sw_rejects (line BIGINT, pos INTEGER, column_name VARCHAR, value VARCHAR, reason VARCHAR)")
    if reader_rejects:
        con.executemany(
            "INSERT INTO __sw_rejects VALUES (?, ?, ?, ?, ?)",
            [(reject_lines[offset], *entry) for offset, entry in reader_rejects.items()],
        )
    if bad:
        raw_list = f"{rules.ORD}, {', '.join(_raw_names(config))}"
        if mode == "sql":
            source = f"(SELECT {raw_list} FROM __sw_rows WHERE NOT {rules.OK})"
        elif bad <= kept:
            source = f"(SELECT unnest({_BAD}, recursive := true) FROM __sw_partial WHERE NOT {rules.OK})"
        else:
            source = _reader(path, config, fmt, store_rejects=False, max_record_bytes=limit)
        typed = rules.typed_relation(config, source, exclude=exclude_table)
        con.execute(f"CREATE TEMP TABLE __sw_bad AS SELECT * FROM ({typed}) WHERE NOT {rules.OK}")
        reasons = rules.reasons_relation(config, "__sw_bad")
        value = f"CASE WHEN length(value) > {MAX_VALUE_CHARS} THEN left(value, {MAX_VALUE_CHARS}) || '…' ELSE value END"
        con.execute(
            f"INSERT INTO __sw_rejects SELECT {_line_expr('r.ord')}, pos, column_name, {value}, reason "
            f"FROM ({reasons}) r ASOF JOIN __sw_lines m ON r.ord >= m.ord_start"
        )
    if exclude:
        position = {name: j for j, name in enumerate(config.column_names)}
        con.executemany(
            "INSERT INTO __sw_rejects VALUES (?, ?, ?, ?, ?)",
            [
                (
                    line_map.line_of(e.ordinal),
                    position.get(e.column, -1),
                    e.column,
                    _cut(e.value),
                    e.reason,
                )
                for e in exclude
            ],
        )

    files: dict[str, Path] = {}
    keys: dict[str, KeyStats] = {}
    unproven: list[str] = []
    files["rejects"] = out_dir / "rejects.parquet"
    _copy(con, "SELECT * FROM __sw_rejects ORDER BY line, pos", files["rejects"])
    if mode == "aggregations":
        internal = [_BAD]
        for j, _ in unique:
            kinds = ([""] if j in listed else []) + (["n", "lo", "hi"] if j in counted else [])
            internal += [f"{_KEYS}{kind}{j}" for kind in kinds]
        files["partial"] = out_dir / "partial.parquet"
        _copy(con, f"SELECT * EXCLUDE ({', '.join(internal)}) FROM __sw_partial WHERE {rules.OK}", files["partial"])
        for j, name in unique:
            proven = _key_stats(con, j) if j in counted else None
            if proven is not None:
                count, distinct, low, high = proven
                keys[name] = KeyStats(count, distinct, _comparable(low), _comparable(high))
                continue
            if j in counted:
                unproven.append(name)
            if j in listed:
                table = f"(SELECT unnest({_KEYS}{j}) AS k FROM __sw_partial WHERE {rules.OK})"
            else:
                # The bounds were expected to settle it and did not: the values, read again.
                table = f"__sw_keys{j}"
                col = ident(name)
                typed = typed_rows(fmt, store_rejects=False)
                con.execute(f"CREATE TEMP TABLE {table} AS SELECT {col} AS k FROM ({typed}) WHERE {rules.OK} AND {col} IS NOT NULL")
            count, low, high = con.execute(f"SELECT count(k), min(k), max(k) FROM {table}").fetchone() or (0, None, None)
            distinct = _distinct(con, table, int(count), low, high)
            keys[name] = KeyStats(int(count), distinct, _comparable(low), _comparable(high))
            # Without an internal duplicate and with comparable bounds, the aggregate stage
            # compares the values only if the chunks' ranges overlap; it then reads them
            # from the chunk itself (write_keys), which is rarer than writing them here.
            if distinct < count or keys[name].low is None or keys[name].high is None:
                files[f"keys-{j}"] = out_dir / f"keys-{j}.parquet"
                _copy(con, f"SELECT k FROM {table}", files[f"keys-{j}"])
    else:
        files["rows"] = out_dir / "rows.parquet"
        names = rules.schema_columns_sql(config)
        _copy(
            con,
            f"SELECT {_line_expr('r.' + rules.ORD)} AS __sw_line, {', '.join('r.' + ident(n) for n in config.column_names)} "
            f"FROM __sw_rows r ASOF JOIN __sw_lines m ON r.{rules.ORD} >= m.ord_start WHERE r.{rules.OK} ORDER BY r.{rules.ORD}"
            if not line_map.trivial
            else f"SELECT {rules.ORD} - 1 AS __sw_line, {names} FROM __sw_rows WHERE {rules.OK} ORDER BY {rules.ORD}",
            files["rows"],
        )
    # Which patterns valid-looking values broke: the next run checks those per row.
    broken = {config.columns[j].name for j in failing}
    patterned = [c.name for c in config.columns if c.regex is not None and c.name not in broken]
    if bad and patterned:
        found = con.execute(
            f"SELECT DISTINCT column_name FROM __sw_rejects WHERE starts_with(reason, {literal(rules.PATTERN_REASON)})"
        ).fetchall()
        broken.update(str(name) for (name,) in found)
    rejected = bad + len(reader_rejects)
    _check_accounts(con, where, rows_read, parsed - bad, rejected, exact=line_map.exact)
    return ChunkOutcome(
        rows_read=rows_read,
        rows_valid=parsed - bad,
        rows_rejected=rejected,
        lines=lines,
        exact_lines=line_map.exact,
        files=files,
        keys=keys,
        pattern_failures=tuple(sorted(broken)),
        unproven_keys=tuple(unproven),
    )


def _account_records(
    path: Path,
    config: PipelineConfig,
    fmt: ChunkFormat,
    where: str,
    parsed: int,
    reader_rejects: dict[int, tuple[int, str, str, str]],
    lines: int,
    limit: int,
) -> int:
    """The chunk's records, counted without DuckDB; records DuckDB skipped unreported join ``reader_rejects``.

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
    seen = parsed + len(reader_rejects)
    if counted.records > seen:
        skipped = [r for r in counted.long if r.offset not in reader_rejects]
        if len(skipped) != counted.records - seen:
            raise DataError(
                f"{where}: {counted.records - seen} of its {counted.records} records were neither read nor rejected "
                f"by the CSV reader ({parsed} read, {len(reader_rejects)} rejected); refusing an incomplete result"
            )
        _reject_long(path, fmt, reader_rejects, skipped, limit)
        return counted.records
    if counted.records < seen:
        # A quote inside an unquoted field (5") opens a quoted field for the parity count,
        # which then joins the lines up to the next quote; DuckDB keeps such a quote
        # literal and reads those lines apart. Its rows are then the better count (never
        # more than the chunk's lines), but they cannot show a skipped record: the lines
        # too long for DuckDB's buffer, which it can neither return nor report, are.
        too_long = count_records_in(path, term=terminator(fmt.newline), quote=b"", limit=limit * _BUFFER_RECORDS).long
        skipped = [r for r in too_long if r.offset not in reader_rejects]
        _reject_long(path, fmt, reader_rejects, skipped, limit)
        seen += len(skipped)
        if seen > lines:
            raise DataError(f"{where}: the CSV reader returned {seen} records from {lines} lines; refusing an inconsistent result")
        logger.warning("a stray quote: records counted by the reader", extra={"chunk": where, "counted": counted.records, "seen": seen})
    return seen


def _reject_long(
    path: Path, fmt: ChunkFormat, reader_rejects: dict[int, tuple[int, str, str, str]], records: Sequence[LongRecord], limit: int
) -> None:
    """Add records DuckDB skipped for their length to ``reader_rejects``, with their first characters."""
    with open(path, "rb") as handle:
        for record in records:
            handle.seek(record.offset)
            head = handle.read(MAX_VALUE_CHARS).decode(fmt.encoding, errors="replace")
            reader_rejects[record.offset] = (-1, "", _cut(head + "…"), _too_long(limit))


def _check_accounts(con: duckdb.DuckDBPyConnection, where: str, read: int, valid: int, rejected: int, *, exact: bool) -> None:
    """Every record read is valid or rejected, and every rejected record has its line among the rejects.

    Raises:
        DataError: the counts do not add up (a defect, never the data's fault: the run must not succeed).
    """
    lines = (con.execute("SELECT count(DISTINCT line) FROM __sw_rejects").fetchone() or (0,))[0]
    # With approximate line numbers two rejected records may share a line.
    if read != valid + rejected or (lines != rejected if exact else lines > rejected):
        raise DataError(
            f"{where}: records do not add up: {read} read, {valid} valid, {rejected} rejected, "
            f"{lines} lines in the rejects; refusing an incomplete result"
        )


def _too_long(limit: int) -> str:
    """The reason a record over ``limit`` bytes is rejected."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit % size == 0:
            return f"record longer than the {limit // size} {unit} limit"
    return f"record longer than the {limit}-byte limit"


def _line_map(
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


def _run_reader(con: duckdb.DuckDBPyConnection, path: Path, fmt: ChunkFormat, where: str, phase: Any) -> ChunkFormat:
    """Run the first pass; if DuckDB's strict parser trips over carriage returns, normalise and retry.

    DuckDB refuses chunks that mix CRLF and LF (Excel writes LF inside quoted cells
    and CRLF between rows; concatenated exports mix both). Such chunks are
    rewritten with CRLF turned into LF, then, if that is not enough, with every CR
    removed; line numbers are unaffected, CRs inside values are lost.
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
            for table in ("__sw_partial", "__sw_rows"):
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


def _reader_rejects(
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
            reason = _too_long(limit)
            pos, name = -1, ""
        else:
            reason = _first_line(str(message))
        text = str(line or "").strip("\r\n")
        result[offset] = (pos, name, _cut(text), reason)
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


def _load_line_map(con: duckdb.DuckDBPyConnection, line_map: LineMap) -> None:
    con.execute("CREATE TEMP TABLE __sw_lines (ord_start BIGINT, line_start BIGINT)")
    con.executemany(
        "INSERT INTO __sw_lines VALUES (?, ?)",
        list(zip(line_map.starts, line_map.lines, strict=True)),
    )


def _line_expr(ordinal: str) -> str:
    return f"m.line_start + ({ordinal} - m.ord_start)"


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    con.execute(f"COPY ({query}) TO {path_literal(target)} (FORMAT parquet)")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else message


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


def _key_stats(con: duckdb.DuckDBPyConnection, j: int) -> tuple[int, int, Any, Any] | None:
    """(count, distinct, min, max) of integer key ``j`` among the valid rows, if count and bounds prove it distinct.

    ``n`` integers between ``low`` and ``high`` with ``high - low + 1 == n`` are all
    different (pigeonhole). This holds for the valid rows when it holds for them or
    for all rows whose key parsed (rejected rows often leave gaps in an id sequence).
    """
    n, lo, hi = f"{_KEYS}n{j}", f"{_KEYS}lo{j}", f"{_KEYS}hi{j}"
    found = con.execute(
        f"SELECT coalesce(sum({n}) FILTER (WHERE {rules.OK}), 0), min({lo}) FILTER (WHERE {rules.OK}), "
        f"max({hi}) FILTER (WHERE {rules.OK}), coalesce(sum({n}), 0), min({lo}), max({hi}) FROM __sw_partial"
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

    The same values :func:`check_chunk` keeps for a unique column; for chunks that
    did not write them.
    """
    con = connect(files=[path.parent, target.parent], threads=1, memory_limit_mb=memory_limit_mb, temp_dir=temp_dir)
    try:

        def phase(fmt: ChunkFormat) -> None:
            typed = rules.typed_relation(config, _reader(path, config, fmt, store_rejects=True))
            name = ident(column)
            _copy(con, f"SELECT {name} AS k FROM ({typed}) WHERE {rules.OK} AND {name} IS NOT NULL", target)

        _run_reader(con, path, fmt, where, phase)
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
            typed = rules.typed_relation(config, _reader(path, config, fmt, store_rejects=True))
            result[:] = con.execute(
                f"SELECT {rules.ORD}, {rules.raw_name(j)}, CAST({ident(column)} AS VARCHAR) FROM ({typed}) "
                f"WHERE {rules.OK} AND {ident(column)} IN (SELECT k FROM read_parquet({path_literal(values_file)})) "
                f"ORDER BY {rules.ORD}"
            ).fetchall()

        fmt = _run_reader(con, path, fmt, where, phase)
        parsed = int((con.execute(f"SELECT count(*) FROM {_reader(path, config, fmt, store_rejects=False)}").fetchone() or (0,))[0])
        rejected = _reader_rejects(con, config, fmt, path)
        lines = count_lines_in(path, terminator(fmt.newline))
        if parsed + len(rejected) != lines:
            _account_records(path, config, fmt, where, parsed, rejected, lines, MAX_RECORD_BYTES)
        line_map, _ = _line_map(path, config, fmt, parsed, sorted(rejected), lines)
        return [(int(o), line_map.line_of(int(o)), str(raw), str(value)) for o, raw, value in result]
    finally:
        con.close()

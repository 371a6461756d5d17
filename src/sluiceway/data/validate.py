"""One chunk through DuckDB: parse, validate every row, and keep what the aggregate stage needs.

DuckDB reads the chunk once (:mod:`.reader`) with every column as VARCHAR. The
same pass types the values, evaluates every rule into one validity flag
(:mod:`.rules`) and, depending on the processing mode, produces:

* ``aggregations``: GROUP BY partials over the valid rows (counts, sums,
  min/max, distinct-value lists, :mod:`.aggregate`), plus what the unique
  columns need (:mod:`.keys`: their values or, for integer ones, their count
  and bounds, which usually prove them distinct without a look at the values);
* ``sql``: the valid rows themselves (typed, with their line numbers).

A pattern on a string column that a ``count_distinct`` also reads is checked on the distinct values
the partials keep; when a value breaks it, the chunk is computed again with the
failing values named (:func:`.rules.deferrable_columns`). Every record is
accounted for and given its line (:mod:`.records`).

Only when something was rejected are per-column reasons computed, for the
failing rows alone: the first pass keeps the raw values of up to
:data:`BAD_ROWS_KEPT` of them, so only a chunk with more is read a second time.
Files written to ``out_dir``:

``partial.parquet``   aggregations mode: one row per group (valid rows only)
``keys-<j>.parquet``  aggregations mode: values of unique schema column ``j``, only if they
                      hold a duplicate or have no comparable bounds (:func:`.keys.write_keys` otherwise)
``rows.parquet``      sql mode: valid rows with ``__sw_line`` (0-based, chunk-relative)
``rejects.parquet``   line (0-based, chunk-relative), pos, column, value, reason
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ..errors import DataError
from . import aggregate as agg
from . import keys, records, rules
from ._duck import connect, copy_parquet, error_text, ident, literal
from .keys import KeyStats
from .lines import LineMap, count_lines_in
from .reader import MAX_RECORD_BYTES, ChunkFormat, read_relation, run_reader
from .scan import terminator

if TYPE_CHECKING:
    from ..spec import PipelineConfig

__all__ = ["BAD_ROWS_KEPT", "ChunkOutcome", "Exclusion", "check_chunk"]

logger = logging.getLogger(__name__)

BAD_ROWS_KEPT = 65536
"""Failing rows whose raw values the first pass keeps; a chunk with more is read a second time for reasons."""
_BAD = "__sw_badrows"
_PASS_TABLES = ("__sw_partial", "__sw_rows")
"""The tables a pass over the chunk creates (one or the other, by processing mode)."""


@dataclass(frozen=True)
class Exclusion:
    """A row that passed its rules but is rejected anyway (a duplicate of a unique column)."""

    ordinal: int
    column: str
    value: str
    reason: str


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
        path: the chunk's bytes (UTF-8 or latin-1, see :func:`.reader.normalize_chunk`).
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
            the distinct values would do (see :func:`.rules.deferrable_columns`).
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
        source = read_relation(path, config, fmt, store_rejects=store_rejects, max_record_bytes=limit)
        return rules.typed_relation(config, source, exclude=exclude_table, deferred=tuple(deferred), failing=failing)

    def phase_one(fmt: ChunkFormat) -> None:
        typed = typed_rows(fmt, store_rejects=True)
        if mode == "aggregations":
            relation = rules.derived_relation(config, typed)
            items = [f"CASE WHEN {rules.OK} THEN {ident(g)} END AS {ident(g)}" for g in config.processing.group_by]
            items += [rules.OK, "count(*) AS __sw_n", *agg.chunk_partials(config, types)]
            for j, name in unique:
                items += keys.pass_items(j, name, listed=j in listed, counted=j in counted)
            # The first failing rows' raw values, so that their reasons need no second read of the chunk.
            items.append(f"min_by({_raw_struct(config)}, {rules.ORD}, {kept}) FILTER (WHERE NOT {rules.OK}) AS {_BAD}")
            con.execute(f"CREATE TEMP TABLE __sw_partial AS SELECT {', '.join(items)} FROM ({relation}) GROUP BY ALL")
        else:
            names = rules.schema_columns_sql(config)
            # Raw values of failing rows only (NULL elsewhere): their reasons need them.
            raws = ", ".join(f"CASE WHEN NOT {rules.OK} THEN {r} END AS {r}" for r in _raw_names(config))
            con.execute(f"CREATE TEMP TABLE __sw_rows AS SELECT {rules.ORD}, {rules.OK}, {names}, {raws} FROM ({typed})")

    try:
        fmt = run_reader(con, path, fmt, where, phase_one, creates=_PASS_TABLES)
    except (DataError, duckdb.Error):
        if not deferred:
            raise
        # A derived column failed (with whatever error DuckDB gives) on a row whose only fault
        # may be a deferred pattern: decided again with every pattern per row, where a failure
        # on a valid row stays an error.
        deferred.clear()
        con.execute("DROP TABLE IF EXISTS __sw_partial")
        fmt = run_reader(con, path, fmt, where, phase_one, creates=_PASS_TABLES)
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
        fmt = run_reader(con, path, fmt, where, phase_one, creates=_PASS_TABLES)

    if mode == "aggregations":
        parsed, bad = con.execute(
            f"SELECT coalesce(sum(__sw_n), 0), coalesce(sum(__sw_n) FILTER (WHERE NOT {rules.OK}), 0) FROM __sw_partial"
        ).fetchone() or (0, 0)
    else:
        parsed, bad = con.execute(f"SELECT count(*), count(*) FILTER (WHERE NOT {rules.OK}) FROM __sw_rows").fetchone() or (0, 0)
    parsed, bad = int(parsed), int(bad)
    reader_rejects = records.reader_rejects(con, config, fmt, path, limit)
    term = terminator(fmt.newline)
    lines = count_lines_in(path, term)
    rows_read = parsed + len(reader_rejects)
    if rows_read != lines:
        # Not one record per line (quoted line breaks, blank lines), or DuckDB lost some.
        rows_read = records.account_records(path, config, fmt, where, parsed, reader_rejects, lines, limit)
    line_map = LineMap((1,), (0,))
    reject_lines: dict[int, int] = {}
    if bad or reader_rejects or mode == "sql":
        line_map, reject_lines = records.line_map(path, config, fmt, parsed, sorted(reader_rejects), lines)
    records.load_line_map(con, line_map)

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
            source = read_relation(path, config, fmt, store_rejects=False, max_record_bytes=limit)
        typed = rules.typed_relation(config, source, exclude=exclude_table)
        con.execute(f"CREATE TEMP TABLE __sw_bad AS SELECT * FROM ({typed}) WHERE NOT {rules.OK}")
        reasons = rules.reasons_relation(config, "__sw_bad")
        value = f"CASE WHEN length(value) > {records.MAX_VALUE_CHARS} THEN left(value, {records.MAX_VALUE_CHARS}) || '…' ELSE value END"
        con.execute(
            f"INSERT INTO __sw_rejects SELECT {records.line_expr('r.ord')}, pos, column_name, {value}, reason "
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
                    records.cut(e.value),
                    e.reason,
                )
                for e in exclude
            ],
        )

    files: dict[str, Path] = {}
    settled = keys.ChunkKeys({}, {}, ())
    files["rejects"] = out_dir / "rejects.parquet"
    copy_parquet(con, "SELECT * FROM __sw_rejects ORDER BY line, pos", files["rejects"])
    if mode == "aggregations":
        internal = [_BAD]
        for j, _ in unique:
            internal += keys.pass_columns(j, listed=j in listed, counted=j in counted)
        files["partial"] = out_dir / "partial.parquet"
        copy_parquet(con, f"SELECT * EXCLUDE ({', '.join(internal)}) FROM __sw_partial WHERE {rules.OK}", files["partial"])
        settled = keys.settle(
            con,
            "__sw_partial",
            unique,
            listed=listed,
            counted=counted,
            rows=lambda: typed_rows(fmt, store_rejects=False),
            out_dir=out_dir,
        )
        files.update(settled.files)
    else:
        files["rows"] = out_dir / "rows.parquet"
        names = rules.schema_columns_sql(config)
        copy_parquet(
            con,
            f"SELECT {records.line_expr('r.' + rules.ORD)} AS __sw_line, {', '.join('r.' + ident(n) for n in config.column_names)} "
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
        keys=settled.stats,
        pattern_failures=tuple(sorted(broken)),
        unproven_keys=settled.unproven,
    )


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

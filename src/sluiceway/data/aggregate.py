"""Partial aggregates per chunk, and their exact merge.

Each chunk reduces its valid rows to one row per group:

==================  ==========================  =====================================
aggregation         chunk keeps                 merge
==================  ==========================  =====================================
count               ``count(*)`` / ``count(c)``  sum
sum                 ``sum(c)``                  sum (integers as DECIMAL(38,0): exact)
min / max           ``min(c)`` / ``max(c)``     min / max
mean                ``sum(c)``, ``count(c)``     Σsum / Σcount
count_distinct      the distinct values         distinct over the union of the lists
==================  ==========================  =====================================

so the merged numbers equal those of one query over the whole file (sums of
floats may differ in the last bits, as any re-ordered float sum does).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..errors import DataError
from ._duck import error_text, ident, path_literal
from .sqltypes import logical_type

if TYPE_CHECKING:
    from ..spec import PipelineConfig

__all__ = [
    "RESULT_TABLE",
    "chunk_partials",
    "distinct_partial_name",
    "duplicate_values",
    "json_value",
    "merge_partials",
    "result_rows",
    "run_sql",
]

logger = logging.getLogger(__name__)

RESULT_TABLE = "__sw_result"


def _partial_name(index: int, kind: str) -> str:
    return f"__sw_a{index}_{kind}"


def distinct_partial_name(index: int) -> str:
    """The partial column holding the distinct values of aggregation ``index`` (a ``count_distinct``)."""
    return _partial_name(index, "d")


def chunk_partials(config: PipelineConfig, types: Mapping[str, str]) -> list[str]:
    """The chunk's aggregate select items (they follow ``count(*) AS __sw_n``).

    Args:
        config: the pipeline (aggregations mode).
        types: DuckDB type of every schema and derived column.
    """
    items: list[str] = []
    for i, spec in enumerate(config.processing.aggregations.values()):
        column = ident(spec.column) if spec.column else ""
        if spec.op == "count":
            if spec.column:
                items.append(f"count({column}) AS {_partial_name(i, 'n')}")
        elif spec.op in ("sum", "mean"):
            total = f"sum({column})"
            if logical_type(types.get(spec.column or "", "")) == "integer":
                total = f"CAST({total} AS DECIMAL(38,0))"  # HUGEINT would become DOUBLE in Parquet
            items.append(f"{total} AS {_partial_name(i, 's')}")
            if spec.op == "mean":
                items.append(f"count({column}) AS {_partial_name(i, 'n')}")
        elif spec.op in ("min", "max"):
            items.append(f"{spec.op}({column}) AS {_partial_name(i, spec.op)}")
        elif spec.op == "count_distinct":
            items.append(f"list(DISTINCT {column}) FILTER (WHERE {column} IS NOT NULL) AS {distinct_partial_name(i)}")
    return items


def merge_partials(con: duckdb.DuckDBPyConnection, config: PipelineConfig, partials: Sequence[Path]) -> None:
    """Merge the chunks' ``partial.parquet`` files into the table :data:`RESULT_TABLE`.

    Groups are ordered by their keys (NULLs last). Without ``group_by`` the
    result is one row, even when no row was valid. Distinct counts unnest the
    chunks' value lists and count them in a hash aggregate (faster than
    de-duplicating concatenated lists).
    """
    if not partials:
        raise ValueError("merge_partials needs at least one partial file (an empty chunk writes one)")
    files = "[" + ", ".join(path_literal(p) for p in partials) + "]"
    groups = [ident(g) for g in config.processing.group_by]
    group_list = ", ".join(groups)
    merged: list[str] = []
    distinct: list[tuple[str, str]] = []  # (CTE name, partial column)
    select: list[str] = [f"m.{g}" for g in groups]
    for i, (name, spec) in enumerate(config.processing.aggregations.items()):
        if spec.op == "count":
            source = _partial_name(i, "n") if spec.column else "__sw_n"
            expr = f"CAST(coalesce(sum({source}), 0) AS BIGINT)"
        elif spec.op == "sum":
            expr = f"sum({_partial_name(i, 's')})"
        elif spec.op in ("min", "max"):
            expr = f"{spec.op}({_partial_name(i, spec.op)})"
        elif spec.op == "mean":
            expr = f"CAST(sum({_partial_name(i, 's')}) AS DOUBLE) / NULLIF(sum({_partial_name(i, 'n')}), 0)"
        else:
            cte = f"__sw_d{i}"
            distinct.append((cte, distinct_partial_name(i)))
            select.append(f"CAST(coalesce({cte}.n, 0) AS BIGINT) AS {ident(name)}")
            continue
        merged.append(f"{expr} AS {ident(name)}")
        select.append(f"m.{ident(name)}")
    # Each part reads the files itself: a CTE shared by all would be materialized, lists and all.
    source = f"read_parquet({files})"
    by = f" GROUP BY {group_list}" if groups else ""
    ctes = [f"m AS (SELECT {', '.join([*groups, *merged]) or 'count(*) AS __sw_rows'} FROM {source}{by})"]
    joins = ""
    for cte, column in distinct:
        keys = f"{group_list}, " if groups else ""
        ctes.append(f"{cte} AS (SELECT {keys}count(DISTINCT __sw_v) AS n FROM (SELECT {keys}unnest({column}) AS __sw_v FROM {source}){by})")
        condition = " AND ".join(f"m.{g} IS NOT DISTINCT FROM {cte}.{g}" for g in groups) or "TRUE"
        joins += f" LEFT JOIN {cte} ON {condition}"
    query = f"WITH {', '.join(ctes)} SELECT {', '.join(select)} FROM m{joins}"
    if groups:
        query += f" ORDER BY {', '.join(f'm.{g} NULLS LAST' for g in groups)}"
    con.execute(f"CREATE TEMP TABLE {RESULT_TABLE} AS {query}")


def duplicate_values(con: duckdb.DuckDBPyConnection, key_files: Sequence[Path], target: Path) -> int:
    """Write the values that occur more than once across ``key_files`` to ``target``; return how many."""
    files = "[" + ", ".join(path_literal(p) for p in key_files) + "]"
    con.execute(f"COPY (SELECT k FROM read_parquet({files}) GROUP BY k HAVING count(*) > 1) TO {path_literal(target)} (FORMAT parquet)")
    found = con.execute(f"SELECT count(*) FROM read_parquet({path_literal(target)})").fetchone()
    return int(found[0]) if found else 0


def run_sql(
    con: duckdb.DuckDBPyConnection,
    config: PipelineConfig,
    rows: Sequence[tuple[Path, int]],
) -> list[tuple[int, int, str, str, str]]:
    """Run the pipeline's ``sql`` over the chunks' valid rows into :data:`RESULT_TABLE`.

    Args:
        rows: each chunk's ``rows.parquet`` with the chunk's first line number.

    Returns:
        The duplicate rejects of unique columns: (line, pos, column, value, reason);
        the first occurrence of a value is kept.

    Raises:
        DataError: the query fails on the rows (or reaches for a file: the connection
            given must be one :func:`~._duck.connect` limited to the run's own files).
    """
    names = ", ".join(ident(n) for n in config.column_names)
    union = " UNION ALL ".join(
        f"SELECT __sw_line + {int(first)} AS __sw_line, {names} FROM read_parquet({path_literal(path)})" for path, first in rows
    )
    con.execute(f"CREATE TEMP TABLE __sw_all AS {union}")
    duplicates: list[tuple[int, int, str, str, str]] = []
    for j, column in enumerate(config.columns):
        if not column.unique:
            continue
        col = ident(column.name)
        found = con.execute(
            f"SELECT __sw_line, CAST({col} AS VARCHAR), first FROM ("
            f"SELECT __sw_line, {col}, min(__sw_line) OVER (PARTITION BY {col}) AS first FROM __sw_all WHERE {col} IS NOT NULL"
            f") WHERE __sw_line > first ORDER BY __sw_line"
        ).fetchall()
        duplicates.extend(
            (
                int(line),
                j,
                column.name,
                str(value),
                f"duplicate value of unique column {column.name} (first on line {int(first)})",
            )
            for line, value, first in found
        )
    if duplicates:
        con.execute("CREATE TEMP TABLE __sw_dup_lines (line BIGINT)")
        con.executemany("INSERT INTO __sw_dup_lines VALUES (?)", sorted({(d[0],) for d in duplicates}))
        con.execute(f"CREATE TEMP VIEW valid_rows AS SELECT {names} FROM __sw_all WHERE __sw_line NOT IN (SELECT line FROM __sw_dup_lines)")
    else:
        con.execute(f"CREATE TEMP VIEW valid_rows AS SELECT {names} FROM __sw_all")
    sql = config.processing.sql or ""
    try:
        con.execute(f"CREATE TEMP TABLE {RESULT_TABLE} AS {sql}")
    except duckdb.Error as exc:
        # The message may quote values from the file (a failed cast): excerpts only.
        raise DataError(f"the pipeline's sql failed: {error_text(exc)}") from None
    return duplicates


def result_rows(con: duckdb.DuckDBPyConnection, *, limit: int | None = None) -> tuple[list[str], list[dict[str, Any]], int]:
    """The result table as JSON-ready rows: (columns, rows, total row count)."""
    total_row = con.execute(f"SELECT count(*) FROM {RESULT_TABLE}").fetchone()
    total = int(total_row[0]) if total_row else 0
    query = f"SELECT * FROM {RESULT_TABLE}" + (f" LIMIT {int(limit)}" if limit is not None else "")
    cursor = con.execute(query)
    columns = [str(d[0]) for d in cursor.description or []]
    rows = [{name: json_value(value) for name, value in zip(columns, row, strict=True)} for row in cursor.fetchall()]
    return columns, rows, total


def json_value(value: Any) -> Any:
    """A DuckDB value as JSON: integral decimals become ints, others floats; dates ISO 8601."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)

"""The schema compiled to DuckDB SQL: typed values, one validity flag, per-column reasons.

Every rule of every column becomes part of one boolean expression evaluated in
the same pass that parses the chunk, so checking costs one scan. Reasons are a
second expression per column, evaluated only for the rows that failed.

Relations built here read from a source with one VARCHAR column per schema
column, named ``__sw_r<j>`` (``j`` = the column's index in the schema), plus the
row's ordinal ``__sw_ord``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._duck import ident, literal
from .aggregate import distinct_partial_name
from .sqltypes import sql_type

if TYPE_CHECKING:
    from ..spec import ColumnSpec, PipelineConfig

__all__ = [
    "OK",
    "ORD",
    "PATTERN_REASON",
    "deferrable_columns",
    "derived_relation",
    "failing_values_sql",
    "raw_name",
    "reasons_relation",
    "schema_columns_sql",
    "typed_relation",
]

logger = logging.getLogger(__name__)

ORD = "__sw_ord"
OK = "__sw_ok"
PATTERN_REASON = "does not match the pattern "
"""How the reason for a broken ``regex`` rule starts (the pattern follows)."""
_MAX_LISTED = 10


def raw_name(index: int) -> str:
    """The raw VARCHAR column of schema column ``index``."""
    return f"__sw_r{index}"


def _typed(column: ColumnSpec, raw: str) -> str:
    if column.type == "string":
        return raw  # NULL where the reader found a null marker; "" (a quoted empty field) is a value
    if column.format and column.type in ("date", "timestamp"):
        parsed = f"TRY_STRPTIME({raw}, {literal(column.format)})"
        return f"CAST({parsed} AS DATE)" if column.type == "date" else parsed
    return f"TRY_CAST({raw} AS {sql_type(column)})"


def _value(column: ColumnSpec, value: Any) -> str:
    """A rule value as a SQL literal of the column's type."""
    if column.type == "string":
        return literal(str(value))
    if column.type == "boolean":
        return "TRUE" if value else "FALSE"
    if column.type == "integer":
        return str(int(value))
    if column.type == "float":
        return f"CAST({float(value)!r} AS DOUBLE)"
    return f"CAST({literal(str(value))} AS {sql_type(column)})"


def _type_problem(column: ColumnSpec, raw: str, typed: str) -> str:
    """SQL that is true when a present raw value does not convert."""
    if column.type == "string":
        return "FALSE"
    if column.type == "integer":
        # TRY_CAST rounds '1.5' to 2; an integer column takes only integral numbers.
        return f"({typed} IS NULL OR {typed} <> TRY_CAST({raw} AS DOUBLE))"
    return f"{typed} IS NULL"


def _type_reason(column: ColumnSpec) -> str:
    if column.type in ("date", "timestamp"):
        expected = column.format or ("YYYY-MM-DD" if column.type == "date" else "YYYY-MM-DD HH:MM:SS")
        return f"not a valid {column.type} (expected {expected})"
    if column.type == "decimal":
        return f"not a valid decimal({column.decimal_precision},{column.decimal_scale})"
    return f"not a valid {column.type}"


def _rule_checks(column: ColumnSpec, raw: str, typed: str, *, pattern: bool = True) -> list[tuple[str, str, str]]:
    """(SQL true when the rule holds, SQL true when it is broken, reason) per declared rule, in reporting order.

    Args:
        pattern: include the ``regex`` rule.
    """
    checks: list[tuple[str, str, str]] = []
    if column.min is not None:
        low = _value(column, column.min)
        checks.append((f"{typed} >= {low}", f"{typed} < {low}", f"less than the minimum {column.min}"))
    if column.max is not None:
        high = _value(column, column.max)
        checks.append((f"{typed} <= {high}", f"{typed} > {high}", f"greater than the maximum {column.max}"))
    if column.regex is not None and pattern:
        match = f"regexp_full_match({raw}, {literal(column.regex)})"
        checks.append((match, f"NOT {match}", f"{PATTERN_REASON}{column.regex}"))
    if column.allowed is not None:
        values = ", ".join(_value(column, v) for v in column.allowed)
        shown = ", ".join(str(v) for v in column.allowed[:_MAX_LISTED])
        if len(column.allowed) > _MAX_LISTED:
            shown += f", ... ({len(column.allowed)} values)"
        checks.append(
            (
                f"{typed} IN ({values})",
                f"{typed} NOT IN ({values})",
                f"not one of the allowed values: {shown}",
            )
        )
    return checks


EMPTY_REASON = "required value is an empty string"
"""Why a required string column's ``""`` is rejected (a null is "required value is missing")."""


def _valid(column: ColumnSpec, raw: str, typed: str, *, regex: str = "row") -> str:
    """SQL true when the column's value passes every rule; FALSE or NULL when one is broken.

    The shape keeps DuckDB's work small: a present typed value implies a present
    raw value, so required columns need no separate null test. A null (a null
    marker, unquoted) passes every rule but ``required``; an empty string (``""``,
    quoted) is a value: a string column checks it like any other (``required``
    refuses it), other types do not parse it.

    Args:
        regex: how the column's pattern is checked: ``row`` (on every row),
            ``deferred`` (not here: on the distinct values afterwards, see
            :func:`deferrable_columns`), or the name of a table whose column ``v``
            lists the values known to break it.
    """
    present = [f"{typed} IS NOT NULL"]
    if column.type == "string" and column.required:
        present.append(f"{typed} <> ''")
    if column.type == "integer":
        present.append(f"{typed} = TRY_CAST({raw} AS DOUBLE)")
    present.extend(holds for holds, _, _ in _rule_checks(column, raw, typed, pattern=regex == "row"))
    if column.regex is not None and regex not in ("row", "deferred"):
        present.append(f"{typed} NOT IN (SELECT v FROM {regex})")
    conjunction = " AND ".join(present)
    if column.required:
        return conjunction
    return f"({raw} IS NULL OR ({conjunction}))"


def _reason(column: ColumnSpec, raw: str, typed: str) -> str:
    """SQL giving the first broken rule's reason, or NULL."""
    branches = [f"WHEN {raw} IS NULL THEN {literal('required value is missing') if column.required else 'NULL'}"]
    if column.type == "string" and column.required:
        branches.append(f"WHEN {raw} = '' THEN {literal(EMPTY_REASON)}")
    branches.append(f"WHEN {_type_problem(column, raw, typed)} THEN {literal(_type_reason(column))}")
    branches.extend(f"WHEN {broken} THEN {literal(reason)}" for _, broken, reason in _rule_checks(column, raw, typed))
    return "CASE " + " ".join(branches) + " END"


def deferrable_columns(config: PipelineConfig) -> dict[int, str]:
    """Schema columns whose pattern a chunk may check on distinct values: index -> the partial holding them.

    A pattern costs about as much per row as parsing a short field (every call
    to the regex engine has a fixed cost), but the values a column's
    ``count_distinct`` keeps are usually far fewer than its rows. For a string
    column (whose typed value is its text), checking the pattern on those values
    afterwards decides the same rows -- provided every value passes. When one
    does not, the chunk is computed again with the failing values named
    (:func:`typed_relation` ``failing``), so the outcome never depends on the
    shortcut.
    """
    found: dict[int, str] = {}
    for j, column in enumerate(config.columns):
        if column.type != "string" or column.regex is None or config.processing.mode != "aggregations":
            continue
        for i, spec in enumerate(config.processing.aggregations.values()):
            if spec.op == "count_distinct" and spec.column == column.name:
                found[j] = distinct_partial_name(i)
                break
    return found


def failing_values_sql(config: PipelineConfig, j: int, partial: str, table: str) -> str:
    """SQL listing (as ``v``) the distinct values of column ``j`` in ``table``'s valid rows that break its pattern."""
    column = config.columns[j]
    # The same value is kept once per group: de-duplicated first, each is matched once.
    return (
        f"SELECT v FROM (SELECT DISTINCT unnest({partial}) AS v FROM {table} WHERE {OK}) "
        f"WHERE NOT regexp_full_match(v, {literal(column.regex or '')})"
    )


def typed_relation(
    config: PipelineConfig,
    source: str,
    *,
    exclude: str | None = None,
    deferred: Sequence[int] = (),
    failing: Mapping[int, str] | None = None,
) -> str:
    """``SELECT`` of the ordinal, the raw columns, the typed schema columns and ``__sw_ok``.

    Args:
        config: the pipeline.
        source: a relation with ``__sw_ord`` and ``__sw_r<j>`` columns.
        exclude: a table with an ``ord`` column; those rows are not valid (duplicates).
        deferred: columns whose pattern ``__sw_ok`` leaves out (checked later on
            the distinct values, see :func:`deferrable_columns`).
        failing: column -> a table whose column ``v`` holds the values that break
            the column's pattern; these replace the pattern in ``__sw_ok``.
    """
    columns = config.columns
    typed = [f"{_typed(c, raw_name(j))} AS {ident(c.name)}" for j, c in enumerate(columns)]
    raws = [raw_name(j) for j in range(len(columns))]
    failing = failing or {}

    def how(j: int) -> str:
        return failing.get(j, "deferred" if j in deferred else "row")

    valid = " AND ".join(_valid(c, raw_name(j), ident(c.name), regex=how(j)) for j, c in enumerate(columns))
    if exclude:
        valid = f"{valid} AND {ORD} NOT IN (SELECT ord FROM {exclude})"
    valid = f"coalesce({valid}, FALSE)"
    inner = f"SELECT {ORD}, {', '.join(raws)}, {', '.join(typed)} FROM {source}"
    return f"SELECT *, {valid} AS {OK} FROM ({inner})"


def derived_relation(config: PipelineConfig, relation: str) -> str:
    """``relation`` plus the derived columns, computed for valid rows only (NULL otherwise)."""
    derived = config.processing.derived
    if not derived:
        return relation
    items = [f"CASE WHEN {OK} THEN ({expr}) END AS {ident(name)}" for name, expr in derived.items()]
    return f"SELECT *, {', '.join(items)} FROM ({relation})"


def reasons_relation(config: PipelineConfig, bad_rows: str) -> str:
    """One row per broken rule of each row in ``bad_rows``: ordinal, position, column, value, reason."""
    parts = []
    for j, column in enumerate(config.columns):
        raw = raw_name(j)
        reason = _reason(column, raw, ident(column.name))
        parts.append(
            f"SELECT {ORD} AS ord, {j} AS pos, {literal(column.name)} AS column_name, {raw} AS value, reason "
            f"FROM (SELECT {ORD}, {raw}, {reason} AS reason FROM {bad_rows}) WHERE reason IS NOT NULL"
        )
    return " UNION ALL ".join(parts)


def schema_columns_sql(config: PipelineConfig, names: Sequence[str] | None = None) -> str:
    """``"a", "b"``: the schema's typed columns (or ``names``) as a select list."""
    return ", ".join(ident(n) for n in (names if names is not None else config.column_names))

"""Checks that need the whole config: names, references, aggregation types, and its SQL compiled by DuckDB.

Each model in :mod:`sluiceway.spec` checks what it sees alone; what is left needs
the schema, the derived columns and the processing at once, and DuckDB to learn
what type a derived expression has. The SQL itself is compiled by the data engine
(:func:`sluiceway.data.sqlcheck.check_sql`), imported only when a config's shape is
right: importing ``sluiceway.config`` does not load DuckDB. This is the one place
where the config loader depends on the engine; the engine depends on
:mod:`sluiceway.spec` only, never on this package.
"""

from __future__ import annotations

import logging
from typing import Any

from ..spec import NUMERIC_TYPES, RESERVED_PREFIX, PipelineConfig

__all__ = ["semantic_problems"]

logger = logging.getLogger(__name__)


def semantic_problems(config: PipelineConfig) -> list[tuple[tuple[Any, ...], str]]:
    """Problems that need the whole config: references, types, and SQL compiled against the schema."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    processing = config.processing
    schema_names = set(config.column_names)
    for name in processing.derived:
        if name in schema_names:
            problems.append(
                (
                    ("processing", "derived", name),
                    "a derived column may not reuse a schema column's name",
                )
            )
        elif name.startswith(RESERVED_PREFIX):
            problems.append(
                (
                    ("processing", "derived", name),
                    f"names starting with {RESERVED_PREFIX!r} are reserved",
                )
            )
    for name in processing.aggregations:
        if name.startswith(RESERVED_PREFIX):
            problems.append(
                (
                    ("processing", "aggregations", name),
                    f"names starting with {RESERVED_PREFIX!r} are reserved",
                )
            )
    if problems:
        return problems

    from ..data.sqlcheck import check_sql  # DuckDB is only needed once the config's shape is right

    types, sql_problems = check_sql(config)
    problems.extend(sql_problems)
    known = ", ".join([*config.column_names, *processing.derived]) or "(none)"
    for index, name in enumerate(processing.group_by):
        if name not in types:
            problems.append((("processing", "group_by", index), f"unknown column {name!r} (known: {known})"))
    if len(set(processing.group_by)) != len(processing.group_by):
        problems.append((("processing", "group_by"), "a column is listed twice"))
    for name in processing.aggregations:
        if name in processing.group_by:
            problems.append(
                (
                    ("processing", "aggregations", name),
                    "an aggregation may not reuse a group_by column's name",
                )
            )
    for name, agg in processing.aggregations.items():
        loc = ("processing", "aggregations", name, "column")
        if agg.column is None:
            continue
        kind = types.get(agg.column)
        if kind is None:
            if agg.column in processing.derived:
                continue  # its expression failed to compile; that problem is reported already
            problems.append((loc, f"unknown column {agg.column!r} (known: {known})"))
        elif agg.op in ("sum", "mean") and kind not in NUMERIC_TYPES:
            problems.append((loc, f"{agg.op} needs a numeric column; {agg.column!r} is {kind}"))
    return problems

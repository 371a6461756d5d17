"""A pipeline config's SQL compiled against its schema, at load time.

Derived expressions, the ``sql`` query, regexes and date formats are handed to
DuckDB over an empty table of the declared columns, so that a typo fails when the
config is read, not mid-run, and so that pipeline SQL computes over
``valid_rows`` only (no files, no other tables, nothing about the host).

The config loader (:mod:`sluiceway.config`) calls :func:`check_sql` once the
config's shape is right; this module takes the models from :mod:`sluiceway.spec`
and imports nothing from the loader, so the engine never depends on the code that
reads YAML files.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import duckdb

from ._duck import connect, ident, literal
from .excerpt import excerpt
from .sqltypes import logical_type, sql_type

if TYPE_CHECKING:
    from ..spec import PipelineConfig

__all__ = ["check_sql"]

logger = logging.getLogger(__name__)


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


def check_sql(config: PipelineConfig) -> tuple[dict[str, str], list[tuple[tuple[Any, ...], str]]]:
    """Compile the config's SQL against an empty table of its schema.

    Returns:
        The logical type of every schema and derived column, and the problems
        found as (config location, message).
    """
    problems: list[tuple[tuple[Any, ...], str]] = []
    types: dict[str, str] = {c.name: str(c.type) for c in config.columns}
    con = connect(files=[], threads=1)  # nothing to read: binding a file reader fails
    try:
        cols = ", ".join(f"{ident(c.name)} {sql_type(c)}" for c in config.columns)
        con.execute(f"CREATE TEMP TABLE valid_rows ({cols})")
        for j, column in enumerate(config.columns):
            if column.regex is not None:
                try:
                    con.execute(f"SELECT regexp_full_match('', {literal(column.regex)})").fetchall()
                except duckdb.Error as exc:
                    problems.append(
                        (
                            ("schema", "columns", j, "regex"),
                            f"not a valid RE2 pattern: {_first_line(str(exc))}",
                        )
                    )
            if column.format is not None:
                try:
                    con.execute(f"SELECT TRY_STRPTIME('', {literal(column.format)})").fetchall()
                except duckdb.Error as exc:
                    problems.append(
                        (
                            ("schema", "columns", j, "format"),
                            f"not a valid format: {_first_line(str(exc))}",
                        )
                    )
        processing = config.processing
        relation = "SELECT * FROM valid_rows"
        width = len(config.columns)
        for name, expr in processing.derived.items():
            loc = ("processing", "derived", name)
            outside = _reads_outside(con, f"SELECT ({expr}) FROM valid_rows")
            if outside:
                problems.append((loc, outside))
                continue
            shape = _expression_problem(con, expr)
            if shape is not None:
                problems.append((loc, shape))
                continue
            candidate = f"SELECT *, ({expr}) AS {ident(name)} FROM ({relation})"
            try:
                described = con.execute(f"DESCRIBE {candidate}").fetchall()
            except duckdb.Error as exc:
                problems.append((loc, f"not a valid expression over the row: {_first_line(str(exc))}"))
                continue
            if len(described) != width + 1:
                problems.append((loc, "must be exactly one expression"))
                continue
            relation, width = candidate, width + 1
            types[name] = logical_type(str(described[-1][1]))
        if processing.sql is not None:
            problems.extend(_check_query(con, processing.sql))
    finally:
        con.close()
    return types, problems


def _expression_problem(con: duckdb.DuckDBPyConnection, expr: str) -> str | None:
    """Why ``expr`` is not one expression over the row (None when it is): parsed alone, by DuckDB.

    A derived column is spliced into larger queries; what passes here must be exactly one
    expression (``1) AS r FROM valid_rows --`` is a query's tail, not an expression), with no
    window function (its value would depend on where chunks begin) and no subquery.
    """
    try:
        found = con.execute("SELECT json_serialize_sql(?)", [f"SELECT ({expr})"]).fetchone()
        tree = json.loads(found[0]) if found else {}
    except (duckdb.Error, ValueError):
        return None
    if not isinstance(tree, dict) or tree.get("error"):
        return None  # binding reports what does not parse
    statements = tree.get("statements") or []
    node = statements[0].get("node", {}) if len(statements) == 1 else {}
    selected = node.get("select_list") or []
    clauses = ("where_clause", "having", "qualify", "group_expressions")
    if (
        node.get("type") != "SELECT_NODE"
        or (node.get("from_table") or {}).get("type") != "EMPTY"
        or len(selected) != 1
        or any(node.get(c) for c in clauses)
        or node.get("modifiers")
        or (node.get("cte_map") or {}).get("map")
    ):
        return "must be exactly one expression over the row"
    kinds: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            kinds.add(str(value.get("class", "")))
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(selected[0])
    if "WINDOW" in kinds:
        # (A window's value would depend on where the chunks begin.)
        return "must be one expression over the row (no window functions, no ';')"
    if "SUBQUERY" in kinds:
        return "must be one expression over the row (no subqueries)"
    return None


def _check_query(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[tuple[Any, ...], str]]:
    loc = ("processing", "sql")
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        return [(loc, f"not valid SQL: {_first_line(str(exc))}")]
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        return [(loc, "must be exactly one SELECT query over valid_rows")]
    outside = _reads_outside(con, sql)
    if outside:
        return [(loc, outside)]
    try:
        con.execute(f"DESCRIBE {sql}").fetchall()
    except duckdb.Error as exc:
        return [(loc, f"does not compile against valid_rows: {_first_line(str(exc))}")]
    return []


_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
"""Table functions pipeline SQL may call: they make rows from their arguments, reading nothing."""
_REVEALING = frozenset({"current_setting", "getvariable", "getenv", "current_database", "current_schema", "current_schemas"})
"""Scalar functions that read the engine's or the host's settings (paths, variables) rather than the data."""


def _reads_outside(con: duckdb.DuckDBPyConnection, query: str) -> str | None:
    """What a SELECT reads besides ``valid_rows`` (and its own CTEs), as a problem to report; None if nothing.

    DuckDB parses the query (``json_serialize_sql``) and the tree is searched for
    table functions and tables: no pattern over the text could tell ``read_blob``
    in a string literal from a call, or see ``FROM 'x.csv'`` (a replacement scan:
    a file read as a table). A query that does not parse is left to binding, which
    reports it.
    """
    try:
        found = con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
        tree = json.loads(found[0]) if found else {}
    except (duckdb.Error, ValueError):
        return None
    if not isinstance(tree, dict) or tree.get("error"):
        return None
    functions: set[str] = set()
    tables: set[str] = set()
    revealing: set[str] = set()

    def walk(node: Any, scope: frozenset[str]) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            cte_map = node.get("cte_map")
            if isinstance(cte_map, dict):
                # A CTE's name stands for it only inside the query that defines it.
                names = {str(e.get("key")).lower() for e in cte_map.get("map") or [] if isinstance(e, dict)}
                scope = scope | names
            if kind == "TABLE_FUNCTION":
                function = node.get("function") or {}
                functions.add(str(function.get("function_name") or "?"))
            elif kind == "BASE_TABLE":
                name = str(node.get("table_name") or "?")
                qualified = bool(node.get("schema_name") or node.get("catalog_name"))
                # A qualified name (main.x, information_schema.x) is never a CTE nor valid_rows.
                if qualified or name.lower() not in {"valid_rows", *scope}:
                    tables.add(".".join(str(node.get(k)) for k in ("catalog_name", "schema_name", "table_name") if node.get(k)))
            elif node.get("class") == "FUNCTION" and str(node.get("function_name", "")).lower() in _REVEALING:
                revealing.add(str(node.get("function_name")))
            for value in node.values():
                walk(value, scope)
        elif isinstance(node, list):
            for value in node:
                walk(value, scope)

    walk(tree, frozenset())
    readers = sorted(f for f in functions if f.lower() not in _TABLE_FUNCTIONS)
    others = sorted(tables)
    if revealing:
        return f"calls {', '.join(sorted(revealing))}, which tells about the host — pipeline SQL computes over valid_rows only"
    if readers:
        try:
            con.execute(f"DESCRIBE {query}").fetchall()
        except duckdb.PermissionException:  # the connection reaches no file: binding a reader fails
            return f"reads files ({', '.join(readers)}) — pipeline SQL may only read valid_rows"
        except duckdb.Error:
            pass
        return f"calls {', '.join(readers)} — pipeline SQL may only read valid_rows"
    if others:
        shown = ", ".join(f"'{excerpt(t)}'" for t in others)
        return f"reads {shown}, not valid_rows — pipeline SQL may only read valid_rows"
    return None

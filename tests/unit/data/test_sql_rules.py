"""The schema compiled to SQL: what each type and rule accepts, and the reasons it gives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

from sluiceway.config import parse_config
from sluiceway.data import rules


def config_for(column: str, extra: str = "") -> Any:
    return parse_config(f"name: t\nschema:\n  columns:\n    - {column}\n{extra}processing:\n  aggregations: {{n: {{op: count}}}}\n")


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def check(con: duckdb.DuckDBPyConnection, column: str, values: list[str | None]) -> list[tuple[bool, str | None]]:
    """(valid, reason) for each raw value of a one-column schema."""
    config = config_for(column)
    rows = ", ".join(f"({i + 1}, {'NULL' if v is None else rules.literal(v)})" for i, v in enumerate(values))
    con.execute("DROP TABLE IF EXISTS src")
    con.execute(f"CREATE TABLE src AS SELECT * FROM (VALUES {rows}) t({rules.ORD}, {rules.raw_name(0)})")
    con.execute(f"CREATE OR REPLACE TABLE typed AS {rules.typed_relation(config, 'src')}")
    valid = dict(con.execute(f"SELECT {rules.ORD}, {rules.OK} FROM typed").fetchall())
    reasons = dict(con.execute(f"SELECT ord, reason FROM ({rules.reasons_relation(config, 'typed')})").fetchall())
    return [(valid[i + 1], reasons.get(i + 1)) for i in range(len(values))]


def test_integers_are_strict(con: duckdb.DuckDBPyConnection) -> None:
    found = check(
        con,
        "{name: n, type: integer}",
        ["12", " 7 ", "-3", "1.5", "abc", "9223372036854775808", "", None],
    )
    # "" is a quoted empty field: an empty string, which no integer column parses; None is a null.
    assert [v for v, _ in found] == [True, True, True, False, False, False, False, True]
    assert found[3][1] == found[6][1] == "not a valid integer"


def test_required_values(con: duckdb.DuckDBPyConnection) -> None:
    found = check(con, "{name: s, type: string, required: true}", ["x", "", None, " "])
    assert found == [
        (True, None),
        (False, "required value is an empty string"),
        (False, "required value is missing"),
        (True, None),
    ]
    found = check(con, "{name: n, type: integer, required: true}", ["", None])
    assert found == [(False, "not a valid integer"), (False, "required value is missing")]


def test_an_empty_string_is_a_value_and_a_null_is_none(con: duckdb.DuckDBPyConnection) -> None:
    found = check(con, "{name: s, type: string, allowed: [a, b]}", ["", None, "a"])
    assert found == [(False, "not one of the allowed values: a, b"), (True, None), (True, None)]
    assert check(con, "{name: s, type: string, allowed: ['', a]}", [""]) == [(True, None)]
    assert check(con, "{name: d, type: date, min: 2024-01-01}", ["", None]) == [
        (False, "not a valid date (expected YYYY-MM-DD)"),
        (True, None),
    ]


def test_floats_decimals_booleans(con: duckdb.DuckDBPyConnection) -> None:
    assert [v for v, _ in check(con, "{name: f, type: float}", ["1.5", "1e3", "x", "-0"])] == [
        True,
        True,
        False,
        True,
    ]
    found = check(con, "{name: d, type: decimal, precision: 5, scale: 2}", ["123.45", "1234.5", "x"])
    assert [v for v, _ in found] == [True, False, False]
    assert found[2][1] == "not a valid decimal(5,2)"
    assert [v for v, _ in check(con, "{name: b, type: boolean}", ["true", "FALSE", "yes", "maybe"])] == [True, True, True, False]


def test_dates_and_timestamps(con: duckdb.DuckDBPyConnection) -> None:
    found = check(con, "{name: d, type: date}", ["2024-02-29", "2023-02-29", "29/02/2024"])
    assert found == [
        (True, None),
        (False, "not a valid date (expected YYYY-MM-DD)"),
        (False, "not a valid date (expected YYYY-MM-DD)"),
    ]
    found = check(con, "{name: d, type: date, format: '%d/%m/%Y'}", ["29/02/2024", "2024-02-29"])
    assert found == [(True, None), (False, "not a valid date (expected %d/%m/%Y)")]
    assert [v for v, _ in check(con, "{name: t, type: timestamp}", ["2024-01-01 10:00:00", "2024-01-01T10:00", "noon"])] == [
        True,
        True,
        False,
    ]


def test_bounds(con: duckdb.DuckDBPyConnection) -> None:
    found = check(con, "{name: q, type: integer, min: 1, max: 10}", ["0", "1", "10", "11"])
    assert found == [
        (False, "less than the minimum 1"),
        (True, None),
        (True, None),
        (False, "greater than the maximum 10"),
    ]
    found = check(con, "{name: d, type: date, min: 2024-01-01}", ["2023-12-31", "2024-01-01"])
    assert found == [(False, "less than the minimum 2024-01-01"), (True, None)]


def test_regex_matches_the_whole_value(con: duckdb.DuckDBPyConnection) -> None:
    found = check(con, "{name: e, type: string, regex: '[a-z]+@[a-z]+'}", ["a@b", "a@b.c", "xa@b", "", None])
    assert found == [
        (True, None),
        (False, "does not match the pattern [a-z]+@[a-z]+"),
        (True, None),
        (False, "does not match the pattern [a-z]+@[a-z]+"),  # an empty string is checked; a null is not
        (True, None),
    ]


def test_allowed_values(con: duckdb.DuckDBPyConnection) -> None:
    found = check(con, "{name: r, type: string, allowed: [north, south]}", ["north", "North", "east"])
    assert found[0] == (True, None)
    assert found[1] == (False, "not one of the allowed values: north, south")
    found = check(con, "{name: n, type: integer, allowed: [1, 2]}", ["2", "3"])
    assert found == [(True, None), (False, "not one of the allowed values: 1, 2")]


def test_the_first_broken_rule_is_the_reason(con: duckdb.DuckDBPyConnection) -> None:
    found = check(con, "{name: q, type: integer, min: 5, allowed: [1, 7]}", ["1"])
    assert found == [(False, "less than the minimum 5")]


def test_quotes_in_names_and_values_are_safe(con: duckdb.DuckDBPyConnection) -> None:
    found = check(con, """{name: 'it''s "x"', type: string, allowed: ["o'k"]}""", ["o'k", "no"])
    assert [v for v, _ in found] == [True, False]

"""A config's SQL compiled against its schema: the types it finds for schema and derived columns."""

from __future__ import annotations

from sluiceway.config import parse_config
from sluiceway.data.sqlcheck import check_sql


def test_check_sql_types_derived_columns() -> None:
    config = parse_config(
        "name: t\nschema:\n  columns:\n    - {name: q, type: integer}\n    - {name: p, type: float}\n    - {name: d, type: date}\n"
        "processing:\n  derived: {rev: q * p, year: year(d), label: \"'x' || q\"}\n  aggregations: {n: {op: count}}\n"
    )
    types, problems = check_sql(config)
    assert problems == []
    assert types == {
        "q": "integer",
        "p": "float",
        "d": "date",
        "rev": "float",
        "year": "integer",
        "label": "string",
    }

"""Sluiceway's names for DuckDB's types."""

from __future__ import annotations

from sluiceway.data.sqltypes import logical_type


def test_logical_types() -> None:
    assert logical_type("DECIMAL(18,2)") == "decimal"
    assert logical_type("TIMESTAMP WITH TIME ZONE") == "timestamp"
    assert logical_type("INTEGER[]") == "other"

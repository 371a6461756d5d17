"""Column types both ways: a schema column's DuckDB type, and Sluiceway's name for a DuckDB type.

The chunk check types raw values with :func:`sql_type`; the config check and the
aggregate stage read back what DuckDB made of an expression with
:func:`logical_type` (a ``sum`` needs a number, an integer sum is kept exact).
This module sits below both :mod:`.rules` and :mod:`.aggregate` so that neither
imports the other for a type name.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..spec import ColumnSpec

__all__ = ["logical_type", "sql_type"]

logger = logging.getLogger(__name__)


def sql_type(column: ColumnSpec) -> str:
    """The DuckDB type of a column's typed value."""
    if column.type == "decimal":
        return f"DECIMAL({column.decimal_precision},{column.decimal_scale})"
    return {
        "string": "VARCHAR",
        "integer": "BIGINT",
        "float": "DOUBLE",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
    }[column.type]


_LOGICAL = (
    (
        re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$"),
        "integer",
    ),
    (re.compile(r"^(FLOAT|DOUBLE|REAL)$"), "float"),
    (re.compile(r"^DECIMAL"), "decimal"),
    (re.compile(r"^BOOLEAN$"), "boolean"),
    (re.compile(r"^DATE$"), "date"),
    (re.compile(r"^TIMESTAMP"), "timestamp"),
    (re.compile(r"^VARCHAR$"), "string"),
)


def logical_type(duck_type: str) -> str:
    """Sluiceway's name for a DuckDB type (``other`` for lists, structs, intervals...)."""
    for pattern, name in _LOGICAL:
        if pattern.match(duck_type):
            return name
    return "other"

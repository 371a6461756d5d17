"""ReturnConsumedCapacity: the capacity units a request used, in DynamoDB's ``ConsumedCapacity`` shape.

Units follow DynamoDB's published rules: a read is one unit per 4 KB read (half
that when eventually consistent), a write one unit per 1 KB written, each at
least one unit; a Query or Scan pays for everything it read, in one sum; a
transaction pays twice. A write also pays, per secondary index, for the index
entries it writes or removes. ``TOTAL`` answers the table's total; ``INDEXES``
adds how much of it was the table's and each index's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ....dynamodb.errors import validation
from ....dynamodb.items import index_view
from ....dynamodb.schema import IndexSpec, TableSpec
from ....dynamodb.values import Value, item_size
from .store import index_key

__all__ = ["Consumption", "capacity_mode", "read_units", "write_units"]

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
_MODES = ("INDEXES", "TOTAL", "NONE")


def capacity_mode(request: Mapping[str, Any]) -> str:
    """The request's ``ReturnConsumedCapacity`` (``NONE`` when absent), refused when not one of DynamoDB's."""
    mode = request.get("ReturnConsumedCapacity")
    if mode is None:
        return "NONE"
    if mode not in _MODES:
        raise validation(
            f"1 validation error detected: Value '{mode}' at 'returnConsumedCapacity' failed to satisfy constraint:"
            " Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        )
    return str(mode)


def read_units(size: int, *, consistent: bool) -> float:
    units = float(max(1, math.ceil(size / READ_UNIT_BYTES)))
    return units if consistent else units / 2


def write_units(size: int) -> float:
    return float(max(1, math.ceil(size / WRITE_UNIT_BYTES)))


@dataclass
class Consumption:
    """The units one request used on one table, split between the table and its indexes."""

    table: str
    units: float = 0.0
    globals_: dict[str, float] = field(default_factory=dict)
    locals_: dict[str, float] = field(default_factory=dict)

    def on_index(self, index: IndexSpec, units: float) -> None:
        spent = self.globals_ if index.is_global else self.locals_
        spent[index.name] = spent.get(index.name, 0.0) + units

    def write(self, spec: TableSpec, old: Mapping[str, Value] | None, new: Mapping[str, Value] | None) -> None:
        """A write of ``new`` over ``old`` (None: no item), with the index entries it changes."""
        self.units += write_units(max(item_size(old or {}), item_size(new or {})))
        for index in spec.indexes:
            before = index_key(index, old) if old is not None else None
            after = index_key(index, new) if new is not None else None
            if before is not None and after is not None and before != after:
                # The entry moves: one write removes it, one writes it anew.
                self.on_index(index, write_units(item_size(index_view(spec, index, old or {}))))
            if after is not None or before is not None:
                shown = new if after is not None else old
                self.on_index(index, write_units(item_size(index_view(spec, index, shown or {}))))

    def to_wire(self, mode: str, *, factor: float = 1.0) -> dict[str, Any]:
        """The ``ConsumedCapacity`` shape for ``mode`` (TOTAL or INDEXES); ``factor`` 2 for transactions."""
        table = self.units * factor
        globals_ = {name: units * factor for name, units in self.globals_.items()}
        locals_ = {name: units * factor for name, units in self.locals_.items()}
        shape: dict[str, Any] = {
            "TableName": self.table,
            "CapacityUnits": table + sum(globals_.values()) + sum(locals_.values()),
        }
        if mode == "INDEXES":
            shape["Table"] = {"CapacityUnits": table}
            if globals_:
                shape["GlobalSecondaryIndexes"] = {name: {"CapacityUnits": units} for name, units in globals_.items()}
            if locals_:
                shape["LocalSecondaryIndexes"] = {name: {"CapacityUnits": units} for name, units in locals_.items()}
        return shape

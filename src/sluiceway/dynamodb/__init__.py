"""DynamoDB's data model and rules, pure: typed values, keys, table definitions and the expression language.

Nothing here does I/O. The local engine (:mod:`sluiceway.backends.local.dynamodb`)
stores tables in SQLite and asks this package what a request means and whether it
is valid; the endpoint serves the engine on DynamoDB's wire protocol.
"""

from __future__ import annotations

from .errors import CancellationReason, DynamoDbError
from .schema import IndexSpec, TableSpec
from .values import Item, Value

__all__ = ["CancellationReason", "DynamoDbError", "IndexSpec", "Item", "TableSpec", "Value"]

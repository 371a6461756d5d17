"""ItemCollectionMetrics: how large the item collection a write touched has grown.

An item collection is every item of one partition key in a table with a local
secondary index (those items and their index entries share a 10 GB limit). A write
asked for ``ReturnItemCollectionMetrics=SIZE`` on such a table answers with the
collection's key and an estimate of its size in GB as a range one GB wide, as
DynamoDB does; a table without local indexes has no item collections and answers
nothing.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from typing import Any

from ....dynamodb.errors import validation
from ....dynamodb.keys import sort_text
from ....dynamodb.schema import TableSpec
from ....dynamodb.values import Item, item_size
from .store import ItemStore

__all__ = ["collection_metrics", "wants_metrics"]

_GB = 1024**3


def wants_metrics(request: Mapping[str, Any]) -> bool:
    """Whether the request asks for ItemCollectionMetrics (``SIZE``; ``NONE`` is the default)."""
    wanted = request.get("ReturnItemCollectionMetrics") or "NONE"
    if wanted not in ("SIZE", "NONE"):
        raise validation(
            f"1 validation error detected: Value '{wanted}' at 'returnItemCollectionMetrics' failed to satisfy constraint:"
            " Member must satisfy enum value set: [SIZE, NONE]"
        )
    return wanted == "SIZE"


def collection_metrics(conn: sqlite3.Connection, store: ItemStore, spec: TableSpec, key: Item) -> dict[str, Any] | None:
    """The ``ItemCollectionMetrics`` shape for the collection of ``key``'s partition, or None without local indexes."""
    local = [i for i in spec.indexes if not i.is_global]
    if not local:
        return None
    partition = key[spec.hash_key.name]
    size = 0
    for row in store.rows(conn, spec.name, index=None, partition=sort_text(partition), sort_conditions=(), after=None, descending=False):
        # Each local index holds a copy of the item (its projection; counted whole here, an estimate).
        size += item_size(row.item) * (1 + len(local))
    low = math.floor(size / _GB)
    return {"ItemCollectionKey": {spec.hash_key.name: partition}, "SizeEstimateRangeGB": [float(low), float(low + 1)]}

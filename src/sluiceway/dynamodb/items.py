"""Items against their table: keys present and typed, index keys typed, the 400 KB limit, what a read returns.

Each check raises DynamoDB's ValidationException with DynamoDB's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import validation
from .keys import HASH_KEY_LIMIT, RANGE_KEY_LIMIT, check_key_value
from .schema import IndexSpec, TableSpec
from .values import Item, Value, check_item, item_size, type_of

__all__ = ["ITEM_SIZE_LIMIT", "check_index_keys", "check_key", "check_new_item", "check_size", "index_view"]

ITEM_SIZE_LIMIT = 400 * 1024
"""Bytes an item may have, names and values together."""


def check_new_item(spec: TableSpec, item: Any) -> Item:
    """A PutItem's item: every value valid, the key whole and typed, index keys typed, 400 KB at most."""
    checked = check_item(item)
    for attribute, limit in zip(spec.key, (HASH_KEY_LIMIT, RANGE_KEY_LIMIT), strict=False):
        if attribute.name not in checked:
            raise validation(f"One or more parameter values were invalid: Missing the key {attribute.name} in the item")
        checked[attribute.name] = check_key_value(attribute, checked[attribute.name], limit=limit, in_item=True)
    check_index_keys(spec, checked)
    check_size(checked)
    return checked


def check_key(spec: TableSpec, key: Any) -> Item:
    """A ``Key`` parameter: exactly the table's key attributes, typed as declared."""
    if not isinstance(key, Mapping) or set(key) != set(spec.key_names):
        raise validation("The provided key element does not match the schema")
    return {
        attribute.name: check_key_value(attribute, key[attribute.name], limit=limit, in_item=False)
        for attribute, limit in zip(spec.key, (HASH_KEY_LIMIT, RANGE_KEY_LIMIT), strict=False)
    }


def check_index_keys(spec: TableSpec, item: Mapping[str, Value], *, update: bool = False) -> None:
    """Index key attributes an item has must have the index's declared type, not be empty, and fit the key limits."""
    for index in spec.indexes:
        for attribute, limit in zip(index.key, (HASH_KEY_LIMIT, RANGE_KEY_LIMIT), strict=False):
            value = item.get(attribute.name)
            if value is None:
                continue
            if attribute.name in spec.key_names:
                # Typed as the table's key already, but an index's sort key takes less than a table's partition key.
                if limit < HASH_KEY_LIMIT:
                    check_key_value(attribute, value, limit=limit, in_item=True)
                continue
            kind = type_of(value)
            if kind != attribute.kind:
                raise validation(
                    "One or more parameter values were invalid: Type mismatch for Index Key"
                    f" {attribute.name} Expected: {attribute.kind} Actual: {kind} IndexName: {index.name}"
                )
            if kind in ("S", "B") and not value[kind]:
                if update:
                    raise validation(
                        "One or more parameter values are not valid. The update expression attempted to update a"
                        " secondary index key to a value that is not supported. The AttributeValue for a key"
                        " attribute cannot contain an empty string value."
                    )
                raise validation(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not"
                    " supported. The AttributeValue for a key attribute cannot contain an empty string value."
                    f" IndexName: {index.name}, IndexKey: {attribute.name}"
                )
            check_key_value(attribute, value, limit=limit, in_item=True)


def check_size(item: Mapping[str, Value], *, update: bool = False) -> None:
    if item_size(item) > ITEM_SIZE_LIMIT:
        raise validation(
            "Item size to update has exceeded the maximum allowed size" if update else "Item size has exceeded the maximum allowed size"
        )


def index_view(spec: TableSpec, index: IndexSpec, item: Mapping[str, Value]) -> Item:
    """The attributes of ``item`` that ``index`` holds (its projection)."""
    if index.projection == "ALL":
        return dict(item)
    kept = set(spec.key_names) | {a.name for a in index.key} | set(index.non_key_attributes)
    return {name: value for name, value in item.items() if name in kept}

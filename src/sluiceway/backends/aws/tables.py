"""The metadata table on DynamoDB."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from decimal import Context, Decimal, Inexact, Rounded
from typing import TYPE_CHECKING, Any, cast

import boto3
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from ...types import JSON
from ._errors import translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

__all__ = ["DynamoTable", "from_dynamo", "to_dynamo"]

# DynamoDB numbers have 38 significant digits; refuse to round silently.
_DYNAMO_CONTEXT = Context(prec=38, traps=[Inexact, Rounded])
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoTable:
    """A :class:`~sluiceway.ports.MetadataTable` on a DynamoDB table.

    Items are plain JSON values on both sides: floats become ``Decimal`` on the
    way in (DynamoDB refuses floats) and numbers come back as ``int`` when whole,
    ``float`` otherwise. Reads are strongly consistent, as the SQLite table's are.

    Args:
        name: the table's name.
        client: a DynamoDB client; a default one is built when omitted.
        partition_key: the table's partition (hash) key attribute.
        sort_key: the table's sort (range) key attribute, if it has one.
        scan_page_size: items per Scan request (up to 1 MB of items when omitted).
    """

    def __init__(
        self,
        name: str,
        client: DynamoDBClient | None = None,
        *,
        partition_key: str = "ExecutionId",
        sort_key: str | None = None,
        scan_page_size: int | None = None,
    ) -> None:
        self.name = name
        self.client: DynamoDBClient = client if client is not None else boto3.client("dynamodb")
        self.partition_key = partition_key
        self.sort_key = sort_key
        self.scan_page_size = scan_page_size

    def _key(self, item: Mapping[str, JSON]) -> dict[str, Any]:
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        key: dict[str, Any] = {}
        for name in names:
            if name not in item:
                raise ValueError(f"item has no key attribute {name!r}")
            key[name] = to_dynamo(item[name])
        return key

    def put(self, item: Mapping[str, JSON], *, if_absent: bool = False) -> None:
        """Write ``item``; with ``if_absent`` the write is conditional on the key being new.

        Raises:
            ConflictError: ``if_absent`` and an item with that key exists.
        """
        self._key(item)
        kwargs: dict[str, Any] = {}
        if if_absent:
            kwargs["ConditionExpression"] = "attribute_not_exists(#pk)"
            kwargs["ExpressionAttributeNames"] = {"#pk": self.partition_key}
        with translated(f"put item in table {self.name}"):
            self.client.put_item(TableName=self.name, Item=_attributes(item), **kwargs)

    def get(self, key: Mapping[str, JSON]) -> dict[str, JSON] | None:
        """The item with ``key`` (a strongly consistent read), or None."""
        with translated(f"get item from table {self.name}"):
            response = self.client.get_item(
                TableName=self.name, Key=self._key(key), ConsistentRead=True
            )
        stored = response.get("Item")
        return None if stored is None else _item(stored)

    def update(self, key: Mapping[str, JSON], changes: Mapping[str, JSON]) -> dict[str, JSON]:
        """SET every attribute in ``changes`` (creating the item) and return the whole new item.

        Key attributes cannot change in DynamoDB; a change that repeats the key's
        own value is dropped, another one is a ``ValueError``.
        """
        dynamo_key = self._key(key)
        sets: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        for index, (attribute, value) in enumerate(changes.items()):
            if attribute in dynamo_key:
                if to_dynamo(value) != dynamo_key[attribute]:
                    raise ValueError(f"cannot change key attribute {attribute!r}")
                continue
            # Placeholders for every name and value: attribute names may be
            # reserved words (Status, Timestamp) or hold any character.
            names[f"#a{index}"] = attribute
            values[f":v{index}"] = to_dynamo(value)
            sets.append(f"#a{index} = :v{index}")
        kwargs: dict[str, Any] = {}
        if sets:
            kwargs["UpdateExpression"] = "SET " + ", ".join(sets)
            kwargs["ExpressionAttributeNames"] = names
            kwargs["ExpressionAttributeValues"] = values
        with translated(f"update item in table {self.name}"):
            response = self.client.update_item(
                TableName=self.name, Key=dynamo_key, ReturnValues="ALL_NEW", **kwargs
            )
        return _item(response.get("Attributes") or dynamo_key)

    def delete(self, key: Mapping[str, JSON]) -> None:
        """Delete the item; a missing item is not an error."""
        with translated(f"delete item from table {self.name}"):
            self.client.delete_item(TableName=self.name, Key=self._key(key))

    def scan(self, *, limit: int | None = None) -> list[dict[str, JSON]]:
        """Every item, newest first by ``Timestamp`` (items without one last), then by key.

        DynamoDB has no order across partitions, so the whole table is read (all
        pages) and sorted here; ``limit`` applies after sorting.
        """
        items: list[dict[str, JSON]] = []
        paginator = self.client.get_paginator("scan")
        with translated(f"scan table {self.name}"):
            pages = paginator.paginate(
                TableName=self.name,
                ConsistentRead=True,
                PaginationConfig={"PageSize": self.scan_page_size} if self.scan_page_size else {},
            )
            for page in pages:
                items.extend(_item(raw) for raw in page.get("Items", []))
        items.sort(
            key=lambda i: (str(i.get(self.partition_key)), str(i.get(self.sort_key or "", "")))
        )
        items.sort(
            key=lambda i: str(i.get("Timestamp")) if i.get("Timestamp") is not None else "",
            reverse=True,
        )
        return items if limit is None else items[:limit]


def to_dynamo(value: JSON) -> dict[str, Any]:
    """A JSON value as a DynamoDB ``AttributeValue`` (floats exactly as ``repr`` shows them).

    Raises:
        ValueError: NaN, infinity, or a number DynamoDB cannot hold without rounding.
    """
    return cast("dict[str, Any]", _serializer.serialize(_decimals(value)))


def from_dynamo(value: Mapping[str, Any]) -> JSON:
    """A DynamoDB ``AttributeValue`` as a JSON value (whole numbers as ``int``)."""
    return _plain(_deserializer.deserialize(cast(Any, dict(value))))


def _attributes(item: Mapping[str, JSON]) -> dict[str, Any]:
    return {name: to_dynamo(value) for name, value in item.items()}


def _item(attributes: Mapping[str, Any]) -> dict[str, JSON]:
    return {name: from_dynamo(value) for name, value in attributes.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"DynamoDB cannot store {value!r}")
        # str() is the shortest text that reads back as the same float.
        return _number(Decimal(str(value)))
    if isinstance(value, int):
        return _number(Decimal(value))
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, Mapping):
        return {str(k): _decimals(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decimals(v) for v in value]
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _number(value: Decimal) -> Decimal:
    try:
        return _DYNAMO_CONTEXT.create_decimal(value)
    except (Inexact, Rounded):
        raise ValueError(
            f"DynamoDB cannot store {value} without rounding (38 digits at most)"
        ) from None


def _plain(value: Any) -> JSON:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        # Sets only appear in items written by other programs; JSON has lists.
        return sorted(_plain(v) for v in value)
    if isinstance(value, Binary):
        # Binary attributes only appear in items written by other programs.
        return bytes(getattr(value, "value", b"")).decode("utf-8", "replace")
    return value

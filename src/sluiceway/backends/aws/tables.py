"""The metadata table on DynamoDB."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal, Inexact, Rounded
from typing import TYPE_CHECKING, Any, cast

import boto3
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from ...ports import STATUS_TIME_INDEX, Condition, SecondaryIndex, check_query
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
    ``float`` otherwise. Reads of the table are strongly consistent, as the SQLite
    table's are; reads of a global secondary index cannot be (DynamoDB offers
    only eventually consistent reads there).

    Conditions become a ``ConditionExpression`` with ``#name``/``:value``
    placeholders for every attribute, so any attribute name (reserved words such
    as ``Status``, dots, spaces) means itself; ``ConditionalCheckFailedException``
    becomes ConflictError in ``_errors``.

    Args:
        name: the table's name.
        client: a DynamoDB client; a default one is built when omitted.
        partition_key: the table's partition (hash) key attribute.
        sort_key: the table's sort (range) key attribute, if it has one.
        indexes: the table's global secondary indexes (the deployed table has
            :data:`~sluiceway.ports.STATUS_TIME_INDEX`).
        page_size: items per Scan or Query request (up to 1 MB of items when omitted).
        scan_page_size: the older name of ``page_size``.
    """

    def __init__(
        self,
        name: str,
        client: DynamoDBClient | None = None,
        *,
        partition_key: str = "ExecutionId",
        sort_key: str | None = None,
        indexes: Sequence[SecondaryIndex] = (STATUS_TIME_INDEX,),
        page_size: int | None = None,
        scan_page_size: int | None = None,
    ) -> None:
        self.name = name
        self.client: DynamoDBClient = client if client is not None else boto3.client("dynamodb")
        self.partition_key = partition_key
        self.sort_key = sort_key
        self.indexes = {index.name: index for index in indexes}
        self.page_size = page_size if page_size is not None else scan_page_size

    def _key(self, item: Mapping[str, JSON]) -> dict[str, Any]:
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        key: dict[str, Any] = {}
        for name in names:
            if name not in item:
                raise ValueError(f"item has no key attribute {name!r}")
            value = item[name]
            # The table declares its keys as strings (S); check before DynamoDB refuses.
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"key attribute {name!r} must be a non-empty string, not {value!r}"
                )
            key[name] = to_dynamo(value)
        return key

    def _check_index_values(self, attributes: Mapping[str, JSON]) -> None:
        for index in self.indexes.values():
            index.check_values(attributes)

    def put(
        self,
        item: Mapping[str, JSON],
        *,
        if_absent: bool = False,
        condition: Condition | None = None,
    ) -> None:
        """Write ``item``; ``if_absent`` and ``condition`` make the write conditional.

        Raises:
            ConflictError: ``if_absent`` and an item with that key exists, or
                ``condition`` does not hold.
        """
        self._key(item)
        self._check_index_values(item)
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses: list[str] = []
        if if_absent:
            names["#pk"] = self.partition_key
            clauses.append("attribute_not_exists(#pk)")
        clauses += _condition_clauses(condition, names, values)
        with translated(f"put item in table {self.name}"):
            self.client.put_item(
                TableName=self.name,
                Item=_attributes(item),
                **_expression_kwargs(clauses, names, values),
            )

    def get(self, key: Mapping[str, JSON]) -> dict[str, JSON] | None:
        """The item with ``key`` (a strongly consistent read), or None."""
        with translated(f"get item from table {self.name}"):
            response = self.client.get_item(
                TableName=self.name, Key=self._key(key), ConsistentRead=True
            )
        stored = response.get("Item")
        return None if stored is None else _item(stored)

    def update(
        self,
        key: Mapping[str, JSON],
        changes: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
    ) -> dict[str, JSON]:
        """SET every attribute in ``changes`` (creating the item) and return the whole new item.

        Key attributes cannot change in DynamoDB; a change that repeats the key's
        own value is dropped, another one is a ``ValueError``.

        Raises:
            ConflictError: ``condition`` does not hold.
        """
        dynamo_key = self._key(key)
        self._check_index_values(changes)
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
        clauses = _condition_clauses(condition, names, values)
        kwargs = _expression_kwargs(clauses, names, values)
        if sets:
            kwargs["UpdateExpression"] = "SET " + ", ".join(sets)
        with translated(f"update item in table {self.name}"):
            response = self.client.update_item(
                TableName=self.name, Key=dynamo_key, ReturnValues="ALL_NEW", **kwargs
            )
        return _item(response.get("Attributes") or dynamo_key)

    def delete(self, key: Mapping[str, JSON], *, condition: Condition | None = None) -> None:
        """Delete the item; a missing item is not an error.

        Raises:
            ConflictError: ``condition`` does not hold.
        """
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses = _condition_clauses(condition, names, values)
        with translated(f"delete item from table {self.name}"):
            self.client.delete_item(
                TableName=self.name,
                Key=self._key(key),
                **_expression_kwargs(clauses, names, values),
            )

    def query(
        self,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Items of one partition in sort key order (strongly consistent; every page read)."""
        check_query(
            partition_value, sort_from, sort_to, limit, self.sort_key, f"table {self.name}"
        )
        request = _key_condition(
            self.partition_key, self.sort_key, partition_value, sort_from, sort_to
        )
        request.update(TableName=self.name, ConsistentRead=True, ScanIndexForward=not newest_first)
        return self._query(request, limit, f"query table {self.name}")

    def query_index(
        self,
        index: str,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = True,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Items of one index partition in index sort key order (an eventually consistent Query)."""
        spec = self.indexes.get(index)
        if spec is None:
            known = ", ".join(sorted(self.indexes)) or "none"
            raise ValueError(f"table {self.name} has no index {index!r}; known indexes: {known}")
        check_query(partition_value, sort_from, sort_to, limit, spec.sort_key, f"index {index}")
        request = _key_condition(
            spec.partition_key, spec.sort_key, partition_value, sort_from, sort_to
        )
        request.update(TableName=self.name, IndexName=index, ScanIndexForward=not newest_first)
        return self._query(request, limit, f"query index {index} of table {self.name}")

    def _query(
        self, request: dict[str, Any], limit: int | None, what: str
    ) -> list[dict[str, JSON]]:
        """Every page of a Query, stopping as soon as ``limit`` items are in hand."""
        items: list[dict[str, JSON]] = []
        while True:
            # Limit caps the items DynamoDB reads for one page; with no filter
            # expression each of them is returned, so no page overshoots ``limit``.
            page = self.page_size
            if limit is not None:
                remaining = limit - len(items)
                page = remaining if page is None else min(page, remaining)
            if page is not None:
                request["Limit"] = page
            with translated(what):
                response = self.client.query(**request)
            items.extend(_item(raw) for raw in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last or (limit is not None and len(items) >= limit):
                return items
            request["ExclusiveStartKey"] = last

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
                PaginationConfig={"PageSize": self.page_size} if self.page_size else {},
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


def _condition_clauses(
    condition: Condition | None, names: dict[str, str], values: dict[str, Any]
) -> list[str]:
    """The ConditionExpression clauses of ``condition``; its placeholders go into the maps.

    The placeholders (``#c…``, ``:c…``) never collide with the update's own (``#a…``, ``:v…``).
    """
    if condition is None:
        return []
    clauses: list[str] = []
    for index, attribute in enumerate(condition.exists):
        names[f"#ce{index}"] = attribute
        clauses.append(f"attribute_exists(#ce{index})")
    for index, attribute in enumerate(condition.not_exists):
        names[f"#cn{index}"] = attribute
        clauses.append(f"attribute_not_exists(#cn{index})")
    for index, (attribute, value) in enumerate(condition.equals.items()):
        names[f"#cq{index}"] = attribute
        values[f":cq{index}"] = to_dynamo(value)
        clauses.append(f"#cq{index} = :cq{index}")
    return clauses


def _expression_kwargs(
    clauses: list[str], names: dict[str, str], values: dict[str, Any]
) -> dict[str, Any]:
    # DynamoDB refuses empty placeholder maps, so each is sent only when used.
    kwargs: dict[str, Any] = {}
    if clauses:
        kwargs["ConditionExpression"] = " AND ".join(clauses)
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = values
    return kwargs


def _key_condition(
    partition_key: str,
    sort_key: str | None,
    partition_value: str,
    sort_from: str | None,
    sort_to: str | None,
) -> dict[str, Any]:
    """A Query's KeyConditionExpression and its placeholders."""
    names = {"#p": partition_key}
    values: dict[str, Any] = {":p": to_dynamo(partition_value)}
    expression = "#p = :p"
    if sort_key is not None and (sort_from is not None or sort_to is not None):
        names["#s"] = sort_key
        if sort_from is not None:
            values[":from"] = to_dynamo(sort_from)
        if sort_to is not None:
            values[":to"] = to_dynamo(sort_to)
        if sort_from is not None and sort_to is not None:
            expression += " AND #s BETWEEN :from AND :to"
        elif sort_from is not None:
            expression += " AND #s >= :from"
        else:
            expression += " AND #s <= :to"
    return {
        "KeyConditionExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }




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

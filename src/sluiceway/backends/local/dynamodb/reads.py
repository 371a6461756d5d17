"""Query and Scan: key ranges, paging (Limit, 1 MB, LastEvaluatedKey), filters, projections, segments."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from ....dynamodb.errors import DynamoDbError, framed, validation
from ....dynamodb.expressions import KeyRange, holds, key_range, legacy, project
from ....dynamodb.expressions.nodes import top_names
from ....dynamodb.items import index_view
from ....dynamodb.keys import HASH_KEY_LIMIT, RANGE_KEY_LIMIT, KeyAttribute, check_key_value, sort_text
from ....dynamodb.schema import IndexSpec, TableSpec, table_reference
from ....dynamodb.values import Item, item_size
from .._sqlite import Database
from .capacity import Consumption, capacity_mode, read_units
from .catalog import TableCatalog
from .requests import Expressions
from .store import ItemStore, Position, Row

__all__ = ["Reader"]

PAGE_BYTES = 1024 * 1024
"""A Query or Scan page stops once it has read this much (DynamoDB's 1 MB)."""
_SELECTS = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")


class Reader:
    def __init__(self, db: Database, catalog: TableCatalog, store: ItemStore) -> None:
        self.db = db
        self.catalog = catalog
        self.store = store

    def query(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = table_reference(request.get("TableName"))
        expressions = Expressions(request, key_condition=True, filter_=True, legacy_filter="QueryFilter")
        if expressions.key_condition is None:
            raise validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
        conn = self.db.connection()
        spec = self.catalog.must(conn, name)
        index = _index(spec, request)
        hash_key, range_key = (index.hash_key, index.range_key) if index else (spec.hash_key, spec.range_key)
        if expressions.legacy_key_conditions is not None:
            legacy.check_key_types(expressions.legacy_key_conditions, hash_key, range_key)
        wanted = key_range(expressions.key_condition, hash_key, range_key)
        start = _start_position(spec, index, request.get("ExclusiveStartKey"))
        key = index.key if index else spec.key
        if expressions.query_filter is not None:
            legacy.check_query_filter(expressions.query_filter, key)
        elif expressions.filter is not None:
            # A key attribute belongs in the key condition: DynamoDB refuses it in a Query's filter.
            named = set(top_names(expressions.filter))
            for attribute in key:
                if attribute.name in named:
                    raise validation(
                        f"Filter Expression can only contain non-primary key attributes: Primary key attribute: {attribute.name}"
                    )
        descending = request.get("ScanIndexForward") is False
        rows = self.store.rows(
            conn,
            name,
            index=index.name if index else None,
            partition=sort_text(wanted.partition),
            sort_conditions=_sort_conditions(wanted),
            after=start,
            descending=descending,
        )
        return _page(spec, index, request, expressions, rows)

    def scan(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = table_reference(request.get("TableName"))
        expressions = Expressions(request, filter_=True, legacy_filter="ScanFilter")
        segment, total = request.get("Segment"), request.get("TotalSegments")
        if segment is not None and total is None:
            raise validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
        if total is not None and segment is None:
            raise validation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
        if total is not None and not 1 <= total <= 1_000_000:
            raise validation(
                f"1 validation error detected: Value '{total}' at 'totalSegments' failed to satisfy constraint:"
                " Member must have value less than or equal to 1000000"
            )
        if segment is not None and total is not None and not 0 <= segment < total:
            raise validation(
                "The Segment parameter is zero-based and must be less than parameter TotalSegments:"
                f" Segment: {segment} is not less than TotalSegments: {total}"
            )
        conn = self.db.connection()
        spec = self.catalog.must(conn, name)
        index = _index(spec, request)
        rows = self.store.rows(
            conn,
            name,
            index=index.name if index else None,
            partition=None,
            sort_conditions=(),
            after=_start_position(spec, index, request.get("ExclusiveStartKey")),
            descending=False,
        )
        if total is not None and total > 1:
            rows = _segment(rows, int(segment or 0), int(total), 2 if index else 0)
        return _page(spec, index, request, expressions, rows)


def _segment(rows: Iterator[Row], segment: int, total: int, partition_column: int) -> Iterator[Row]:
    # An item's segment follows from its partition key alone, as DynamoDB's does, so segments never overlap.
    for row in rows:
        if zlib.crc32(row.position[partition_column].encode("utf-8")) % total == segment:
            yield row


def _index(spec: TableSpec, request: Mapping[str, Any]) -> IndexSpec | None:
    name = request.get("IndexName")
    if name is None:
        return None
    index = spec.index(name)
    if index is None:
        raise validation(f"The table does not have the specified index: {name}")
    if index.is_global and request.get("ConsistentRead"):
        raise validation("Consistent reads are not supported on global secondary indexes")
    return index


def _sort_conditions(wanted: KeyRange) -> list[tuple[str, Any]]:
    if wanted.operator is None:
        return []
    assert wanted.low is not None
    low = sort_text(wanted.low)
    if wanted.operator == "BETWEEN":
        assert wanted.high is not None
        return [("{sort} >= ?", low), ("{sort} <= ?", sort_text(wanted.high))]
    if wanted.operator == "begins_with":
        return [("substr({sort}, 1, ?) = ?", (len(low), low))]
    return [("{sort} " + wanted.operator + " ?", low)]


def _start_position(spec: TableSpec, index: IndexSpec | None, start: Any) -> Position | None:
    """Where a page resumes: just after ``ExclusiveStartKey`` in the read's order."""
    if start is None:
        return None
    attributes: list[tuple[KeyAttribute, int]] = [(spec.hash_key, HASH_KEY_LIMIT)]
    if spec.range_key is not None:
        attributes.append((spec.range_key, RANGE_KEY_LIMIT))
    if index is not None:
        attributes += [(a, HASH_KEY_LIMIT) for a in index.key if a.name not in spec.key_names]
    expected = {a.name for a, _ in attributes}
    if not isinstance(start, Mapping) or set(start) != expected:
        raise validation("The provided starting key is invalid: The provided key element does not match the schema")
    values = {
        attribute.name: check_key_value(attribute, start[attribute.name], limit=limit, in_item=False) for attribute, limit in attributes
    }
    pk = sort_text(values[spec.hash_key.name])
    sk = sort_text(values[spec.range_key.name]) if spec.range_key is not None else ""
    if index is None:
        return (pk, sk)
    ipk = sort_text(values[index.hash_key.name])
    isk = sort_text(values[index.range_key.name]) if index.range_key is not None else ""
    return (ipk, isk, pk, sk)


def _last_key(spec: TableSpec, index: IndexSpec | None, item: Item) -> Item:
    names = list(spec.key_names) + ([a.name for a in index.key if a.name not in spec.key_names] if index else [])
    return {n: item[n] for n in names}


def _page(
    spec: TableSpec, index: IndexSpec | None, request: Mapping[str, Any], expressions: Expressions, rows: Iterator[Row]
) -> dict[str, Any]:
    limit = request.get("Limit")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise validation(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint:"
            " Member must have value greater than or equal to 1"
        )
    select = _select(index, request, expressions)
    mode = capacity_mode(request)
    items: list[Item] = []
    scanned = 0
    read_bytes = 0
    last: Item | None = None
    for row in rows:
        item = row.item
        scanned += 1
        read_bytes += item_size(item)
        visible = index_view(spec, index, item) if index is not None and index.is_global else item
        if expressions.filter is None or holds(expressions.filter, visible):
            items.append(_shown(spec, index, select, expressions, visible))
        if (limit is not None and scanned >= limit) or read_bytes >= PAGE_BYTES:
            last = _last_key(spec, index, item)
            break
    response: dict[str, Any] = {"Count": len(items), "ScannedCount": scanned}
    if select != "COUNT":
        response["Items"] = items
    if last is not None:
        response["LastEvaluatedKey"] = last
    if mode != "NONE":
        # A Query or Scan pays for what it read, filtered out or not, as one sum.
        units = read_units(read_bytes, consistent=bool(request.get("ConsistentRead")))
        used = Consumption(spec.name)
        if index is None:
            used.units = units
        else:
            used.on_index(index, units)
        response["ConsumedCapacity"] = used.to_wire(mode)
    return response


def _select(index: IndexSpec | None, request: Mapping[str, Any], expressions: Expressions) -> str:
    try:
        select = _checked_select(index, request, expressions)
    except DynamoDbError as exc:
        # Query's front validation frames its Select refusals; Scan answers them bare.
        raise framed(exc, frozenset({"Query"})) from None
    if select == "ALL_ATTRIBUTES" and index is not None and index.is_global and index.projection != "ALL":
        # Checked against the index itself, past the front validation: bare for Query too.
        raise validation(
            f"One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global"
            f" secondary index {index.name} because its projection type is not ALL"
        )
    return select


def _checked_select(index: IndexSpec | None, request: Mapping[str, Any], expressions: Expressions) -> str:
    select = request.get("Select")
    if select is None:
        if expressions.projection is not None:
            return "SPECIFIC_ATTRIBUTES"
        return "ALL_PROJECTED_ATTRIBUTES" if index is not None else "ALL_ATTRIBUTES"
    if select not in _SELECTS:
        raise validation(
            f"1 validation error detected: Value '{select}' at 'select' failed to satisfy constraint:"
            " Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
        )
    if select == "SPECIFIC_ATTRIBUTES" and expressions.projection is None:
        raise validation("Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
    if select != "SPECIFIC_ATTRIBUTES" and expressions.projection is not None:
        parameter = "ProjectionExpression" if request.get("ProjectionExpression") is not None else "AttributesToGet"
        wanted = "only the Count" if select == "COUNT" else select
        raise validation(f"Cannot specify the {parameter} when choosing to get {wanted}")
    if select == "ALL_PROJECTED_ATTRIBUTES" and index is None:
        raise validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
    return str(select)


def _shown(spec: TableSpec, index: IndexSpec | None, select: str, expressions: Expressions, item: Item) -> Item:
    if select == "SPECIFIC_ATTRIBUTES":
        assert expressions.projection is not None
        return project(item, expressions.projection.paths)
    if select == "ALL_PROJECTED_ATTRIBUTES" and index is not None:
        return index_view(spec, index, item)
    return item

"""The metadata table on SQLite: a client of the local DynamoDB engine, as DynamoTable is of DynamoDB.

Why a client and not a store of its own: the pipeline's table is also served on
the AWS-compatible endpoint (``aws dynamodb query --table-name ProcessingMetadata``).
With one storage, what a run writes is what the endpoint reads and the other way
round, and both sides get the same DynamoDB rules (typed ``=``, 38-digit numbers,
400 KB items, sparse indexes), because there is only one implementation of them:
:mod:`sluiceway.backends.local.dynamodb`. This module only turns the port's plain
JSON and :class:`~sluiceway.ports.Condition` into DynamoDB requests and back,
mirroring :class:`sluiceway.backends.aws.tables.DynamoTable`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ...clock import SystemClock
from ...dynamodb.errors import DynamoDbError
from ...dynamodb.keys import KeyAttribute
from ...dynamodb.schema import IndexSpec, TableSpec
from ...dynamodb.values import Value, from_plain, to_plain
from ...errors import ConflictError
from ...ports import STATUS_TIME_INDEX, Condition, SecondaryIndex, check_query
from ...types import JSON
from ._sqlite import Database
from .dynamodb import LocalDynamoDb

logger = logging.getLogger(__name__)

__all__ = ["SqliteTable"]

T = TypeVar("T")


class SqliteTable:
    """A :class:`~sluiceway.ports.MetadataTable` stored as a DynamoDB table of the data dir.

    The table is created in the engine's catalog when it does not exist yet (with
    :data:`~sluiceway.ports.STATUS_TIME_INDEX`, as the deployed table has), so that
    the endpoint lists and describes it from the start. Conditions are checked
    inside the write's ``BEGIN IMMEDIATE`` transaction, so no other writer can slip
    in between check and write.

    Args:
        db: the data dir's database.
        name: the table's name.
        partition_key: the partition key attribute.
        sort_key: the sort key attribute, if the table has one.
        engine: the DynamoDB engine on ``db`` (one is made when omitted).
    """

    indexes: tuple[SecondaryIndex, ...] = (STATUS_TIME_INDEX,)
    """The secondary indexes every metadata table has."""

    def __init__(
        self,
        db: Database,
        name: str,
        *,
        partition_key: str = "ExecutionId",
        sort_key: str | None = None,
        engine: LocalDynamoDb | None = None,
    ) -> None:
        self.db = db
        self.name = name
        self.partition_key = partition_key
        self.sort_key = sort_key
        self.engine = engine or LocalDynamoDb(db, SystemClock(), region="us-east-1", account_id="000000000000")
        self._ensure()

    def _spec(self) -> TableSpec:
        key_names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        attributes = dict.fromkeys(key_names, "S")
        indexes = []
        for index in self.indexes:
            for attribute in index.key_attributes:
                attributes[attribute] = "S"
            indexes.append(
                IndexSpec(
                    index.name,
                    KeyAttribute(index.partition_key, "S"),
                    KeyAttribute(index.sort_key, "S") if index.sort_key else None,
                    "ALL",
                )
            )
        return TableSpec(
            name=self.name,
            hash_key=KeyAttribute(self.partition_key, "S"),
            range_key=KeyAttribute(self.sort_key, "S") if self.sort_key else None,
            attributes=attributes,
            indexes=tuple(indexes),
            billing_mode="PAY_PER_REQUEST",
            created=self.engine.clock.now().timestamp(),
            table_id=f"sluiceway-{self.name}",
        )

    def _ensure(self) -> None:
        spec = self.engine.ensure_table(self._spec())
        wanted = (self.partition_key, self.sort_key)
        found = (spec.hash_key.name, spec.range_key.name if spec.range_key else None)
        if found != wanted:
            raise ValueError(f"table {self.name} exists with key {found}, not {wanted}")

    def _call(self, action: Callable[[], T]) -> T:
        """Run an engine call, translating DynamoDB's refusals into the port's errors."""
        try:
            try:
                return action()
            except DynamoDbError as exc:
                if exc.code != "ResourceNotFoundException":
                    raise
                # Deleted through the endpoint meanwhile: the pipeline's table comes back, as it was.
                self._ensure()
                return action()
        except DynamoDbError as exc:
            if exc.code == "ConditionalCheckFailedException":
                raise ConflictError(f"condition failed for an item in table {self.name}") from exc
            raise ValueError(f"table {self.name}: {exc.message}") from exc

    def _key(self, item: Mapping[str, JSON]) -> dict[str, Value]:
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        key: dict[str, Value] = {}
        for name in names:
            if name not in item:
                # DynamoDB refuses a key without all its attributes; so do we.
                raise ValueError(f"item has no key attribute {name!r}")
            value = item[name]
            if not isinstance(value, str) or not value:
                raise ValueError(f"key attribute {name!r} must be a non-empty string, not {value!r}")
            key[name] = {"S": value}
        return key

    def _check_index_values(self, attributes: Mapping[str, JSON]) -> None:
        for index in self.indexes:
            index.check_values(attributes)

    def put(
        self,
        item: Mapping[str, JSON],
        *,
        if_absent: bool = False,
        condition: Condition | None = None,
    ) -> None:
        """Write ``item``, replacing the whole item; see :meth:`MetadataTable.put`."""
        self._key(item)
        self._check_index_values(item)
        request: dict[str, Any] = {"TableName": self.name, "Item": _typed(item)}
        clauses = ["attribute_not_exists(#pk)"] if if_absent else []
        names = {"#pk": self.partition_key} if if_absent else {}
        request.update(_condition(clauses, names, condition))
        self._call(lambda: self.engine.put_item(request))

    def get(self, key: Mapping[str, JSON]) -> dict[str, JSON] | None:
        """The item with ``key``, or None."""
        request = {"TableName": self.name, "Key": self._key(key), "ConsistentRead": True}
        found = self._call(lambda: self.engine.get_item(request)).get("Item")
        return None if found is None else _plain(found)

    def update(
        self,
        key: Mapping[str, JSON],
        changes: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
    ) -> dict[str, JSON]:
        """Set attributes (creating the item) and return it; see :meth:`MetadataTable.update`."""
        typed_key = self._key(key)
        self._check_index_values(changes)
        sets: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Value] = {}
        for number, (attribute, value) in enumerate(changes.items()):
            if attribute in typed_key:
                if value != key[attribute]:
                    raise ValueError(f"cannot change key attribute {attribute!r}")
                continue
            # Placeholders for every name and value: names may be reserved words or hold any character.
            names[f"#a{number}"] = attribute
            values[f":v{number}"] = _value(value)
            sets.append(f"#a{number} = :v{number}")
        request: dict[str, Any] = {"TableName": self.name, "Key": typed_key, "ReturnValues": "ALL_NEW"}
        condition_part = _condition([], {}, condition)
        names.update(condition_part.pop("ExpressionAttributeNames", {}))
        values.update(condition_part.pop("ExpressionAttributeValues", {}))
        request.update(condition_part)
        if sets:
            request["UpdateExpression"] = "SET " + ", ".join(sets)
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = values
        response = self._call(lambda: self.engine.update_item(request))
        return _plain(response.get("Attributes") or typed_key)

    def delete(self, key: Mapping[str, JSON], *, condition: Condition | None = None) -> None:
        """Delete the item (a missing one is not an error); see :meth:`MetadataTable.delete`."""
        request: dict[str, Any] = {"TableName": self.name, "Key": self._key(key)}
        request.update(_condition([], {}, condition))
        self._call(lambda: self.engine.delete_item(request))

    def query(
        self,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Items of one partition in sort key order; see :meth:`MetadataTable.query`."""
        check_query(partition_value, sort_from, sort_to, limit, self.sort_key, f"table {self.name}")
        request = _key_condition(self.partition_key, self.sort_key, partition_value, sort_from, sort_to)
        request.update(TableName=self.name, ConsistentRead=True, ScanIndexForward=not newest_first)
        return self._query(request, limit)

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
        """Items of one index partition in order; see :meth:`MetadataTable.query_index`."""
        spec = next((i for i in self.indexes if i.name == index), None)
        if spec is None:
            known = ", ".join(sorted(i.name for i in self.indexes))
            raise ValueError(f"table {self.name} has no index {index!r}; known indexes: {known}")
        check_query(partition_value, sort_from, sort_to, limit, spec.sort_key, f"index {index}")
        request = _key_condition(spec.partition_key, spec.sort_key, partition_value, sort_from, sort_to)
        request.update(TableName=self.name, IndexName=index, ScanIndexForward=not newest_first)
        return self._query(request, limit)

    def _query(self, request: dict[str, Any], limit: int | None) -> list[dict[str, JSON]]:
        items: list[dict[str, JSON]] = []
        while True:
            if limit is not None:
                request["Limit"] = limit - len(items)
            page = self._call(lambda: self.engine.query(request))
            items.extend(_plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit is not None and len(items) >= limit):
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def scan(self, *, limit: int | None = None) -> list[dict[str, JSON]]:
        """Every item, newest first by ``Timestamp`` (items without one last), then by key."""
        request: dict[str, Any] = {"TableName": self.name, "ConsistentRead": True}
        items: list[dict[str, JSON]] = []
        while True:
            page = self._call(lambda: self.engine.scan(request))
            items.extend(_plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # Pages come in key order; the newest-first order is Timestamp's, descending.
        items.sort(key=lambda i: (str(i[self.sort_key]) if self.sort_key else "",))
        items.sort(key=lambda i: str(i[self.partition_key]))
        stamped = sorted((i for i in items if isinstance(i.get("Timestamp"), str)), key=lambda i: str(i["Timestamp"]), reverse=True)
        unstamped = [i for i in items if not isinstance(i.get("Timestamp"), str)]
        ordered = stamped + unstamped
        return ordered if limit is None else ordered[:limit]


def _value(value: JSON) -> Value:
    try:
        return from_plain(value)
    except DynamoDbError as exc:
        raise ValueError(f"DynamoDB cannot store {value!r}: {exc.message}") from None


def _typed(item: Mapping[str, JSON]) -> dict[str, Value]:
    return {str(name): _value(value) for name, value in item.items()}


def _plain(item: Mapping[str, Value]) -> dict[str, JSON]:
    return {name: to_plain(value) for name, value in item.items()}


def _condition(clauses: list[str], names: dict[str, str], condition: Condition | None) -> dict[str, Any]:
    """The ConditionExpression and placeholders of ``clauses`` plus a port :class:`Condition`."""
    values: dict[str, Value] = {}
    if condition is not None:
        for number, attribute in enumerate(condition.exists):
            names[f"#e{number}"] = attribute
            clauses.append(f"attribute_exists(#e{number})")
        for number, attribute in enumerate(condition.not_exists):
            names[f"#n{number}"] = attribute
            clauses.append(f"attribute_not_exists(#n{number})")
        for number, (attribute, value) in enumerate(condition.equals.items()):
            names[f"#q{number}"] = attribute
            values[f":q{number}"] = _value(value)
            clauses.append(f"#q{number} = :q{number}")
    request: dict[str, Any] = {}
    if clauses:
        request["ConditionExpression"] = " AND ".join(clauses)
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = values
    return request


def _key_condition(
    partition_key: str, sort_key: str | None, partition_value: str, sort_from: str | None, sort_to: str | None
) -> dict[str, Any]:
    names = {"#p": partition_key}
    values: dict[str, Value] = {":p": {"S": partition_value}}
    expression = "#p = :p"
    if sort_key is not None and (sort_from is not None or sort_to is not None):
        names["#s"] = sort_key
        if sort_from is not None and sort_to is not None:
            expression += " AND #s BETWEEN :from AND :to"
            values[":from"], values[":to"] = {"S": sort_from}, {"S": sort_to}
        elif sort_from is not None:
            expression += " AND #s >= :from"
            values[":from"] = {"S": sort_from}
        else:
            assert sort_to is not None
            expression += " AND #s <= :to"
            values[":to"] = {"S": sort_to}
    return {"KeyConditionExpression": expression, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}

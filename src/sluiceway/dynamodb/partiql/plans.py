"""A parsed statement as the native request DynamoDB serves it by: Query, Scan, PutItem, UpdateItem, DeleteItem.

DynamoDB runs PartiQL on its item operations, and so does the local engine: a SELECT
whose WHERE fixes the partition key (``pk = ?``, with at most one sort-key condition
beside it) is a Query, one whose WHERE lists partition keys (``pk IN [...]`` or
``pk = ? OR pk = ?``) one Query per key, any other SELECT a Scan (with the WHERE as its
filter); an ``EXISTS(SELECT ...)`` of a transaction is a ConditionCheck; INSERT is
a PutItem that must not find the item; UPDATE an UpdateItem that must find it; DELETE a
DeleteItem. The statement's other conditions become the request's condition or filter,
so streams, conditions, limits and capacity are the native calls'.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import validation
from ..schema import IndexSpec, TableSpec
from ..values import compare, equal
from .nodes import (
    And,
    Assign,
    Between,
    Call,
    Comparison,
    Condition,
    Constant,
    Delete,
    Exists,
    In,
    Insert,
    ListValue,
    MapValue,
    Not,
    Or,
    Parameter,
    Path,
    Remove,
    Select,
    SetValue,
    Statement,
    Update,
)
from .parser import malformed
from .render import Placeholders, bind

__all__ = [
    "NO_KEY",
    "Plan",
    "check_parameters",
    "conjuncts",
    "parameter_count",
    "plan_statement",
]

NO_KEY = "Where clause does not contain a mandatory equality on all key attributes"
_SORT_OPERATORS = ("=", "<", "<=", ">", ">=")
_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<=", "<>": "<>"}
MAX_IN_KEYS = 50
"""The most partition-key values an IN may list (the ql-operators reference)."""
MAX_IN_VALUES = 100
"""The most values an IN on any other attribute may list."""
_ORDER_BY = "Must have the partition key equality condition in the WHERE clause and the sort key in the ORDER BY clause to use ORDER BY."


@dataclass
class Plan:
    """One statement as a native operation and its request."""

    operation: str
    """``Query``, ``Scan``, ``PutItem``, ``UpdateItem``, ``DeleteItem`` or ``ConditionCheck``."""
    request: dict[str, Any]
    table: str
    key: dict[str, Any] | None = None
    """The item's key, when the statement names exactly one item."""
    projection: tuple[Path, ...] | None = None
    """The SELECT's paths (None: ``*``), applied to each item read."""
    keyed_read: bool = False
    """A SELECT whose WHERE fixes the whole primary key (what batches and transactions need)."""
    remainder: Condition | None = None
    """A keyed SELECT's conditions beyond its key."""
    parameters: Sequence[dict[str, Any]] = ()
    """The statement's parameters (a keyed SELECT's remainder is evaluated with them)."""
    partitions: list[dict[str, Any]] | None = None
    """For a SELECT over listed partition keys: each key's value, in the order they are read.
    The Query ``request`` is run once per value, with the value at ``partition_value``."""
    partition_value: str = ""
    """The placeholder in ``request``'s ExpressionAttributeValues that holds the partition key."""


def parameter_count(node: Any) -> int:
    """How many ``?`` the statement holds."""
    return sum(1 for _ in _parameters(node))


def _parameters(node: Any) -> Iterator[Parameter]:
    if isinstance(node, Parameter):
        yield node
    elif isinstance(node, tuple | list):
        for member in node:
            yield from _parameters(member)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type | Constant):
        for member in dataclasses.fields(node):
            yield from _parameters(getattr(node, member.name))


def check_parameters(statement: Statement, parameters: Sequence[Any]) -> None:
    if parameter_count(statement) != len(parameters):
        raise validation("Number of parameters in request and statement don't match.")


def conjuncts(condition: Condition | None) -> list[Condition]:
    """The conditions a WHERE joins with AND at its top level, in the order written."""
    if condition is None:
        return []
    if isinstance(condition, And):
        return [found for term in condition.terms for found in conjuncts(term)]
    return [condition]


def _joined(conditions: Sequence[Condition]) -> Condition | None:
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else And(tuple(conditions))


def _attribute(operand: Any) -> str | None:
    """The attribute a path of one name names."""
    if isinstance(operand, Path) and len(operand.elements) == 1 and isinstance(operand.elements[0], str):
        return operand.elements[0]
    return None


def _oriented(condition: Condition) -> Comparison | None:
    """A comparison of an attribute with a value, written attribute first."""
    if not isinstance(condition, Comparison):
        return None
    left, right = condition.left, condition.right
    if _attribute(left) is not None and _is_value(right):
        return condition
    if _attribute(right) is not None and _is_value(left):
        return Comparison(_FLIPPED[condition.operator], right, left)
    return None


def _is_value(operand: Any) -> bool:
    return isinstance(operand, Parameter | Constant | MapValue | ListValue | SetValue)


def _key_equalities(found: list[Condition], names: Sequence[str]) -> tuple[dict[str, Comparison], list[Condition]]:
    """The first ``name = value`` of each of ``names`` among the conjuncts, and the other conjuncts."""
    equalities: dict[str, Comparison] = {}
    rest: list[Condition] = []
    for condition in found:
        oriented = _oriented(condition)
        name = _attribute(oriented.left) if oriented is not None else None
        if oriented is not None and oriented.operator == "=" and name in names and name not in equalities:
            equalities[str(name)] = oriented
        else:
            rest.append(condition)
    return equalities, rest


def _paths(node: Any) -> Iterator[Path]:
    if isinstance(node, Path):
        yield node
    elif isinstance(node, tuple | list):
        for member in node:
            yield from _paths(member)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type | Constant):
        for member in dataclasses.fields(node):
            yield from _paths(getattr(node, member.name))


def _names(condition: Condition) -> set[str]:
    return {str(p.elements[0]) for p in _paths(condition)}


def plan_statement(statement: Statement, spec: TableSpec, parameters: Sequence[dict[str, Any]], *, consistent: bool = False) -> Plan:
    """The native request ``statement`` runs as on ``spec``'s table.

    Raises:
        DynamoDbError: DynamoDB's ValidationException for a statement the table cannot serve.
    """
    check_parameters(statement, parameters)
    _check_in_lists(statement, spec)
    if isinstance(statement, Select):
        return _select(statement, spec, parameters, consistent)
    if isinstance(statement, Exists):
        return _exists(statement, spec, parameters)
    if isinstance(statement, Insert):
        return _insert(statement, spec, parameters)
    if statement.index is not None:
        raise validation("This operation is not supported on an index")
    if isinstance(statement, Update):
        return _update(statement, spec, parameters)
    return _delete(statement, spec, parameters)


# -- SELECT ---------------------------------------------------------------------------------


def _select(statement: Select, spec: TableSpec, parameters: Sequence[dict[str, Any]], consistent: bool) -> Plan:
    index: IndexSpec | None = None
    if statement.index is not None:
        index = spec.index(statement.index)
        if index is None:
            # Query names the index in this message; PartiQL does not.
            raise validation("The table does not have the specified index")
        if index.is_global and consistent:
            raise validation("Strongly consistent read is not supported on Global Secondary Indexes")
    hash_key, range_key = (index.hash_key, index.range_key) if index else (spec.hash_key, spec.range_key)
    read_key = [hash_key.name] + ([range_key.name] if range_key else [])
    found = conjuncts(statement.where)
    equalities, rest = _key_equalities(found, [hash_key.name])
    listed: list[Any] | None = None
    if hash_key.name not in equalities:
        listed, rest = _listed_keys(found, hash_key.name)
    holders = Placeholders(parameters)
    request: dict[str, Any] = {"TableName": spec.name}
    if index is not None:
        request["IndexName"] = index.name
    if consistent:
        request["ConsistentRead"] = True
    sort_condition: Condition | None = None
    if (hash_key.name in equalities or listed is not None) and range_key is not None:
        for position, condition in enumerate(rest):
            if _is_sort_condition(condition, range_key.name):
                # A key condition names the key first (``3 <= sk`` is ``sk >= 3``).
                sort_condition = _oriented(condition) or condition
                rest = rest[:position] + rest[position + 1 :]
                break
    # A key attribute may not be filtered in a Query (DynamoDB refuses it there), so a WHERE
    # that conditions the key beyond one sort-key condition is read by a Scan instead.
    queried = (hash_key.name in equalities or listed is not None) and not any(_names(c) & set(read_key) for c in rest)
    descending, by_partition = _order(statement, queried, listed is not None, hash_key.name, range_key.name if range_key else None)
    partitions: list[dict[str, Any]] | None = None
    partition_value = ""
    if queried:
        if listed is not None:
            partitions = _distinct([bind(v, parameters) for v in listed])
            if by_partition is not None:
                partitions.sort(key=functools.cmp_to_key(lambda a, b: compare(a, b) or 0), reverse=by_partition)
            partition_value = holders.value(partitions[0])
            key_text = f"{holders.name(hash_key.name)} = {partition_value}"
        else:
            key_text = holders.condition(equalities[hash_key.name])
        if sort_condition is not None:
            key_text += f" AND {holders.condition(sort_condition)}"
        request["KeyConditionExpression"] = key_text
        remainder = _joined(rest)
        if remainder is not None:
            request["FilterExpression"] = holders.condition(remainder)
        if descending:
            request["ScanIndexForward"] = False
        operation = "Query"
    else:
        if statement.where is not None:
            request["FilterExpression"] = holders.condition(statement.where)
        operation = "Scan"
    table_key, table_rest = _key_equalities(found, spec.key_names)
    keyed_read = index is None and len(table_key) == len(spec.key_names)
    key = {name: _bound(table_key[name], parameters) for name in spec.key_names} if keyed_read else None
    return Plan(
        operation,
        holders.add_to(request),
        spec.name,
        key=key,
        projection=statement.projection,
        keyed_read=keyed_read,
        remainder=_joined(table_rest) if keyed_read else None,
        parameters=list(parameters),
        partitions=partitions,
        partition_value=partition_value,
    )


def _listed_keys(found: list[Condition], hash_key: str) -> tuple[list[Any] | None, list[Condition]]:
    """The partition-key values a conjunct lists (``pk IN [...]``, ``pk = a OR pk = b``), and the other conjuncts."""
    for position, condition in enumerate(found):
        values: list[Any] | None = None
        if isinstance(condition, In) and _attribute(condition.subject) == hash_key:
            values = list(condition.candidates)
        elif isinstance(condition, Or):
            oriented = [_oriented(term) for term in condition.terms]
            if all(o is not None and o.operator == "=" and _attribute(o.left) == hash_key for o in oriented):
                values = [o.right for o in oriented if o is not None]
        if values is not None and all(_is_value(v) for v in values):
            return values, found[:position] + found[position + 1 :]
    return None, found


def _distinct(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The values without repeats (a key listed twice is read once), in the order first listed."""
    kept: list[dict[str, Any]] = []
    for value in values:
        if not any(equal(value, other) for other in kept):
            kept.append(value)
    return kept


def _is_sort_condition(condition: Condition, range_key: str) -> bool:
    oriented = _oriented(condition)
    if oriented is not None:
        return _attribute(oriented.left) == range_key and oriented.operator in _SORT_OPERATORS
    if isinstance(condition, Between):
        return _attribute(condition.subject) == range_key and _is_value(condition.low) and _is_value(condition.high)
    if isinstance(condition, Call) and condition.function == "begins_with":
        return _attribute(condition.arguments[0]) == range_key and _is_value(condition.arguments[1])
    return False


def _order(statement: Select, queried: bool, several: bool, hash_key: str, range_key: str | None) -> tuple[bool, bool | None]:
    """Whether the sort key is read descending, and whether listed partitions are read in key order (descending).

    ORDER BY names the partition key, the sort key or both (the select reference's "a hash
    key or a sort key"); DynamoDB orders only what its Queries read in order: the sort key
    within a partition, and the partitions of a listed key one after another (``several``).
    Ordering by the sort key before the partition key is therefore refused across several
    partitions; within one, the partition key orders nothing.
    """
    if not statement.order_by:
        return False, None
    if statement.where is None:
        raise validation("Must have WHERE clause in the statement when using ORDER BY clause.")
    if not queried:
        raise validation(_ORDER_BY)
    descending: bool | None = None
    by_partition: bool | None = None
    for path, desc in statement.order_by:
        name = _attribute(path)
        if name == hash_key and by_partition is None and (descending is None or not several):
            by_partition = desc
        elif name is not None and name == range_key and descending is None:
            descending = desc
        else:
            raise validation(_ORDER_BY)
    return bool(descending), by_partition


def _check_in_lists(statement: Statement, spec: TableSpec) -> None:
    """The IN lists' lengths: at most 50 partition-key values, 100 of any other attribute (ql-operators).

    AWS's words for these refusals are unrecorded; these say what the reference says.
    """
    where = statement.select.where if isinstance(statement, Exists) else getattr(statement, "where", None)
    index = spec.index(statement.index) if isinstance(statement, Select) and statement.index else None
    hash_key = (index or spec).hash_key.name
    pending: list[Any] = [where]
    while pending:
        node = pending.pop()
        if isinstance(node, And | Or):
            pending.extend(node.terms)
        elif isinstance(node, Not):
            pending.append(node.operand)
        elif isinstance(node, In):
            keyed = _attribute(node.subject) == hash_key
            most = MAX_IN_KEYS if keyed else MAX_IN_VALUES
            if len(node.candidates) > most:
                which = "partition key values" if keyed else "values"
                raise validation(f"The IN operator may have at most {most} {which}; found: {len(node.candidates)}")


def _bound(comparison: Comparison, parameters: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return bind(comparison.right, parameters)  # type: ignore[arg-type]


def _exists(statement: Exists, spec: TableSpec, parameters: Sequence[dict[str, Any]]) -> Plan:
    """``EXISTS(SELECT ... WHERE key AND condition)``: a ConditionCheck that the keyed item is there and meets the rest."""
    if statement.select.index is not None:
        raise validation("Reads on indices are not supported within transactions.")
    key, rest = _write_key(statement.select.where, spec, parameters)
    holders = Placeholders(parameters)
    condition = f"attribute_exists({holders.name(spec.hash_key.name)})"
    remainder = _joined(rest)
    if remainder is not None:
        condition += f" AND {holders.grouped(remainder, Or)}"
    request = {"TableName": spec.name, "Key": key, "ConditionExpression": condition}
    return Plan("ConditionCheck", holders.add_to(request), spec.name, key=key)


# -- writes ---------------------------------------------------------------------------------


def _write_key(where: Condition | None, spec: TableSpec, parameters: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], list[Condition]]:
    equalities, rest = _key_equalities(conjuncts(where), spec.key_names)
    if len(equalities) != len(spec.key_names):
        raise validation(NO_KEY)
    return {name: _bound(equalities[name], parameters) for name in spec.key_names}, rest


def _insert(statement: Insert, spec: TableSpec, parameters: Sequence[dict[str, Any]]) -> Plan:
    item = bind(statement.item, parameters)
    if "M" not in item:
        raise malformed("Unexpected term")
    holders = Placeholders(parameters)
    # INSERT never replaces an item: DynamoDB refuses it as a duplicate (see DuplicateItemException).
    condition = f"attribute_not_exists({holders.name(spec.hash_key.name)})"
    request = holders.add_to({"TableName": spec.name, "Item": item["M"], "ConditionExpression": condition})
    key = {name: item["M"][name] for name in spec.key_names if name in item["M"]}
    return Plan("PutItem", request, spec.name, key=key if len(key) == len(spec.key_names) else None)


def _update(statement: Update, spec: TableSpec, parameters: Sequence[dict[str, Any]]) -> Plan:
    key, rest = _write_key(statement.where, spec, parameters)
    holders = Placeholders(parameters)
    clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": [], "DELETE": []}
    for action in statement.actions:
        if isinstance(action, Remove):
            clauses["REMOVE"].append(holders.path(action.path))
            continue
        clauses[_set_clause(action)].append(_set_text(action, holders))
    expression = " ".join(f"{verb} {', '.join(texts)}" for verb, texts in clauses.items() if texts)
    # UPDATE changes an item that exists; unlike UpdateItem it never creates one.
    condition = f"attribute_exists({holders.name(spec.hash_key.name)})"
    remainder = _joined(rest)
    if remainder is not None:
        condition += f" AND {holders.grouped(remainder, Or)}"
    request: dict[str, Any] = {"TableName": spec.name, "Key": key, "UpdateExpression": expression, "ConditionExpression": condition}
    if statement.returning is not None:
        request["ReturnValues"] = statement.returning
    return Plan("UpdateItem", holders.add_to(request), spec.name, key=key)


def _set_clause(action: Assign) -> str:
    value = action.value
    if isinstance(value, Call) and value.function in ("set_add", "set_delete"):
        if value.arguments[0] != action.path:
            raise malformed("Unexpected term")
        return "ADD" if value.function == "set_add" else "DELETE"
    return "SET"


def _set_text(action: Assign, holders: Placeholders) -> str:
    value = action.value
    if isinstance(value, Call) and value.function in ("set_add", "set_delete"):
        return f"{holders.path(action.path)} {holders.operand(value.arguments[1])}"
    return f"{holders.path(action.path)} = {holders.operand(value)}"


def _delete(statement: Delete, spec: TableSpec, parameters: Sequence[dict[str, Any]]) -> Plan:
    if statement.returning not in (None, "ALL_OLD"):
        shown = {"UPDATED_OLD": "MODIFIED OLD", "ALL_NEW": "ALL NEW", "UPDATED_NEW": "MODIFIED NEW"}[str(statement.returning)]
        raise validation(f"Invalid returning clause: RETURNING {shown} *. Only RETURNING ALL OLD * is allowed in DELETE statements.")
    key, rest = _write_key(statement.where, spec, parameters)
    holders = Placeholders(parameters)
    request: dict[str, Any] = {"TableName": spec.name, "Key": key}
    remainder = _joined(rest)
    if remainder is not None:
        # Deleting an item that is not there is no failure, whatever else the WHERE says.
        absent = f"attribute_not_exists({holders.name(spec.hash_key.name)})"
        request["ConditionExpression"] = f"{absent} OR {holders.condition(remainder)}"
    if statement.returning is not None:
        request["ReturnValues"] = "ALL_OLD"
    return Plan("DeleteItem", holders.add_to(request), spec.name, key=key)

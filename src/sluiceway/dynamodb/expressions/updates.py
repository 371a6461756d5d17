"""Applying an UpdateExpression to an item, as DynamoDB does.

Every operand is read from the item as it was before the update (``SET a = :x, b = a``
gives ``b`` the old ``a``); then SET actions are written in order, REMOVE ones
(a list's elements from the highest index down, so that each index means what it
meant before), then ADD and DELETE. A SET past a list's end appends.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from decimal import Context, Decimal

from ..errors import DynamoDbError, validation
from ..values import Item, Value, check_number, number_text, type_of
from .documents import assign, lookup, remove
from .nodes import Arithmetic, Call, Index, Literal, Name, Operand, Path, SetAction, Update, UpdateAction

__all__ = ["apply_update", "updated_paths"]

_ARITHMETIC = Context(prec=200)


def _wrong_type(legacy: bool = False) -> DynamoDbError:
    if legacy:
        return validation("Type mismatch for attribute to update")
    return validation("An operand in the update expression has an incorrect data type")


def apply_update(update: Update, item: Mapping[str, Value] | None, key: Mapping[str, Value], key_names: Collection[str]) -> Item:
    """The item after ``update``: ``item`` (None: a new item with just ``key``) is not changed.

    Raises:
        DynamoDbError: an action on a key attribute, a missing operand, an operand of
            the wrong type or a path that cannot be written.
    """
    for action in update.actions:
        first = action.path.elements[0]
        if isinstance(first, Name) and first.text in key_names:
            raise validation(
                f"One or more parameter values were invalid: Cannot update attribute {first.text}. This attribute is part of the key"
            )
    before: Mapping[str, Value] = item if item is not None else dict(key)
    after: Item = copy.deepcopy(dict(before))
    sets = [a for a in update.actions if isinstance(a, SetAction)]
    values = [_value(action.value, before) for action in sets]
    for action, value in zip(sets, values, strict=True):
        assign(after, action.path, value)
    others = [a for a in update.actions if isinstance(a, UpdateAction)]
    removals = sorted((a.path for a in others if a.verb == "REMOVE"), key=_removal_order)
    for path in removals:
        remove(after, path)
    for action in others:
        if action.verb == "ADD":
            _add(after, action, update.legacy)
        elif action.verb == "DELETE":
            _delete(after, action, update.legacy)
    return after


def _removal_order(path: Path) -> tuple[tuple[int, str, int], ...]:
    # Later indexes of one list first; names in any fixed order.
    return tuple((1, "", -e.position) if isinstance(e, Index) else (0, e.text if isinstance(e, Name) else "", 0) for e in path.elements)


def _value(operand: Operand, item: Mapping[str, Value]) -> Value:
    if isinstance(operand, Literal):
        return copy.deepcopy(operand.value)
    if isinstance(operand, Path):
        found = lookup(item, operand)
        if found is None:
            raise validation("The provided expression refers to an attribute that does not exist in the item")
        return copy.deepcopy(found)
    if isinstance(operand, Arithmetic):
        left, right = _value(operand.left, item), _value(operand.right, item)
        if type_of(left) != "N" or type_of(right) != "N":
            raise _wrong_type()
        a, b = Decimal(left["N"]), Decimal(right["N"])
        result = _ARITHMETIC.add(a, b) if operand.operator == "+" else _ARITHMETIC.subtract(a, b)
        return {"N": number_text(check_number(result))}
    assert isinstance(operand, Call)
    if operand.function == "if_not_exists":
        path = operand.arguments[0]
        assert isinstance(path, Path)
        found = lookup(item, path)
        return copy.deepcopy(found) if found is not None else _value(operand.arguments[1], item)
    if operand.function == "list_append":
        left, right = _value(operand.arguments[0], item), _value(operand.arguments[1], item)
        if type_of(left) != "L" or type_of(right) != "L":
            raise _wrong_type()
        return {"L": left["L"] + right["L"]}
    raise validation(f"Invalid UpdateExpression: The function is not allowed in an update expression; function: {operand.function}")


def _literal(action: UpdateAction) -> Value:
    assert isinstance(action.value, Literal)
    return copy.deepcopy(action.value.value)


def _add(item: Item, action: UpdateAction, legacy: bool) -> None:
    value = _literal(action)
    current = lookup(item, action.path)
    if current is None:
        assign(item, action.path, value)
        return
    kind = type_of(value)
    if type_of(current) != kind:
        raise _wrong_type(legacy)
    if kind == "L":
        # Only AttributeUpdates' ADD takes a list (it appends); the expression's ADD refuses one.
        assign(item, action.path, {"L": current["L"] + value["L"]})
        return
    if kind == "N":
        total = _ARITHMETIC.add(Decimal(current["N"]), Decimal(value["N"]))
        assign(item, action.path, {"N": number_text(check_number(total))})
        return
    members = list(current[kind])
    known = _set_keys(kind, members)
    for member in value[kind]:
        if _set_key(kind, member) not in known:
            members.append(member)
            known.add(_set_key(kind, member))
    assign(item, action.path, {kind: members})


def _delete(item: Item, action: UpdateAction, legacy: bool) -> None:
    value = _literal(action)
    current = lookup(item, action.path)
    if current is None:
        return
    kind = type_of(value)
    if type_of(current) != kind:
        raise _wrong_type(legacy)
    gone = _set_keys(kind, value[kind])
    members = [m for m in current[kind] if _set_key(kind, m) not in gone]
    if members:
        assign(item, action.path, {kind: members})
    else:
        # A set is never empty: deleting its last members removes the attribute.
        remove(item, action.path)


def _set_key(kind: str, member: object) -> object:
    return Decimal(str(member)) if kind == "NS" else member


def _set_keys(kind: str, members: list[object]) -> set[object]:
    return {_set_key(kind, m) for m in members}


def updated_paths(update: Update) -> tuple[Path, ...]:
    """The paths an update writes (for ``ReturnValues=UPDATED_OLD``/``UPDATED_NEW``)."""
    return tuple(action.path for action in update.actions)

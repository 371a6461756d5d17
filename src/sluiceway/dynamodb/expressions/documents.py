"""Document paths on items: read a value at ``a.b[1]``, write one there, remove one.

Paths given here are resolved (their elements are :class:`~.nodes.Name` and
:class:`~.nodes.Index` only; see :mod:`.bindings`).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import DynamoDbError, validation
from ..values import Item, Value
from .nodes import Index, Name, Path, PathElement

__all__ = ["assign", "invalid_path", "lookup", "remove"]


def invalid_path() -> DynamoDbError:
    return validation("The document path provided in the update expression is invalid for update")


def _step(value: Value | None, element: PathElement) -> Value | None:
    if value is None:
        return None
    if isinstance(element, Index):
        items = value.get("L")
        return items[element.position] if items is not None and element.position < len(items) else None
    members = value.get("M")
    return members.get(element.text) if members is not None and isinstance(element, Name) else None


def lookup(item: Mapping[str, Value] | None, path: Path) -> Value | None:
    """The value at ``path``, or None where the item has none."""
    if item is None:
        return None
    first = path.elements[0]
    value = item.get(first.text) if isinstance(first, Name) else None
    for element in path.elements[1:]:
        value = _step(value, element)
    return value


def _parent(item: Item, path: Path) -> Value:
    """The container of the path's last element: a map or a list, which must exist."""
    parent = lookup(item, Path(path.elements[:-1]))
    last = path.elements[-1]
    if parent is None or ("L" if isinstance(last, Index) else "M") not in parent:
        raise invalid_path()
    return parent


def assign(item: Item, path: Path, value: Value) -> None:
    """Write ``value`` at ``path``; an index past a list's end appends (as DynamoDB does).

    Raises:
        DynamoDbError: the path's parent is missing or is not a map/list.
    """
    last = path.elements[-1]
    if len(path.elements) == 1:
        assert isinstance(last, Name)
        item[last.text] = value
        return
    parent = _parent(item, path)
    if isinstance(last, Index):
        items = parent["L"]
        if last.position < len(items):
            items[last.position] = value
        else:
            items.append(value)
    else:
        assert isinstance(last, Name)
        parent["M"][last.text] = value


def remove(item: Item, path: Path) -> None:
    """Remove what is at ``path``; nothing there is not an error."""
    last = path.elements[-1]
    if len(path.elements) == 1:
        assert isinstance(last, Name)
        item.pop(last.text, None)
        return
    parent = lookup(item, Path(path.elements[:-1]))
    if parent is None:
        return
    if isinstance(last, Index):
        items = parent.get("L")
        if items is not None and last.position < len(items):
            del items[last.position]
    elif isinstance(last, Name) and "M" in parent:
        parent["M"].pop(last.text, None)

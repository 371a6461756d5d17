"""A projection: the parts of an item at some document paths (ProjectionExpression, UPDATED_* returns).

A map keeps only the projected members; a list keeps the projected elements, in
order and packed together (``a[1], a[3]`` of a four-element list is a two-element
list), as DynamoDB returns them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from ..values import Item, Value
from .nodes import Index, Name, Path, PathElement

__all__ = ["project"]

_Tree = dict[PathElement, Any]  # an element to its subtree; None: the whole value


def project(item: Mapping[str, Value], paths: Iterable[Path]) -> Item:
    """The parts of ``item`` at ``paths`` (paths with nothing there contribute nothing)."""
    tree: _Tree = {}
    for path in paths:
        node = tree
        *inner, last = path.elements
        for element in inner:
            child = node.get(element, {})
            if child is None:
                break
            node[element] = child
            node = child
        else:
            node[last] = None
    result: Item = {}
    for element, subtree in tree.items():
        if isinstance(element, Name) and element.text in item:
            taken = _take(item[element.text], subtree)
            if taken is not None:
                result[element.text] = taken
    return result


def _take(value: Value, tree: _Tree | None) -> Value | None:
    if tree is None:
        return copy.deepcopy(value)
    if "M" in value:
        members = value["M"]
        kept = {}
        for element, subtree in tree.items():
            if isinstance(element, Name) and element.text in members:
                taken = _take(members[element.text], subtree)
                if taken is not None:
                    kept[element.text] = taken
        return {"M": kept} if kept else None
    if "L" in value:
        elements = value["L"]
        picked = []
        for element, subtree in sorted(((e, s) for e, s in tree.items() if isinstance(e, Index)), key=lambda pair: pair[0].position):
            if element.position < len(elements):
                taken = _take(elements[element.position], subtree)
                if taken is not None:
                    picked.append(taken)
        return {"L": picked} if picked else None
    return None

"""A cache of what is compiled from shapes (readers, writers, facts), keyed by what a shape is.

botocore builds a fresh ``Shape`` object each time it resolves a reference, so a recursive
shape (DynamoDB's ``AttributeValue`` inside its own ``M``) yields new objects at every level.
Keying by the model, the shape's name and its reference's serialization traits makes each
definition compile once, and recursion terminate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from botocore.model import Shape

__all__ = ["ShapeCache", "shape_key"]

T = TypeVar("T")


def shape_key(shape: Shape) -> tuple[int, str, str]:
    resolver = getattr(shape, "_shape_resolver", None)  # one per service model
    serialization = shape.serialization
    return (id(resolver), shape.name, repr(sorted(serialization.items())) if serialization else "")


class ShapeCache(Generic[T]):
    """Values built once per shape definition; a lookup of the same object is a dict hit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_object: dict[int, tuple[Shape, T]] = {}
        self._by_key: dict[tuple[int, str, str], tuple[object, T]] = {}

    def get(self, shape: Shape, build: Callable[[Shape], T]) -> T:
        found = self._by_object.get(id(shape))
        if found is not None and found[0] is shape:
            return found[1]
        key = shape_key(shape)
        keyed = self._by_key.get(key)
        if keyed is None:
            value = build(shape)
            with self._lock:
                # Keep the resolver alive with the entry, so that its id is never reused.
                keyed = self._by_key.setdefault(key, (getattr(shape, "_shape_resolver", None), value))
        with self._lock:
            self._by_object[id(shape)] = (shape, keyed[1])
        return keyed[1]

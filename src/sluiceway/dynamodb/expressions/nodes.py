"""The parsed expressions: document paths, operands, conditions, update actions.

Placeholders stay placeholders here (``NameRef``, ``ValueRef``); they are looked
up in the request's ``ExpressionAttributeNames``/``Values`` when the expression is
checked and evaluated (:mod:`.bindings`), so that one parsed expression serves any
request, and a syntax error is reported before an undefined placeholder, as
DynamoDB does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = [
    "And",
    "Between",
    "Call",
    "Comparison",
    "Condition",
    "In",
    "Index",
    "Literal",
    "Name",
    "NameRef",
    "Not",
    "Operand",
    "Or",
    "Path",
    "PathElement",
    "Projection",
    "SetAction",
    "Arithmetic",
    "Update",
    "UpdateAction",
    "ValueRef",
    "top_names",
]


@dataclass(frozen=True)
class Name:
    """An attribute name written as it is (``Status``)."""

    text: str


@dataclass(frozen=True)
class NameRef:
    """An ``ExpressionAttributeNames`` placeholder (``#s``)."""

    text: str


@dataclass(frozen=True)
class Index:
    """A list element (``[2]``)."""

    position: int


PathElement: TypeAlias = Name | NameRef | Index


@dataclass(frozen=True)
class Path:
    """A document path: ``a.b[1].#c``; it starts with a name."""

    elements: tuple[PathElement, ...]


@dataclass(frozen=True)
class ValueRef:
    """An ``ExpressionAttributeValues`` placeholder (``:v``)."""

    text: str


@dataclass(frozen=True, eq=False)
class Literal:
    """A value put in the place of its placeholder once the expression is checked (see :mod:`.bindings`)."""

    value: dict[str, Any]
    placeholder: str


@dataclass(frozen=True)
class Call:
    """A function: ``size(path)`` as an operand, ``attribute_exists(path)`` as a condition,
    ``if_not_exists``/``list_append`` in an update."""

    function: str
    arguments: tuple[Operand, ...]


@dataclass(frozen=True)
class Arithmetic:
    """``operand + operand`` or ``operand - operand`` (UpdateExpression's SET only)."""

    operator: str
    left: Operand
    right: Operand


Operand: TypeAlias = Path | ValueRef | Literal | Call | Arithmetic


@dataclass(frozen=True)
class Comparison:
    operator: str
    """One of ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``."""
    left: Operand
    right: Operand


@dataclass(frozen=True)
class Between:
    subject: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True)
class In:
    subject: Operand
    candidates: tuple[Operand, ...]


@dataclass(frozen=True)
class And:
    left: Condition
    right: Condition


@dataclass(frozen=True)
class Or:
    left: Condition
    right: Condition


@dataclass(frozen=True)
class Not:
    operand: Condition


Condition: TypeAlias = Comparison | Between | In | And | Or | Not | Call


@dataclass(frozen=True)
class SetAction:
    path: Path
    value: Operand


@dataclass(frozen=True)
class UpdateAction:
    """``REMOVE path`` (no value), ``ADD path :v`` or ``DELETE path :v``."""

    verb: str
    path: Path
    value: ValueRef | Literal | None = None


@dataclass(frozen=True)
class Update:
    """An UpdateExpression: its actions in the order written, SET ones as :class:`SetAction`."""

    actions: tuple[SetAction | UpdateAction, ...]
    legacy: bool = False
    """Translated from ``AttributeUpdates``, whose ADD also appends to lists and whose type errors DynamoDB words otherwise."""


@dataclass(frozen=True)
class Projection:
    paths: tuple[Path, ...]


def top_names(condition: Condition) -> list[str]:
    """The attribute names ``condition``'s document paths start with, in the order written (names resolved)."""
    found: list[str] = []
    pending: list[object] = [condition]
    while pending:  # a loop, not recursion: a condition may nest as deep as its parser allows
        node = pending.pop()
        if isinstance(node, Path):
            first = node.elements[0] if node.elements else None
            if isinstance(first, Name):
                found.append(first.text)
        elif isinstance(node, Comparison | Arithmetic):
            pending += [node.right, node.left]
        elif isinstance(node, Between):
            pending += [node.high, node.low, node.subject]
        elif isinstance(node, In):
            pending += [*reversed(node.candidates), node.subject]
        elif isinstance(node, And | Or):
            pending += [node.right, node.left]
        elif isinstance(node, Not):
            pending.append(node.operand)
        elif isinstance(node, Call):
            pending += list(reversed(node.arguments))
    return found

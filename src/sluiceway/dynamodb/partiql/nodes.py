"""The parsed statements: SELECT, INSERT, UPDATE and DELETE, with their paths, values and conditions.

Values stay unbound here: a ``?`` is a :class:`Parameter` (its position among the
statement's ``?``), resolved against the request's ``Parameters`` when the statement is
translated, so one parsed statement serves any parameters.
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
    "Constant",
    "Delete",
    "Exists",
    "In",
    "Insert",
    "ListValue",
    "MapValue",
    "Missing",
    "Not",
    "Null",
    "Operand",
    "Or",
    "Parameter",
    "Path",
    "Remove",
    "Select",
    "SetValue",
    "Assign",
    "Statement",
    "Update",
    "Value",
]


@dataclass(frozen=True)
class Path:
    """A document path: attribute names (``str``) and list positions (``int``)."""

    elements: tuple[str | int, ...]


@dataclass(frozen=True)
class Parameter:
    """A ``?``: the ``position``-th (from 0) of the statement's parameters."""

    position: int


@dataclass(frozen=True, eq=False)
class Constant:
    """A literal, already an AttributeValue (``{"S": "a"}``)."""

    value: dict[str, Any]


@dataclass(frozen=True)
class MapValue:
    """``{'k': value, ...}``."""

    entries: tuple[tuple[str, Value], ...]


@dataclass(frozen=True)
class ListValue:
    """``[value, ...]``."""

    members: tuple[Value, ...]


@dataclass(frozen=True)
class SetValue:
    """``<<value, ...>>``: a string, number or binary set."""

    members: tuple[Value, ...]


Value: TypeAlias = Parameter | Constant | MapValue | ListValue | SetValue


@dataclass(frozen=True)
class Call:
    """A function: ``begins_with(a, 'x')``, ``size(a)``, ``list_append(a, [1])``... (lower-cased name)."""

    function: str
    arguments: tuple[Operand, ...]


@dataclass(frozen=True)
class Arithmetic:
    """``operand + operand`` or ``operand - operand`` (an UPDATE's SET)."""

    operator: str
    left: Operand
    right: Operand


Operand: TypeAlias = Path | Value | Call | Arithmetic


@dataclass(frozen=True)
class Comparison:
    operator: str
    """``=``, ``<>``, ``<``, ``<=``, ``>`` or ``>=``."""
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
class Missing:
    """``path IS MISSING`` (``negated``: ``IS NOT MISSING``)."""

    path: Path
    negated: bool = False


@dataclass(frozen=True)
class Null:
    """``path IS NULL`` (``negated``: ``IS NOT NULL``): PartiQL's IS NULL holds for NULL and for MISSING."""

    path: Path
    negated: bool = False


@dataclass(frozen=True)
class And:
    """Conditions joined by AND, flat: ``a AND b AND c`` is one node of three terms, so that no
    walk over a long WHERE recurses once per term."""

    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    """Conditions joined by OR, flat (see :class:`And`)."""

    terms: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    operand: Condition


Condition: TypeAlias = Comparison | Between | In | Missing | Null | And | Or | Not | Call


@dataclass(frozen=True)
class Select:
    table: str
    index: str | None
    projection: tuple[Path, ...] | None
    """The paths selected; None for ``*``."""
    where: Condition | None
    order_by: tuple[tuple[Path, bool], ...] = ()
    """The ORDER BY keys, each with whether it is descending (none: no ORDER BY)."""


@dataclass(frozen=True)
class Insert:
    table: str
    item: Value
    """The VALUE: a map (checked when bound)."""


@dataclass(frozen=True)
class Assign:
    """``SET path = value``."""

    path: Path
    value: Operand


@dataclass(frozen=True)
class Remove:
    """``REMOVE path``."""

    path: Path


@dataclass(frozen=True)
class Update:
    table: str
    actions: tuple[Assign | Remove, ...]
    where: Condition | None
    returning: str | None = None
    """``ALL_OLD``, ``UPDATED_OLD``, ``ALL_NEW`` or ``UPDATED_NEW`` (the ReturnValues it asks for)."""
    index: str | None = None


@dataclass(frozen=True)
class Delete:
    table: str
    where: Condition | None
    returning: str | None = None
    index: str | None = None


@dataclass(frozen=True)
class Exists:
    """``EXISTS(SELECT ...)``: a transaction's check that the item the SELECT names is there (a ConditionCheck)."""

    select: Select

    @property
    def table(self) -> str:
        return self.select.table


Statement: TypeAlias = Select | Insert | Update | Delete | Exists

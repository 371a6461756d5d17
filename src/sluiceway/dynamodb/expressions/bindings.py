"""A request's ``ExpressionAttributeNames`` and ``ExpressionAttributeValues``, and the checks on them.

Every expression of one request shares the two maps. :class:`Bindings` checks
their keys, puts names and values in the place of the placeholders of each parsed
expression (refusing reserved words written bare, undefined placeholders and
operands of the wrong type, with DynamoDB's messages) and, once every expression
of the request is resolved, refuses a placeholder no expression used.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ..errors import DynamoDbError, framed, validation
from ..reserved import is_reserved
from ..values import TYPES, Value, check_value, compare, type_of
from .nodes import (
    And,
    Arithmetic,
    Between,
    Call,
    Comparison,
    Condition,
    In,
    Index,
    Literal,
    Name,
    NameRef,
    Not,
    Operand,
    Or,
    Path,
    PathElement,
    Projection,
    SetAction,
    Update,
    UpdateAction,
    ValueRef,
)
from .parser import parse_condition, parse_projection, parse_update

# Parsed expressions are immutable, and programs send the same few texts again and again.
_condition = functools.lru_cache(maxsize=1024)(parse_condition)
_update = functools.lru_cache(maxsize=1024)(parse_update)
_projection = functools.lru_cache(maxsize=1024)(parse_projection)

__all__ = ["Bindings", "render_path"]

_SETS = ("SS", "NS", "BS")


class Bindings:
    """The placeholders of one request.

    Raises (from the constructor):
        DynamoDbError: an empty map, a key that is not ``#...``/``:...``, or an invalid value.
    """

    def __init__(self, names: Mapping[str, Any] | None, values: Mapping[str, Any] | None) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Value] = {}
        if names is not None:
            if not names:
                raise framed(validation("ExpressionAttributeNames must not be empty"))
            for key, name in names.items():
                if not _placeholder(key, "#"):
                    raise validation(f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"')
                if not isinstance(name, str) or not name:
                    raise validation(f"ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}")
                self.names[key] = name
        if values is not None:
            if not values:
                raise framed(validation("ExpressionAttributeValues must not be empty"))
            for key, value in values.items():
                if not _placeholder(key, ":"):
                    raise validation(f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"')
                try:
                    self.values[key] = check_value(value)
                except DynamoDbError as exc:
                    wrapped = validation(f"ExpressionAttributeValues contains invalid value: {exc.message} for key {key}")
                    if exc.framed_in:
                        # The framed layer names neither the map nor the key.
                        wrapped = framed(wrapped, exc.framed_in, exc.message)
                    raise wrapped from None
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()

    # -- whole expressions ---------------------------------------------------------------

    def condition(self, source: str, kind: str = "ConditionExpression") -> Condition:
        """Parse and resolve a condition (``kind``: ConditionExpression, FilterExpression, KeyConditionExpression)."""
        return _Resolver(self, kind).condition(_condition(source, kind))

    def update(self, source: str) -> Update:
        """Parse and resolve an UpdateExpression (its paths may not overlap)."""
        resolver = _Resolver(self, "UpdateExpression")
        update = resolver.update(_update(source))
        try:
            _no_overlap([action.path for action in update.actions], "UpdateExpression")
        except DynamoDbError as exc:
            raise framed(exc) from None
        return update

    def projection(self, source: str) -> Projection:
        """Parse and resolve a ProjectionExpression (its paths may not overlap)."""
        resolver = _Resolver(self, "ProjectionExpression")
        projection = Projection(tuple(resolver.path(p) for p in _projection(source).paths))
        _no_overlap(list(projection.paths), "ProjectionExpression")
        return projection

    def check_all_used(self) -> None:
        """Refuse placeholders that no expression of the request used (DynamoDB does)."""
        for label, given, used in (("Names", self.names, self.used_names), ("Values", self.values, self.used_values)):
            unused = [key for key in given if key not in used]
            if unused:
                raise framed(
                    validation(f"Value provided in ExpressionAttribute{label} unused in expressions: keys: {{{', '.join(unused)}}}")
                )


def _placeholder(key: Any, sigil: str) -> bool:
    return isinstance(key, str) and len(key) > 1 and key[0] == sigil and all(c.isalnum() or c == "_" for c in key[1:])


class _Resolver:
    def __init__(self, bindings: Bindings, kind: str) -> None:
        self.bindings = bindings
        self.kind = kind

    def error(self, detail: str) -> DynamoDbError:
        return validation(f"Invalid {self.kind}: {detail}")

    # -- leaves -------------------------------------------------------------------------

    def element(self, element: PathElement) -> PathElement:
        if isinstance(element, Name):
            if is_reserved(element.text):
                raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {element.text}")
            return element
        if isinstance(element, NameRef):
            if element.text not in self.bindings.names:
                raise self.error(f"An expression attribute name used in the document path is not defined; attribute name: {element.text}")
            self.bindings.used_names.add(element.text)
            return Name(self.bindings.names[element.text])
        return element

    def path(self, path: Path) -> Path:
        return Path(tuple(self.element(e) for e in path.elements))

    def value(self, ref: ValueRef | Literal) -> Literal:
        if isinstance(ref, Literal):
            return ref
        if ref.text not in self.bindings.values:
            raise self.error(f"An expression attribute value used in expression is not defined; attribute value: {ref.text}")
        self.bindings.used_values.add(ref.text)
        return Literal(self.bindings.values[ref.text], ref.text)

    def operand(self, operand: Operand) -> Operand:
        if isinstance(operand, Path):
            return self.path(operand)
        if isinstance(operand, ValueRef | Literal):
            return self.value(operand)
        if isinstance(operand, Arithmetic):
            return self.arithmetic(operand)
        return self.call(operand)

    # -- conditions ---------------------------------------------------------------------

    def condition(self, node: Condition) -> Condition:
        if isinstance(node, And):
            return And(self.condition(node.left), self.condition(node.right))
        if isinstance(node, Or):
            return Or(self.condition(node.left), self.condition(node.right))
        if isinstance(node, Not):
            return Not(self.condition(node.operand))
        if isinstance(node, Comparison):
            return Comparison(node.operator, self.comparable(node.left), self.comparable(node.right))
        if isinstance(node, Between):
            between = Between(self.comparable(node.subject), self.comparable(node.low), self.comparable(node.high))
            if isinstance(between.low, Literal) and isinstance(between.high, Literal):
                order = compare(between.low.value, between.high.value)
                if order is not None and order > 0:
                    raise self.error(
                        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound;"
                        f" lower bound operand: AttributeValue: {_shown(between.low.value)},"
                        f" upper bound operand: AttributeValue: {_shown(between.high.value)}"
                    )
            return between
        if isinstance(node, In):
            return In(self.comparable(node.subject), tuple(self.comparable(c) for c in node.candidates))
        return self.call(node)

    def comparable(self, operand: Operand) -> Operand:
        if isinstance(operand, Call) and operand.function != "size":
            raise self.error(f"The function is not allowed to be used this way in an expression; function: {operand.function}")
        return self.operand(operand)

    def call(self, call: Call) -> Call:
        name = call.function
        if self.kind != "UpdateExpression" and name in ("if_not_exists", "list_append"):
            raise self.error(f"The function is not allowed to be used this way in an expression; function: {name}")
        arguments = tuple(self.operand(a) for a in call.arguments)
        first = arguments[0]
        needs_path = name in ("attribute_exists", "attribute_not_exists", "attribute_type", "size", "if_not_exists")
        if needs_path and not isinstance(first, Path):
            raise self.error(f"Operator or function requires a document path; operator or function: {name}")
        for argument in arguments:
            # Functions nest only in an update's SET (list_append(if_not_exists(a, :empty), :new)).
            if isinstance(argument, Call) and self.kind != "UpdateExpression":
                raise self.error(f"The function is not allowed to be used this way in an expression; function: {argument.function}")
        if name == "attribute_type":
            self.literal_of(arguments[1], name, ("S",))
            named = arguments[1]
            if isinstance(named, Literal) and named.value["S"] not in TYPES:
                raise self.error(
                    f"Invalid attribute type name found; type: {named.value['S']}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                )
        elif name == "begins_with":
            self.literal_of(arguments[1], name, ("S", "B"))
            self.literal_of(arguments[0], name, ("S", "B"))
        elif name == "list_append":
            for argument in arguments:
                self.literal_of(argument, name, ("L",))
        return Call(name, arguments)

    def literal_of(self, operand: Operand, function: str, types: tuple[str, ...]) -> None:
        if isinstance(operand, Literal) and type_of(operand.value) not in types:
            raise self.error(
                f"Incorrect operand type for operator or function; operator or function: {function}, operand type: {type_of(operand.value)}"
            )

    # -- updates ------------------------------------------------------------------------

    def arithmetic(self, node: Arithmetic) -> Arithmetic:
        left, right = self.operand(node.left), self.operand(node.right)
        for side in (left, right):
            self.literal_of(side, node.operator, ("N",))
        return Arithmetic(node.operator, left, right)

    def update(self, update: Update) -> Update:
        actions: list[SetAction | UpdateAction] = []
        for action in update.actions:
            if isinstance(action, SetAction):
                actions.append(SetAction(self.path(action.path), self.operand(action.value)))
                continue
            path = self.path(action.path)
            if action.value is None:
                actions.append(UpdateAction(action.verb, path))
                continue
            value = self.value(action.value)
            allowed = ("N", *_SETS) if action.verb == "ADD" else _SETS
            self.literal_of(value, action.verb, allowed)
            actions.append(UpdateAction(action.verb, path, value))
        return Update(tuple(actions))


def render_path(path: Path) -> str:
    """A path as DynamoDB shows it in messages: ``[a, b, [1]]`` without the brackets."""
    parts = []
    for element in path.elements:
        parts.append(f"[{element.position}]" if isinstance(element, Index) else element.text)
    return ", ".join(parts)


def _no_overlap(paths: list[Path], kind: str) -> None:
    for i, one in enumerate(paths):
        for two in paths[i + 1 :]:
            shared = 0
            for a, b in zip(one.elements, two.elements, strict=False):
                if a != b:
                    break
                shared += 1
            if shared == min(len(one.elements), len(two.elements)):
                raise validation(
                    f"Invalid {kind}: Two document paths overlap with each other; must remove or rewrite one of these"
                    f" paths; path one: [{render_path(one)}], path two: [{render_path(two)}]"
                )
            if isinstance(one.elements[shared], Index) != isinstance(two.elements[shared], Index):
                raise validation(
                    f"Invalid {kind}: Two document paths conflict with each other; must remove or rewrite one of these"
                    f" paths; path one: [{render_path(one)}], path two: [{render_path(two)}]"
                )


def _shown(value: Value) -> str:
    kind = type_of(value)
    return f"{{{kind}:{value[kind]}}}"

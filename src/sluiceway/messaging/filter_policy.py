"""SNS subscription filter policies: check them as SNS does, then match messages.

A policy is a JSON object of property names and arrays of conditions. With
``FilterPolicyScope`` ``MessageAttributes`` (the default) the names are message
attribute names and nesting is refused; with ``MessageBody`` they are keys of the
message, which must be a JSON object, and objects nest (``{"a": {"b": [...]}}``
and ``{"a.b": [...]}`` name the same property). A message matches when, for every
property, at least one condition holds; ``$or`` takes an array of policies of
which at least one must match.

Conditions, as SNS documents them:

* exact values: a string, a number (compared as a number, with five decimals),
  ``true``, ``false``, ``null``;
* ``{"prefix": s}``, ``{"suffix": s}``, ``{"equals-ignore-case": s}`` (strings);
* ``{"anything-but": v}`` with a value, a list of values, or ``{"prefix": s}``:
  any present value except those (a value of another kind passes);
* ``{"numeric": [op, n]}`` or a range ``[">"|">=", low, "<"|"<=", high]``;
* ``{"exists": true|false}``: the property is present or absent;
* ``{"cidr": "10.0.0.0/24"}``: an IP address string in the block.

Attribute types matter: ``String`` attributes meet string conditions, ``Number``
attributes numeric ones, and each element of a ``String.Array`` is matched on its
own (any element may satisfy the property). ``Binary`` attributes are not
compared (SNS compares String, String.Array and Number only), so they count as
absent. In a body, an array's elements are matched one by one too.

Checks follow SNS's order and wording: at most five top-level keys, at most 150
combinations of values (nested values count once per level of depth, ``$or``
branches add up), no empty arrays, and each match expression's own rules. Errors
raise :class:`~sluiceway.messaging.sns.InvalidParameterError` with SNS's text,
prefixed as for ``Subscribe`` (``Invalid parameter: Attributes Reason: ``) or for
``SetSubscriptionAttributes`` (``Invalid parameter: ``).

The module is pure.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

from .errors import InvalidParameterError
from .sns import SCOPES, MessageAttribute

__all__ = [
    "MAX_COMBINATIONS",
    "MAX_KEYS",
    "MAX_POLICY_BYTES",
    "FilterPolicy",
    "compile_filter_policy",
]

MAX_KEYS: Final = 5
MAX_COMBINATIONS: Final = 150
MAX_POLICY_BYTES: Final = 256 * 1024
_DECIMALS: Final = Decimal("0.00001")
_OR: Final = "$or"
_NUMERIC_OPERATORS: Final = ("<", "<=", "=", ">", ">=")

_Leaf: TypeAlias = "str | Decimal | bool | None"
"""A comparable value: strings, numbers as Decimals, booleans, null."""
_Condition: TypeAlias = Any
"""One element of a property's array, as checked (numbers become Decimals)."""
_Branch: TypeAlias = "tuple[tuple[str, tuple[_Condition, ...]], ...]"
"""An ``$or``-free policy: (dotted property path, its conditions) pairs."""


@dataclass(frozen=True)
class FilterPolicy:
    """A checked filter policy, ready to match messages."""

    document: Mapping[str, Any]
    scope: str
    branches: tuple[_Branch, ...]

    def matches(
        self, message: str, attributes: Mapping[str, MessageAttribute] | None = None
    ) -> bool:
        """Whether a message with this body and these attributes passes the policy."""
        if not any(self.branches):
            return True  # an empty policy takes every message
        values: Mapping[str, list[_Leaf]]
        if self.scope == "MessageBody":
            try:
                body = json.loads(message)
            except ValueError:
                return False  # SNS drops messages whose body a body policy cannot read
            if not isinstance(body, dict):
                return False
            values = _body_values(body)
        else:
            values = _attribute_values(attributes or {})
        return any(
            all(_property_matches(values.get(path), conditions) for path, conditions in branch)
            for branch in self.branches
        )


def compile_filter_policy(
    policy: str | Mapping[str, Any],
    scope: str = "MessageAttributes",
    *,
    subscribe: bool = True,
) -> FilterPolicy:
    """Check ``policy`` as SNS does and compile it.

    Args:
        policy: the policy's JSON text or the parsed object.
        scope: ``MessageAttributes`` or ``MessageBody``.
        subscribe: word errors as ``Subscribe`` does (``Attributes Reason:``); False
            words them as ``SetSubscriptionAttributes`` does.

    Raises:
        InvalidParameterError: with SNS's message.
    """
    prefix = "Invalid parameter: Attributes Reason: " if subscribe else "Invalid parameter: "
    if scope not in SCOPES:
        raise InvalidParameterError(
            f"{prefix}FilterPolicyScope: Invalid value [{scope}]. Please use either MessageBody or MessageAttributes"
        )
    if isinstance(policy, str):
        if len(policy.encode("utf-8")) > MAX_POLICY_BYTES:
            raise InvalidParameterError(f"{prefix}FilterPolicy: Filter policy is too long")
        try:
            document = json.loads(policy, parse_float=Decimal, parse_int=Decimal)
        except ValueError as exc:
            raise InvalidParameterError(
                f"{prefix}FilterPolicy: failed to parse JSON. {exc}"
            ) from None
    else:
        document = json.loads(json.dumps(policy), parse_float=Decimal, parse_int=Decimal)
    if not isinstance(document, dict):
        raise InvalidParameterError(f"{prefix}FilterPolicy: Filter policy must be a JSON object")
    checker = _Checker(prefix, scope)
    checker.check(document)
    return FilterPolicy(document=document, scope=scope, branches=tuple(_branches(document)))


# ----------------------------------------------------------------------- checks


class _Checker:
    def __init__(self, prefix: str, scope: str) -> None:
        self.prefix = prefix
        self.scope = scope

    def fail(self, reason: str) -> InvalidParameterError:
        return InvalidParameterError(f"{self.prefix}FilterPolicy: {reason}")

    def check(self, document: dict[str, Any]) -> None:
        # SNS counts only the top-level keys, then walks the structure (counting
        # combinations), then checks each match expression: the first failing step wins.
        if len(document) > MAX_KEYS:
            raise self.fail(f"Filter policy can not have more than {MAX_KEYS} keys")
        rules, combinations = self._walk(document, depth=1, combinations=1)
        if combinations > MAX_COMBINATIONS:
            raise self.fail("Filter policy is too complex")
        for conditions in rules:
            for condition in conditions:
                self._condition(condition)

    def _walk(
        self, node: Mapping[str, Any], *, depth: int, combinations: int
    ) -> tuple[list[list[Any]], int]:
        rules: list[list[Any]] = []
        for key, value in node.items():
            if key == _OR and _is_or(value):
                total = 0
                for branch in value:
                    branch_rules, branch_combinations = self._walk(
                        branch, depth=depth, combinations=combinations
                    )
                    rules.extend(branch_rules)
                    total += branch_combinations
                combinations = total
            elif isinstance(value, dict):
                nested_rules, combinations = self._walk(
                    value, depth=depth + 1, combinations=combinations
                )
                rules.extend(nested_rules)
            elif isinstance(value, list):
                if not value:
                    raise self.fail("Empty arrays are not allowed")
                rules.append(value)
                combinations = combinations * len(value) * depth
            else:
                raise self.fail(f'"{key}" must be an object or an array')
        if self.scope == "MessageAttributes" and depth > 1:
            raise InvalidParameterError(
                f"{self.prefix}Filter policy scope MessageAttributes does not support nested filter policy"
            )
        return rules, combinations

    def _condition(self, condition: Any) -> None:
        if condition is None or isinstance(condition, str | bool | Decimal):
            return
        if not isinstance(condition, dict):
            raise self.fail("Match value must be String, number, true, false, or null")
        if len(condition) != 1:
            raise self.fail("Only one key allowed in match expression")
        [(operator, value)] = condition.items()
        if operator in ("prefix", "suffix", "equals-ignore-case"):
            if not isinstance(value, str):
                raise self.fail(f"{operator} match pattern must be a string")
        elif operator == "anything-but":
            self._anything_but(value)
        elif operator == "exists":
            if not isinstance(value, bool):
                raise self.fail("exists match pattern must be either true or false.")
        elif operator == "numeric":
            self._numeric(value)
        elif operator == "cidr":
            self._cidr(value)
        else:
            raise self.fail(f"Unrecognized match type {operator}")

    def _anything_but(self, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                if not (item is None or isinstance(item, str | bool | Decimal)):
                    raise self.fail("Match value must be String, number, true, false, or null")
            return
        if isinstance(value, dict):
            for inner in value:
                if inner != "prefix":
                    raise self.fail(f"Unsupported anything-but pattern: {inner}")
            if not isinstance(value.get("prefix"), str):
                raise self.fail("prefix match pattern must be a string")
            return
        if not (value is None or isinstance(value, str | bool | Decimal)):
            raise self.fail("Match value must be String, number, true, false, or null")

    def _numeric(self, value: Any) -> None:
        if not isinstance(value, list) or not value:
            raise self.fail("Invalid member in numeric match: ]")
        terms = list(value)
        operator = terms.pop(0)
        if not isinstance(operator, str):
            raise self.fail(f"Invalid member in numeric match: {_text(operator)}")
        if operator not in _NUMERIC_OPERATORS:
            raise self.fail(f"Unrecognized numeric range operator: {operator}")
        bottom = terms.pop(0) if terms else None
        if not _is_number(bottom):
            raise self.fail(f"Value of {_operator_name(operator)} must be numeric")
        if not terms:
            return
        if operator not in (">", ">="):
            raise self.fail("Too many elements in numeric expression")
        second = terms.pop(0)
        if not isinstance(second, str):
            raise self.fail(f"Bad value in numeric range: {_text(second)}")
        if second not in ("<", "<="):
            raise self.fail(f"Bad numeric range operator: {second}")
        top = terms.pop(0) if terms else None
        if not _is_number(top):
            raise self.fail(f"Value of {_operator_name(second)} must be numeric")
        if isinstance(top, Decimal) and isinstance(bottom, Decimal) and top <= bottom:
            raise self.fail("Bottom must be less than top")
        if terms:
            raise self.fail("Too many terms in numeric range expression")

    def _cidr(self, value: Any) -> None:
        if not isinstance(value, str):
            raise self.fail("prefix match pattern must be a string")
        parts = value.split("/")
        if len(parts) != 2:
            raise self.fail("Malformed CIDR, one '/' required")
        if not parts[1].isdigit():
            raise self.fail("Malformed CIDR, mask bits must be an integer")
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise self.fail(f"Nonstandard IP address: {parts[0]}") from None


def _is_or(value: Any) -> bool:
    """Whether ``$or`` holds alternatives; otherwise SNS reads ``$or`` as a plain property name."""
    return isinstance(value, list) and len(value) > 1 and all(isinstance(v, dict) for v in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, Decimal)


def _operator_name(operator: str) -> str:
    return "equals" if operator == "=" else operator


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


# --------------------------------------------------------------------- branches


def _branches(document: Mapping[str, Any]) -> Iterator[_Branch]:
    """Expand ``$or`` into plain branches of (dotted path, conditions)."""
    partials: list[list[tuple[str, tuple[_Condition, ...]]]] = [[]]
    _expand(document, "", partials)
    for branch in partials:
        yield tuple(branch)


def _expand(
    node: Mapping[str, Any], parent: str, partials: list[list[tuple[str, tuple[_Condition, ...]]]]
) -> None:
    for key, value in node.items():
        if key == _OR and _is_or(value):
            grown: list[list[tuple[str, tuple[_Condition, ...]]]] = []
            for alternative in value:
                copies = [list(p) for p in partials]
                _expand(alternative, parent, copies)
                grown.extend(copies)
            partials[:] = grown
            continue
        path = f"{parent}.{key}" if parent else key
        if isinstance(value, dict):
            _expand(value, path, partials)
        else:
            for partial in partials:
                partial.append((path, tuple(value)))


# --------------------------------------------------------------------- matching


def _attribute_values(attributes: Mapping[str, MessageAttribute]) -> dict[str, list[_Leaf]]:
    out: dict[str, list[_Leaf]] = {}
    for name, attribute in attributes.items():
        base = attribute.base_type
        if base == "String":
            out[name] = [attribute.value]
        elif base == "Number":
            number = _decimal(attribute.value)
            out[name] = [number] if number is not None else []
        elif base == "String.Array":
            try:
                items = json.loads(attribute.value, parse_float=Decimal, parse_int=Decimal)
            except ValueError:
                items = []
            out[name] = (
                [v for v in items if not isinstance(v, dict | list)]
                if isinstance(items, list)
                else []
            )
    return out


def _body_values(body: Mapping[str, Any]) -> dict[str, list[_Leaf]]:
    """Every leaf of the body by dotted path; arrays contribute each element."""
    out: dict[str, list[_Leaf]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for child in value:
                walk(child, path)
        elif path:
            out.setdefault(path, []).append(_leaf(value))

    walk(body, "")
    return out


def _leaf(value: Any) -> _Leaf:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return _decimal(repr(value))
    return str(value)


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _property_matches(values: Sequence[_Leaf] | None, conditions: Sequence[_Condition]) -> bool:
    present = values is not None and len(values) > 0
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            if condition["exists"] is present:
                return True
            continue
        if present and any(_holds(condition, value) for value in values or ()):
            return True
    return False


def _same_number(a: Decimal, b: Decimal) -> bool:
    return a.quantize(_DECIMALS) == b.quantize(_DECIMALS)


def _holds(condition: _Condition, value: _Leaf) -> bool:
    """Whether one leaf value satisfies one (non-``exists``) condition."""
    if condition is None:
        return value is None
    if isinstance(condition, bool):
        return isinstance(value, bool) and value is condition
    if isinstance(condition, str):
        return isinstance(value, str) and value == condition
    if isinstance(condition, Decimal):
        return isinstance(value, Decimal) and _same_number(value, condition)
    [(operator, operand)] = condition.items()
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == operand.casefold()
    if operator == "numeric":
        return isinstance(value, Decimal) and _in_range(value, operand)
    if operator == "anything-but":
        return _anything_but(value, operand)
    if operator == "cidr":
        return isinstance(value, str) and _in_cidr(value, operand)
    return False


def _anything_but(value: _Leaf, operand: Any) -> bool:
    # Only a value of the kind the expression lists can be excluded; others pass.
    if isinstance(operand, dict):
        return not (isinstance(value, str) and value.startswith(operand["prefix"]))
    excluded = operand if isinstance(operand, list) else [operand]
    for item in excluded:
        if isinstance(item, str) and isinstance(value, str) and value == item:
            return False
        if isinstance(item, Decimal) and isinstance(value, Decimal) and _same_number(value, item):
            return False
        if isinstance(item, bool) and isinstance(value, bool) and value is item:
            return False
        if item is None and value is None:
            return False
    return True


def _in_range(value: Decimal, terms: Sequence[Any]) -> bool:
    for operator, bound in zip(terms[0::2], terms[1::2], strict=True):
        a, b = value.quantize(_DECIMALS), bound.quantize(_DECIMALS)
        if not {"<": a < b, "<=": a <= b, "=": a == b, ">": a > b, ">=": a >= b}[operator]:
            return False
    return True


def _in_cidr(value: str, block: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(block, strict=False)
    except ValueError:
        return False

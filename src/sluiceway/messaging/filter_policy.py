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
raise :class:`~sluiceway.messaging.errors.InvalidParameterError` with SNS's text,
prefixed as for ``Subscribe`` (``Invalid parameter: Attributes Reason: ``) or for
``SetSubscriptionAttributes`` (``Invalid parameter: ``).

A checked policy compiles to one test per property, built from the predicates
SNS shares with EventBridge's patterns (:mod:`sluiceway.matching`); where SNS
answers differently (numbers at five decimals, case folding, anything-but's
forms, reading IP addresses), the difference is spelled out where the test is
built. SNS has no ``wildcard`` operator: it is an unrecognized match type.

The module is pure.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

from .. import matching
from ..matching import StringTest, Test, leaves_match
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
_Properties: TypeAlias = "tuple[tuple[str, Test | None, bool, bool], ...]"
"""A branch compiled: (path, test of one value, exists true, exists false) per property."""


@dataclass(frozen=True)
class FilterPolicy:
    """A checked filter policy, ready to match messages."""

    document: Mapping[str, Any]
    scope: str
    branches: tuple[_Branch, ...]
    _properties: tuple[_Properties, ...] = field(repr=False, compare=False)
    """Each branch's properties as tests, in the order of ``branches``."""

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
            all(leaves_match(values.get(path), test, yes, no) for path, test, yes, no in branch)
            for branch in self._properties
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
    branches = tuple(_branches(document))
    return FilterPolicy(document, scope, branches, tuple(_compile(branch) for branch in branches))


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


# --------------------------------------------------------------- message values


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


def _quantized(number: Decimal) -> Decimal:
    """``number`` at SNS's five decimals; one too large for that (23 digits or more) as it is."""
    try:
        return number.quantize(_DECIMALS)
    except InvalidOperation:
        return number


# ------------------------------------------------------------------ compiling


def _compile(branch: _Branch) -> _Properties:
    return tuple((path, *_property_test(conditions)) for path, conditions in branch)


def _property_test(conditions: Sequence[_Condition]) -> tuple[Test | None, bool, bool]:
    """A property's conditions as (test of one value, exists true, exists false), for leaves_match."""
    exists_true = exists_false = False
    tests: list[Test] = []
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            if condition["exists"]:
                exists_true = True
            else:
                exists_false = True
        else:
            tests.append(_condition_test(condition))
    if not tests:
        return None, exists_true, exists_false
    if len(tests) == 1:
        return tests[0], exists_true, exists_false
    alternatives = tuple(tests)
    return (lambda v: any(test(v) for test in alternatives)), exists_true, exists_false


def _strings_only(test: StringTest) -> Test:
    return lambda v: isinstance(v, str) and test(v)


def _never(value: _Leaf) -> bool:
    return False


def _condition_test(condition: _Condition) -> Test:
    """One checked condition (not ``exists``) as a test of one leaf value."""
    if condition is None:
        return lambda v: v is None
    if isinstance(condition, bool):
        return lambda v: v is condition
    if isinstance(condition, str):
        return lambda v: isinstance(v, str) and v == condition
    if isinstance(condition, Decimal):
        # SNS compares numbers at five decimals; EventBridge compares doubles.
        number = _quantized(condition)
        return lambda v: isinstance(v, Decimal) and _quantized(v) == number
    [(operator, operand)] = condition.items()
    if operator == "prefix":
        return _strings_only(matching.prefix(operand))
    if operator == "suffix":
        return _strings_only(matching.suffix(operand))
    if operator == "equals-ignore-case":
        # SNS casefolds ("ß" equals "ss"); EventBridge lower-cases, as event-ruler does.
        return _strings_only(matching.equals_ignore_case(operand, str.casefold))
    if operator == "numeric":
        return _numeric_test(operand)
    if operator == "anything-but":
        return _anything_but_test(operand)
    if operator == "cidr":
        return _strings_only(_cidr_test(operand))
    return _never


def _numeric_test(terms: Sequence[Any]) -> Test:
    """``[op, n]`` or ``[">"|">=", low, "<"|"<=", high]``, as checked, on numbers at five decimals.

    EventBridge gates which numbers compare at all (-5e9..5e9, six decimals);
    SNS documents -1e9..1e9 with five, but only the five decimals are applied here.
    """
    low: Decimal | None = None
    high: Decimal | None = None
    low_open = high_open = False
    for operator, bound in zip(terms[0::2], terms[1::2], strict=True):
        value = _quantized(bound)
        if operator == "=":
            low = high = value
        elif operator in (">", ">="):
            low, low_open = value, operator == ">"
        else:
            high, high_open = value, operator == "<"
    inside = matching.numeric_range(low, low_open, high, high_open)
    return lambda v: isinstance(v, Decimal) and inside(_quantized(v))


def _anything_but_test(operand: Any) -> Test:
    """Any present value but those listed; a value of another kind passes.

    SNS lists may mix strings, numbers, booleans and null, and its only other
    form is ``{"prefix": s}``; EventBridge lists hold only strings or only
    numbers, and it has suffix, equals-ignore-case and wildcard forms too.
    """
    if isinstance(operand, dict):
        return matching.anything_but_prefix((operand["prefix"],))
    excluded = operand if isinstance(operand, list) else [operand]
    strings = frozenset(item for item in excluded if isinstance(item, str))
    numbers = frozenset(_quantized(item) for item in excluded if isinstance(item, Decimal))
    booleans = frozenset(item for item in excluded if isinstance(item, bool))
    null = any(item is None for item in excluded)

    def not_excluded(v: _Leaf) -> bool:
        if isinstance(v, str):
            return v not in strings
        if isinstance(v, bool):
            return v not in booleans
        if isinstance(v, Decimal):
            return _quantized(v) not in numbers
        return not (v is None and null)

    return not_excluded


def _cidr_test(block: str) -> StringTest:
    # SNS reads addresses as Python's ipaddress does and takes /32 blocks;
    # EventBridge reads them as Java does (IPv4-mapped IPv6 is IPv4) and refuses /32.
    network = ipaddress.ip_network(block, strict=False)
    bits = network.max_prefixlen
    low, high = matching.address_block(bits, int(network.network_address), network.prefixlen)
    return matching.in_address_block(bits, low, high, _address)


def _address(text: str) -> tuple[int, int] | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.max_prefixlen, int(address)

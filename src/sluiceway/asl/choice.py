"""JSONPath-mode Choice rules: parsed once into frozen objects, then evaluated against a scope.

Comparisons are typed as in Step Functions: a comparison whose variable has another type is
simply false (``NumericEquals`` on ``"1"``, ``BooleanEquals`` on ``0``, ``StringEquals`` on
``true``), never an error. ``true`` is not a number here, although Python says ``True == 1``.
A variable path that finds nothing is an error (``States.Runtime``) except for ``IsPresent``.
Strings compare by UTF-16 code units, like Java. Timestamps are RFC 3339 with an uppercase
``T`` and either ``Z`` or a numeric offset; fractional seconds are allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, Final

from sluiceway.errors import DefinitionError, StatesError
from sluiceway.jsonpath import Scope, is_definite, lookup, validate_path
from sluiceway.types import JSON

from .templates import validate_template

__all__ = [
    "OPERATORS",
    "And",
    "ChoiceRule",
    "Comparison",
    "Condition",
    "Not",
    "Or",
    "evaluate",
    "first_match",
    "parse_condition",
    "parse_rule",
    "parse_timestamp",
]

_KINDS: Final = ("String", "Numeric", "Boolean", "Timestamp")
_RELATIONS: Final = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
_TYPE_TESTS: Final = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")

OPERATORS: Final[frozenset[str]] = frozenset(
    [
        f"{kind}{rel}{suffix}"
        for kind in _KINDS
        for rel in _RELATIONS
        for suffix in ("", "Path")
        if not (kind == "Boolean" and rel != "Equals")
    ]
    + ["StringMatches", *_TYPE_TESTS]
)
"""Every data-test comparison operator of JSONPath-mode Choice rules."""


@dataclass(frozen=True)
class Comparison:
    """A data-test rule: ``{"Variable": ..., "<Operator>": <operand>}``."""

    variable: str
    """Path of the value to test (``$.x``, ``$$.x`` or ``$var.x``)."""
    operator: str
    """One of :data:`OPERATORS`, e.g. ``NumericGreaterThanEqualsPath``."""
    operand: JSON
    """The literal to compare with, or a path for the ``...Path`` operators."""


@dataclass(frozen=True)
class And:
    """True when every rule is true (checked in order, stopping at the first false)."""

    rules: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    """True when any rule is true (checked in order, stopping at the first true)."""

    rules: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """True when the rule is false."""

    rule: Condition


Condition = Comparison | And | Or | Not


@dataclass(frozen=True)
class ChoiceRule:
    """A top-level rule of a Choice state's ``Choices``."""

    condition: Condition
    next: str
    """The state to go to when the condition holds."""
    assign: Mapping[str, JSON] | None = field(default=None, hash=False)
    """The rule's ``Assign`` payload template (JSONPath mode), evaluated by the interpreter."""
    comment: str | None = None


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def parse_rule(doc: Mapping[str, Any], *, location: str) -> ChoiceRule:
    """Parse one top-level Choice rule.

    Args:
        doc: the rule object from ``Choices``.
        location: its JSON location, e.g. ``/States/Check/Choices/0``.

    Returns:
        The frozen rule.

    Raises:
        DefinitionError: with every problem as ``"<location>: <message>"`` (nested problems carry
            their own location, e.g. ``/States/Check/Choices/0/And/1``).
    """
    issues: list[str] = []
    if not isinstance(doc, Mapping):
        raise DefinitionError([f"{location}: A choice rule must be a JSON object"])
    next_state = doc.get("Next")
    if not isinstance(next_state, str) or not next_state:
        issues.append(f"{location}: The field 'Next' is required and must be a state name")
    comment = doc.get("Comment")
    if comment is not None and not isinstance(comment, str):
        issues.append(f"{location}/Comment: The field 'Comment' must be a string")
    assign = doc.get("Assign")
    if assign is not None:
        if isinstance(assign, Mapping):
            issues.extend(validate_template(assign, f"{location}/Assign"))
        else:
            issues.append(f"{location}/Assign: The field 'Assign' must be a JSON object")
    body = {k: v for k, v in doc.items() if k not in ("Next", "Comment", "Assign")}
    condition = _parse(body, location, issues)
    if issues or condition is None:
        raise DefinitionError(issues)
    return ChoiceRule(condition=condition, next=str(next_state), assign=assign, comment=comment)


def parse_condition(doc: Mapping[str, Any], *, location: str) -> Condition:
    """Parse a nested rule (inside ``And``/``Or``/``Not``), which must not have ``Next``.

    Raises:
        DefinitionError: as for :func:`parse_rule`.
    """
    issues: list[str] = []
    condition = _parse(doc, location, issues)
    if issues or condition is None:
        raise DefinitionError(issues)
    return condition


def _parse(doc: Any, location: str, issues: list[str]) -> Condition | None:
    if not isinstance(doc, Mapping):
        issues.append(f"{location}: A choice rule must be a JSON object")
        return None
    doc = {k: v for k, v in doc.items() if k != "Comment"}
    if "Next" in doc:
        issues.append(f"{location}/Next: Nested choice rules cannot have the field 'Next'")
        doc.pop("Next")
    boolean_keys = [k for k in ("And", "Or", "Not") if k in doc]
    operators = [k for k in doc if k in OPERATORS]
    unknown = [k for k in doc if k not in OPERATORS and k not in ("And", "Or", "Not", "Variable")]
    for key in unknown:
        issues.append(f"{location}/{key}: The field '{key}' is not supported in a choice rule")
    if boolean_keys:
        if len(boolean_keys) > 1 or operators or "Variable" in doc:
            issues.append(
                f"{location}: A choice rule must have exactly one of a comparison operator, "
                "'And', 'Or' or 'Not'"
            )
            return None
        key = boolean_keys[0]
        if key == "Not":
            inner = _parse(doc["Not"], f"{location}/Not", issues)
            return Not(inner) if inner is not None else None
        members = doc[key]
        if not isinstance(members, list) or not members:
            issues.append(f"{location}/{key}: The field '{key}' must be a non-empty array of rules")
            return None
        parsed = [_parse(m, f"{location}/{key}/{i}", issues) for i, m in enumerate(members)]
        rules = tuple(p for p in parsed if p is not None)
        if len(rules) != len(parsed):
            return None
        return And(rules) if key == "And" else Or(rules)
    if len(operators) != 1:
        issues.append(
            f"{location}: A choice rule must have exactly one comparison operator, 'And', 'Or' or "
            f"'Not' (found {len(operators)} comparison operators)"
        )
        return None
    operator = operators[0]
    variable = doc.get("Variable")
    if variable is None:
        issues.append(f"{location}: The field 'Variable' is required with '{operator}'")
        return None
    problems = validate_path(variable)
    if problems:
        issues.extend(f"{location}/Variable: {p}" for p in problems)
        return None
    operand = doc[operator]
    problem = _operand_problem(operator, operand)
    if problem:
        issues.append(f"{location}/{operator}: {problem}")
        return None
    return Comparison(variable=variable, operator=operator, operand=operand)


def _operand_problem(operator: str, operand: JSON) -> str | None:
    if operator.endswith("Path"):
        problems = validate_path(operand)
        return problems[0] if problems else None
    if operator.startswith("Is"):
        ok = isinstance(operand, bool)
        expected = "a boolean"
    elif operator.startswith("Boolean"):
        ok, expected = isinstance(operand, bool), "a boolean"
    elif operator.startswith("Numeric"):
        ok, expected = _is_number(operand), "a number"
    elif operator.startswith("Timestamp"):
        ok = isinstance(operand, str) and parse_timestamp(operand) is not None
        expected = "an RFC 3339 timestamp such as 2016-03-14T01:59:00Z"
    else:
        ok, expected = isinstance(operand, str), "a string"
    return None if ok else f"The value of '{operator}' must be {expected}"


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def evaluate(rule: ChoiceRule | Condition, scope: Scope) -> bool:
    """Whether a rule holds for the scope.

    Args:
        rule: a top-level rule or a nested condition.
        scope: what the rule's paths can see (the Choice state's effective input, context,
            variables).

    Returns:
        The truth of the rule.

    Raises:
        StatesError: ``States.Runtime`` when a variable (or a ``...Path`` operand) finds nothing,
            except for ``IsPresent``, which is then false.
    """
    if isinstance(rule, ChoiceRule):
        rule = rule.condition
    if isinstance(rule, And):
        return all(evaluate(r, scope) for r in rule.rules)
    if isinstance(rule, Or):
        return any(evaluate(r, scope) for r in rule.rules)
    if isinstance(rule, Not):
        return not evaluate(rule.rule, scope)
    return _compare(rule, scope)


def first_match(rules: Iterable[ChoiceRule], scope: Scope) -> ChoiceRule | None:
    """The first rule that holds, or ``None`` (the state then takes its Default or fails)."""
    for rule in rules:
        if evaluate(rule, scope):
            return rule
    return None


def _invalid(path: str) -> StatesError:
    return StatesError(
        "States.Runtime",
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


def _compare(rule: Comparison, scope: Scope) -> bool:
    found, value = lookup(rule.variable, scope)
    op = rule.operator
    if op == "IsPresent":
        # An indefinite path that matches nothing is "not present" too.
        present = found and not (value == [] and not is_definite(rule.variable))
        return present is rule.operand
    if not found:
        raise _invalid(rule.variable)
    if op.startswith("Is"):
        return _type_test(op, value) is rule.operand
    operand = rule.operand
    if op.endswith("Path"):
        found, operand = lookup(rule.operand, scope)
        if not found:
            raise _invalid(rule.operand)
        op = op[: -len("Path")]
    if op == "StringMatches":
        return isinstance(value, str) and isinstance(operand, str) and _wildcard_matches(operand, value)
    kind = next(k for k in _KINDS if op.startswith(k))
    relation = op[len(kind) :]
    left: Any
    right: Any
    if kind == "String":
        if not (isinstance(value, str) and isinstance(operand, str)):
            return False
        left, right = _utf16(value), _utf16(operand)
    elif kind == "Numeric":
        if not (_is_number(value) and _is_number(operand)):
            return False
        left, right = value, operand
    elif kind == "Boolean":
        return isinstance(value, bool) and isinstance(operand, bool) and value is operand
    else:
        left = parse_timestamp(value) if isinstance(value, str) else None
        right = parse_timestamp(operand) if isinstance(operand, str) else None
        if left is None or right is None:
            return False
    return _relate(relation, left, right)


def _relate(relation: str, left: Any, right: Any) -> bool:
    if relation == "Equals":
        return bool(left == right)
    if relation == "LessThan":
        return bool(left < right)
    if relation == "GreaterThan":
        return bool(left > right)
    if relation == "LessThanEquals":
        return bool(left <= right)
    return bool(left >= right)


def _type_test(op: str, value: JSON) -> bool:
    if op == "IsNull":
        return value is None
    if op == "IsNumeric":
        return _is_number(value)
    if op == "IsString":
        return isinstance(value, str)
    if op == "IsBoolean":
        return isinstance(value, bool)
    return isinstance(value, str) and parse_timestamp(value) is not None  # IsTimestamp


def _is_number(value: JSON) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _utf16(s: str) -> bytes:
    # Java compares strings by UTF-16 code units; big-endian bytes sort the same way.
    return s.encode("utf-16-be", "surrogatepass")


_WILDCARD_CACHE: dict[str, tuple[str, ...]] = {}


def _wildcard_matches(pattern: str, value: str) -> bool:
    """``*`` matches any run of characters; a backslash makes the next character literal.

    Matched without regular expressions: as ``.*`` a pattern of many stars backtracks
    polynomially (``*a*a*a*a*a*b`` against a long run of ``a`` would take hours). Placing each
    literal piece at its first fit, left to right, is enough for ``*`` and is linear.
    """
    pieces = _wildcard_pieces(pattern)
    if len(pieces) == 1:
        return value == pieces[0]
    first, *middle, last = pieces
    if len(value) < len(first) + len(last) or not (value.startswith(first) and value.endswith(last)):
        return False
    position, end = len(first), len(value) - len(last)
    for piece in middle:
        found = value.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _wildcard_pieces(pattern: str) -> tuple[str, ...]:
    """The literal text between the unescaped stars of ``pattern`` (one piece when there is none)."""
    pieces = _WILDCARD_CACHE.get(pattern)
    if pieces is None:
        found: list[str] = []
        current: list[str] = []
        i = 0
        while i < len(pattern):
            c = pattern[i]
            if c == "\\" and i + 1 < len(pattern):
                current.append(pattern[i + 1])
                i += 2
                continue
            if c == "*":
                found.append("".join(current))
                current = []
            else:
                current.append(c)
            i += 1
        found.append("".join(current))
        pieces = tuple(found)
        if len(_WILDCARD_CACHE) < 1024:
            _WILDCARD_CACHE[pattern] = pieces
    return pieces


_TIMESTAMP: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def parse_timestamp(text: str) -> Fraction | None:
    """Seconds since the epoch of an ASL timestamp, or ``None`` if ``text`` is not one.

    Exact (a ``Fraction``) so that sub-microsecond digits still order correctly.
    """
    m = _TIMESTAMP.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    zone = m.group(8)
    try:
        offset = timedelta(0) if zone == "Z" else _offset(zone)
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:
        return None
    whole = int((moment - _EPOCH).total_seconds())
    digits = m.group(7) or ""
    return whole + (Fraction(int(digits), 10 ** len(digits)) if digits else Fraction(0))


def _offset(zone: str) -> timedelta:
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(zone)
    delta = timedelta(hours=hours, minutes=minutes)
    return -delta if zone[0] == "-" else delta

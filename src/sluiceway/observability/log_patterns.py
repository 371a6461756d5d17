"""CloudWatch Logs filter patterns: whether a log event's message matches, and what it yields.

Pure. FilterLogEvents uses a pattern as a predicate; metric filters also read the values a
match yields (a MetricValue or a dimension of ``$.field`` or ``$name``). Served forms
(CloudWatch's "Filter pattern syntax"):

* ``""``: every event.
* Terms: ``ERROR Exception`` (all must appear), ``"Exception in thread"`` (a quoted term
  with spaces or symbols), ``?ERROR ?WARN`` (any of the ``?`` terms), ``-Exiting``
  (none of the ``-`` terms). Terms are case sensitive and match anywhere in the message.
* ``%regex%``: a regular expression in CloudWatch's subset (:mod:`._log_regex`: no groups, a
  few symbols, matched in time linear in the message), alone or as the operand of a JSON or
  space-delimited condition; at most :data:`MAX_REGEXES` in a pattern.
* JSON: ``{ $.level = "ERROR" }``, ``{ $.latency > 100 && $.user.id != "x*" }`` with
  ``= != < <= > >=``, ``&&``, ``||``, parentheses, ``*`` wildcards in strings,
  ``IS NULL``, ``IS TRUE``, ``IS FALSE``, ``NOT EXISTS``, and ``$.list[0]`` indexes. An
  event that is not a JSON object (strict JSON: no ``NaN``/``Infinity``) never matches.
* Space-delimited: ``[ip, user, username, timestamp, request, status_code, bytes]``, one
  name a field, ``...`` for any number of fields, and conditions on fields
  (``status_code = 4*``, ``bytes > 1000``, ``status_code = 404 || status_code = 410``,
  ``request = %GET%``). A message's fields are split on spaces; text in ``[]`` or ``""`` is
  one field (the brackets and quotes are not part of its value). Without ``...`` the message
  has exactly as many fields as the pattern. Matching costs O(fields × the pattern's fields)
  whatever the number of ``...``.

Numbers in patterns are JSON's (``-1.5e3``), not Python's (``inf``, ``1_000`` are text).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ._log_regex import LogRegex, RegexSyntaxError, compile_regex

__all__ = [
    "MAX_REGEXES",
    "FilterPatternError",
    "LogPattern",
    "Matched",
    "compile_filter",
    "compile_pattern",
    "is_selector",
    "selector_steps",
]

MAX_REGEXES: Final = 2
"""CloudWatch Logs' quota of ``%regex%`` in one filter pattern."""

Predicate = Callable[[str], bool]


class FilterPatternError(ValueError):
    """The pattern is not valid (AWS: InvalidParameterException, "Invalid filter pattern")."""


@dataclass(frozen=True)
class Matched:
    """What a matching message yields: the fields a space-delimited pattern named, or the JSON document."""

    fields: Mapping[str, str] = field(default_factory=dict)
    """``$name`` -> the field's text, for a space-delimited pattern (TestMetricFilter's ``extractedValues``)."""
    document: Any = None
    """The message's JSON object, for a JSON pattern."""

    def value(self, reference: str) -> str | float | bool | None:
        """The value ``$.a.b[0]`` (JSON) or ``$name`` (space-delimited) refers to; None when it is not there.

        A JSON value that is an object or a list is not a value (None).
        """
        if reference.startswith("$."):
            if self.document is None:
                return None
            found = _select(self.document, selector_steps(reference))
            if found is _MISSING or isinstance(found, dict | list):
                return None
            return found  # type: ignore[no-any-return]
        return self.fields.get(reference)


@dataclass(frozen=True)
class LogPattern:
    """A compiled filter pattern."""

    text: str
    kind: str
    """``all``, ``terms``, ``regex``, ``json`` or ``delimited``."""
    names: tuple[str, ...]
    """The field names of a space-delimited pattern (without ``$``); empty for the other kinds."""
    _match: Callable[[str], Matched | None]
    regexes: int = 0
    """How many ``%regex%`` the pattern holds (AWS counts them against a log group's quota)."""

    def match(self, message: str) -> Matched | None:
        """What ``message`` yields if it matches; None if it does not."""
        return self._match(message)

    def matches(self, message: str) -> bool:
        return self._match(message) is not None


_NOTHING = Matched()


def compile_pattern(pattern: str | None) -> LogPattern:
    """Compile ``pattern``.

    Raises:
        FilterPatternError: the pattern cannot be parsed.
    """
    raw = pattern or ""
    text = raw.strip()
    regexes: list[LogRegex] = []
    compiled = _compile(raw, text, regexes)
    if len(regexes) > MAX_REGEXES:
        raise FilterPatternError(f"Invalid filter pattern: at most {MAX_REGEXES} regular expressions in a pattern")
    return compiled


def _compile(raw: str, text: str, regexes: list[LogRegex]) -> LogPattern:
    """The pattern; the regexes it holds are appended to ``regexes``."""
    if not text:
        return LogPattern(raw, "all", (), lambda message: _NOTHING)
    if text.startswith("{"):
        if not text.endswith("}"):
            raise FilterPatternError("Invalid filter pattern: a JSON pattern ends with '}'")
        test = _JsonParser(text[1:-1], regexes).parse()
        return LogPattern(raw, "json", (), lambda message: _json_match(message, test), len(regexes))
    if text.startswith("["):
        if not text.endswith("]"):
            raise FilterPatternError("Invalid filter pattern: a space-delimited pattern ends with ']'")
        slots = _delimited(text[1:-1], regexes)
        names = tuple(slot.name for slot in slots if slot.name is not None)
        return LogPattern(raw, "delimited", names, lambda message: _delimited_match(message, slots), len(regexes))
    if len(text) >= 2 and text.startswith("%") and text.endswith("%"):
        regex = _regex(text[1:-1], regexes)
        return LogPattern(raw, "regex", (), lambda message: _NOTHING if regex.search(message) else None, 1)
    predicate = _terms(text)
    return LogPattern(raw, "terms", (), lambda message: _NOTHING if predicate(message) else None)


def compile_filter(pattern: str | None) -> Predicate:
    """A predicate over messages for ``pattern`` (FilterLogEvents').

    Raises:
        FilterPatternError: the pattern cannot be parsed.
    """
    return compile_pattern(pattern).matches


def _regex(text: str, regexes: list[LogRegex]) -> LogRegex:
    try:
        regex = compile_regex(text)
    except RegexSyntaxError as exc:
        raise FilterPatternError(f"Invalid filter pattern: {exc}") from None
    regexes.append(regex)
    return regex


# -- terms ---------------------------------------------------------------------------------

_TERM = re.compile(r'\s*([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def _terms(text: str) -> Predicate:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    position = 0
    while position < len(text):
        match = _TERM.match(text, position)
        if match is None:
            if text[position:].strip():
                raise FilterPatternError(f"Invalid filter pattern: {text!r}")
            break
        prefix, quoted, bare = match.groups()
        term = quoted.replace('\\"', '"') if quoted is not None else bare
        if quoted is None and '"' in term:
            raise FilterPatternError(f"Invalid filter pattern: unbalanced quote in {text!r}")
        {"": required, "?": optional, "-": excluded}[prefix].append(term)
        position = match.end()

    def matches(message: str) -> bool:
        if any(term in message for term in excluded):
            return False
        if not all(term in message for term in required):
            return False
        return not optional or any(term in message for term in optional)

    return matches


# -- space-delimited patterns --------------------------------------------------------------

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONDITION = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|<=|>=|=|<|>)\s*("(?:[^"\\]|\\.)*"|%[^%]*%|[^\s"|&]+)\s*$')
_EVENT_FIELD = re.compile(r'\[([^\]]*)\]|"([^"]*)"|(\S+)')

# A test of one field's text.
FieldTest = Callable[[str], bool]


@dataclass(frozen=True)
class _Slot:
    name: str | None
    """None for ``...``."""
    test: FieldTest | None = None


def _split_outside(text: str, separator: str) -> list[str]:
    """``text`` split on ``separator`` where it is outside quotes and ``%regex%``."""
    parts: list[str] = []
    start = 0
    quote: str | None = None
    at = 0
    while at < len(text):
        char = text[at]
        if quote is not None:
            if char == "\\" and quote == '"':
                at += 2  # an escaped quote does not end the string
                continue
            if char == quote:
                quote = None
        elif char in '"%':
            quote = char
        elif text.startswith(separator, at):
            parts.append(text[start:at])
            at += len(separator)
            start = at
            continue
        at += 1
    if quote is not None:
        raise FilterPatternError("Invalid filter pattern: unbalanced quote")
    parts.append(text[start:])
    return parts


def _delimited(text: str, regexes: list[LogRegex]) -> list[_Slot]:
    slots: list[_Slot] = []
    seen: set[str] = set()
    if not text.strip():
        # "[]": CloudWatch Logs takes it (recorded for subscription filters). With no field
        # nothing constrains the event: read as "[...]", any number of fields (not confirmed).
        return [_Slot(None)]
    for part in _split_outside(text, ","):
        item = part.strip()
        if item == "...":
            if not slots or slots[-1].name is not None:  # "..., ..." is one "...": any number of fields
                slots.append(_Slot(None))
            continue
        if not item:
            raise FilterPatternError("Invalid filter pattern: an empty field in a space-delimited pattern")
        if _FIELD_NAME.match(item):
            name, test = item, None
        else:
            name, test = _field_condition(item, regexes)
        if name in seen:
            raise FilterPatternError(f"Invalid filter pattern: the field {name} is named twice")
        seen.add(name)
        slots.append(_Slot(name, test))
    return slots


def _field_condition(item: str, regexes: list[LogRegex]) -> tuple[str, FieldTest]:
    """``status = 404 || status = 410``: the field's name and its test (``&&`` binds tighter than ``||``)."""
    name: str | None = None
    alternatives: list[list[FieldTest]] = []
    for alternative in _split_outside(item, "||"):
        tests: list[FieldTest] = []
        for condition in _split_outside(alternative, "&&"):
            match = _CONDITION.match(condition)
            if match is None:
                raise FilterPatternError(f"Invalid filter pattern near {condition.strip()!r}")
            field_name, op, operand = match.groups()
            if name is not None and field_name != name:
                raise FilterPatternError(f"Invalid filter pattern: a condition on {name} names {field_name}")
            name = field_name
            tests.append(_field_test(op, operand, regexes))
        alternatives.append(tests)
    assert name is not None
    return name, lambda value: any(all(test(value) for test in tests) for tests in alternatives)


def _field_test(op: str, operand: str, regexes: list[LogRegex]) -> FieldTest:
    if len(operand) >= 2 and operand.startswith("%") and operand.endswith("%"):
        if op not in ("=", "!="):
            raise FilterPatternError(f"Invalid filter pattern: {op} compares numbers only")
        regex = _regex(operand[1:-1], regexes)
        return regex.search if op == "=" else (lambda value: not regex.search(value))
    quoted = operand.startswith('"')
    text = operand[1:-1].replace('\\"', '"') if quoted else operand
    number = None if quoted or "*" in text else _number(text)
    if number is None:
        if op not in ("=", "!="):
            raise FilterPatternError(f"Invalid filter pattern: {op} compares numbers only")
        wildcard = _wildcard(text)
        return (lambda value: wildcard.match(value) is not None) if op == "=" else (lambda value: wildcard.match(value) is None)
    compare = _COMPARE[op]

    def test(value: str) -> bool:
        found = _number(value)
        if found is None:
            # A number compared with text: only "is not" holds.
            return op == "!="
        return compare(found, number)

    return test


_NUMBER: Final = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
"""A number as JSON writes one (Python's ``float`` would also take ``inf``, ``nan``, ``1_000``)."""


def _number(text: str) -> float | None:
    if not _NUMBER.match(text.strip()):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _event_fields(message: str) -> list[str]:
    return [next(group for group in match.groups() if group is not None) for match in _EVENT_FIELD.finditer(message)]


def _delimited_match(message: str, slots: list[_Slot]) -> Matched | None:
    bound = _Binder(slots, _event_fields(message)).bind()
    if bound is None:
        return None
    return Matched(fields={f"${name}": value for name, value in bound.items()})


class _Binder:
    """Binds a space-delimited pattern's slots to a message's fields (``...`` takes as few as it can).

    A slot that failed from a field fails from it whatever came before, so each ``(slot, field)``
    is tried once: O(slots × fields) field tests, where plain backtracking over several ``...``
    is exponential.
    """

    def __init__(self, slots: list[_Slot], values: list[str]) -> None:
        self.slots = slots
        self.values = values
        self.failed: set[tuple[int, int]] = set()
        self.tries = 0
        """How many ``(slot, field)`` pairs were tried (the work a match took)."""

    def bind(self) -> dict[str, str] | None:
        bound: dict[str, str] = {}
        if not self._from(0, 0, bound):
            return None
        # Bound from the last slot back: in the pattern's order again.
        return {slot.name: bound[slot.name] for slot in self.slots if slot.name is not None}

    def _from(self, slot: int, at: int, bound: dict[str, str]) -> bool:
        """Whether ``slots[slot:]`` match ``values[at:]``; their fields are added to ``bound`` if so."""
        if slot == len(self.slots):
            return at == len(self.values)
        if (slot, at) in self.failed:
            return False
        self.tries += 1
        current = self.slots[slot]
        if current.name is None:
            found = any(self._from(slot + 1, start, bound) for start in range(at, len(self.values) + 1))
        elif at == len(self.values) or (current.test is not None and not current.test(self.values[at])):
            found = False
        else:
            found = self._from(slot + 1, at + 1, bound)
            if found:
                bound[current.name] = self.values[at]
        if not found:
            self.failed.add((slot, at))
        return found


# -- JSON patterns -----------------------------------------------------------------------

_MISSING = object()
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\))
      | (?P<selector>\$(?:\.[A-Za-z0-9_@-]+|\[\d+\])*)
      | "(?P<string>(?:[^"\\]|\\.)*)"
      | (?P<regex>%[^%]*%)
      | (?P<word>[^\s()&|=!<>"]+)
    )""",
    re.VERBOSE,
)

# A compiled JSON test: a function of the parsed event.
Test = Callable[[Any], bool]


class _JsonParser:
    def __init__(self, text: str, regexes: list[LogRegex]) -> None:
        self.regexes = regexes
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if not text[position:].strip():
                break
            match = _TOKEN.match(text, position)
            if match is None:
                raise FilterPatternError(f"Invalid filter pattern near {text[position : position + 20]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterPatternError("Invalid filter pattern: it ends too early")
        self.i += 1
        return token

    def parse(self) -> Test:
        test = self.disjunction()
        left = self.peek()
        if left is not None:
            raise FilterPatternError(f"Invalid filter pattern near {left[1]!r}")
        return test

    def disjunction(self) -> Test:
        tests = [self.conjunction()]
        while self.peek() == ("op", "||"):
            self.take()
            tests.append(self.conjunction())
        return tests[0] if len(tests) == 1 else (lambda doc: any(t(doc) for t in tests))

    def conjunction(self) -> Test:
        tests = [self.primary()]
        while self.peek() == ("op", "&&"):
            self.take()
            tests.append(self.primary())
        return tests[0] if len(tests) == 1 else (lambda doc: all(t(doc) for t in tests))

    def primary(self) -> Test:
        kind, value = self.take()
        if (kind, value) == ("op", "("):
            inner = self.disjunction()
            if self.take() != ("op", ")"):
                raise FilterPatternError("Invalid filter pattern: missing ')'")
            return inner
        if kind != "selector":
            raise FilterPatternError(f"Invalid filter pattern: expected a selector like $.field, not {value!r}")
        steps = selector_steps(value)
        kind, word = self.take()
        if kind == "word" and word.upper() in ("IS", "NOT"):
            return self.keyword(steps, word.upper())
        if kind != "op" or word not in ("=", "!=", "<", "<=", ">", ">="):
            raise FilterPatternError(f"Invalid filter pattern: expected an operator after {value}")
        kind, operand = self.take()
        if kind == "string":
            return _string_test(steps, word, operand.replace('\\"', '"'))
        if kind == "regex":
            if word not in ("=", "!="):
                raise FilterPatternError(f"Invalid filter pattern: {word} compares numbers only")
            return _regex_test(steps, word, _regex(operand[1:-1], self.regexes))
        if kind != "word":
            raise FilterPatternError(f"Invalid filter pattern: expected a value after {word}")
        number = _number(operand)
        if number is None:
            return _string_test(steps, word, operand)
        return _number_test(steps, word, number)

    def keyword(self, steps: list[str | int], first: str) -> Test:
        _, second = self.take()
        phrase = f"{first} {second.upper()}"
        if phrase == "NOT EXISTS":
            return lambda doc: _select(doc, steps) is _MISSING
        if phrase == "IS NULL":
            return lambda doc: _select(doc, steps) is None
        if phrase == "IS TRUE":
            return lambda doc: _select(doc, steps) is True
        if phrase == "IS FALSE":
            return lambda doc: _select(doc, steps) is False
        raise FilterPatternError(f"Invalid filter pattern: {phrase!r}")


_SELECTOR = re.compile(r"^\$(?:\.[A-Za-z0-9_@-]+|\[\d+\])+$")


def is_selector(reference: str) -> bool:
    """Whether ``reference`` is a JSON selector (``$.a.b``, ``$.list[0]``)."""
    return _SELECTOR.match(reference) is not None


def selector_steps(selector: str) -> list[str | int]:
    steps: list[str | int] = []
    for name, index in re.findall(r"\.([A-Za-z0-9_@-]+)|\[(\d+)\]", selector):
        steps.append(int(index) if index else name)
    return steps


def _select(doc: Any, steps: list[str | int]) -> Any:
    node = doc
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return _MISSING
            node = node[step]
        else:
            if not isinstance(node, dict) or step not in node:
                return _MISSING
            node = node[step]
    return node


def _wildcard(expected: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in expected.split("*")) + "$", re.DOTALL)


def _string_test(steps: list[str | int], op: str, expected: str) -> Test:
    if op not in ("=", "!="):
        raise FilterPatternError(f"Invalid filter pattern: {op} compares numbers only")
    regex = _wildcard(expected)

    def test(doc: Any) -> bool:
        value = _select(doc, steps)
        if value is _MISSING or isinstance(value, dict | list):
            return False
        text = json.dumps(value) if not isinstance(value, str) else value
        found = regex.match(text) is not None
        return found if op == "=" else not found

    return test


def _regex_test(steps: list[str | int], op: str, regex: LogRegex) -> Test:
    def test(doc: Any) -> bool:
        value = _select(doc, steps)
        if value is _MISSING or isinstance(value, dict | list):
            return False
        found = regex.search(value if isinstance(value, str) else json.dumps(value))
        return found if op == "=" else not found

    return test


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _number_test(steps: list[str | int], op: str, expected: float) -> Test:
    compare = _COMPARE[op]

    def test(doc: Any) -> bool:
        value = _select(doc, steps)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return compare(float(value), expected)

    return test


def _json_match(message: str, test: Test) -> Matched | None:
    start = message.find("{")
    if start < 0:
        return None
    try:
        doc = _DECODER.decode(message[start:])
    except ValueError:
        return None
    if not isinstance(doc, dict) or not test(doc):
        return None
    return Matched(document=doc)


def _not_json(constant: str) -> Any:
    """``NaN``/``Infinity`` are not JSON: AWS does not read an event holding them as a JSON object."""
    raise ValueError(f"{constant} is not JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_not_json)
"""Made once: ``json.loads`` with a hook makes a decoder a call."""

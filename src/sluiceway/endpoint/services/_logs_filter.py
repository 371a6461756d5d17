"""CloudWatch Logs filter patterns, compiled to a predicate over a log event's message.

Served forms (CloudWatch's "Filter pattern syntax"):

* ``""``: every event.
* Terms: ``ERROR Exception`` (all must appear), ``"Exception in thread"`` (a quoted term
  with spaces or symbols), ``?ERROR ?WARN`` (any of the ``?`` terms), ``-Exiting``
  (none of the ``-`` terms). Terms are case sensitive and match anywhere in the message.
* ``%regex%``: a regular expression (CloudWatch's subset is a subset of Python's).
* JSON: ``{ $.level = "ERROR" }``, ``{ $.latency > 100 && $.user.id != "x*" }`` with
  ``= != < <= > >=``, ``&&``, ``||``, parentheses, ``*`` wildcards in strings,
  ``IS NULL``, ``IS TRUE``, ``IS FALSE``, ``NOT EXISTS``, and ``$.list[0]`` indexes. An
  event that is not a JSON object never matches.

Space-delimited patterns (``[ip, user, ...]``) are refused with InvalidParameterException.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["FilterPatternError", "compile_filter"]

Predicate = Callable[[str], bool]


class FilterPatternError(ValueError):
    """The pattern is not valid (AWS: InvalidParameterException, "Invalid filter pattern")."""


def compile_filter(pattern: str | None) -> Predicate:
    """A predicate over messages for ``pattern``.

    Raises:
        FilterPatternError: the pattern cannot be parsed.
    """
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise FilterPatternError("Invalid filter pattern: a JSON pattern ends with '}'")
        test = _JsonParser(text[1:-1]).parse()
        return lambda message: _json_match(message, test)
    if text.startswith("["):
        raise FilterPatternError("Invalid filter pattern: space-delimited patterns are not served by the Sluiceway endpoint")
    if len(text) >= 2 and text.startswith("%") and text.endswith("%"):
        try:
            regex = re.compile(text[1:-1])
        except re.error as exc:
            raise FilterPatternError(f"Invalid filter pattern: {exc}") from None
        return lambda message: regex.search(message) is not None
    return _terms(text)


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


# -- JSON patterns -----------------------------------------------------------------------

_MISSING = object()
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\))
      | (?P<selector>\$(?:\.[A-Za-z0-9_@-]+|\[\d+\])*)
      | "(?P<string>(?:[^"\\]|\\.)*)"
      | (?P<word>[^\s()&|=!<>"]+)
    )""",
    re.VERBOSE,
)

# A compiled JSON test: a function of the parsed event.
Test = Callable[[Any], bool]


class _JsonParser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if not text[position:].strip():
                break
            match = _TOKEN.match(text, position)
            if match is None:
                raise FilterPatternError(f"Invalid filter pattern near {text[position:position + 20]!r}")
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
        if self.peek() is not None:
            raise FilterPatternError(f"Invalid filter pattern near {self.peek()[1]!r}")  # type: ignore[index]
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
        steps = _steps(value)
        kind, word = self.take()
        if kind == "word" and word.upper() in ("IS", "NOT"):
            return self.keyword(steps, word.upper())
        if kind != "op" or word not in ("=", "!=", "<", "<=", ">", ">="):
            raise FilterPatternError(f"Invalid filter pattern: expected an operator after {value}")
        kind, operand = self.take()
        if kind == "string":
            return _string_test(steps, word, operand.replace('\\"', '"'))
        if kind != "word":
            raise FilterPatternError(f"Invalid filter pattern: expected a value after {word}")
        try:
            number = float(operand)
        except ValueError:
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


def _steps(selector: str) -> list[str | int]:
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


def _string_test(steps: list[str | int], op: str, expected: str) -> Test:
    if op not in ("=", "!="):
        raise FilterPatternError(f"Invalid filter pattern: {op} compares numbers only")
    regex = re.compile("^" + ".*".join(re.escape(part) for part in expected.split("*")) + "$", re.DOTALL)

    def test(doc: Any) -> bool:
        value = _select(doc, steps)
        if value is _MISSING or isinstance(value, dict | list):
            return False
        text = json.dumps(value) if not isinstance(value, str) else value
        found = regex.match(text) is not None
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


def _json_match(message: str, test: Test) -> bool:
    start = message.find("{")
    if start < 0:
        return False
    try:
        doc = json.loads(message[start:])
    except ValueError:
        return False
    return isinstance(doc, dict) and test(doc)

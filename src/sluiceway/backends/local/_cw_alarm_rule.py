"""A composite alarm's ``AlarmRule``: parsed, checked and evaluated as CloudWatch does.

The grammar (PutCompositeAlarm's documentation): ``ALARM(ref)``, ``OK(ref)`` and
``INSUFFICIENT_DATA(ref)`` are true when the referenced alarm is in that state; ``TRUE`` and
``FALSE`` are constants; ``NOT``, ``AND`` and ``OR`` combine them (binding in that order, as in
boolean algebra) and parentheses group. A reference is an alarm name or ARN, bare or in double
quotes; a bare one ends at a space or a parenthesis, which is why names with spaces need quotes.

``AT_LEAST(M, STATE, (ref, ref, ...))`` holds when at least M of the listed alarms are in STATE
(ALARM, OK or INSUFFICIENT_DATA) or, for ``NOT STATE``, are not in it; M is a count (1 up to the
number listed) or a percentage (``60%``, 1 to 100) of the number listed. In its list a bare
reference also ends at a comma. An alarm in INSUFFICIENT_DATA is in neither ALARM nor OK, so it
counts toward ``NOT ALARM`` and ``NOT OK``. AT_LEAST is one operand like ``ALARM(ref)``: NOT, AND,
OR and parentheses combine it with the rest. Each listed alarm is an element and a child.

Errors are worded as CloudWatch words them: ``Error in AlarmRule [Unsupported token ')' at char 1]``
(the position counts from 0), with ``, must be: ')'`` where only one token could follow. CloudWatch
publishes no wording for an AT_LEAST count or percentage out of range (CDK's ``AtLeastThreshold``
refuses the same ones before they reach it); those messages are Sluiceway's, in the same frame.

Pure: the states of the referenced alarms are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Union

__all__ = [
    "AT_LEAST",
    "FUNCTIONS",
    "MAX_CHILDREN",
    "MAX_ELEMENTS",
    "MAX_NESTING",
    "MAX_RULE_LENGTH",
    "AlarmRule",
    "RuleError",
    "parse",
]

FUNCTIONS: Final = ("ALARM", "OK", "INSUFFICIENT_DATA")
"""The functions of a rule, each named after the state it tests."""
AT_LEAST: Final = "AT_LEAST"
"""The function counting how many of a list of alarms are (or are not) in a state."""
MAX_RULE_LENGTH: Final = 10240
"""Characters in an AlarmRule (the model's limit)."""
MAX_CHILDREN: Final = 100
"""Alarms one rule may reference."""
MAX_ELEMENTS: Final = 500
"""Elements of a rule: referenced alarms, TRUE and FALSE, and parentheses."""
MAX_NESTING: Final = 100
"""Parentheses nested in a rule. CloudWatch states no such limit (its element limit alone would allow
about 500); a rule is parsed and evaluated by recursion here, and no one writes one nested deeper."""


class RuleError(ValueError):
    """A rule CloudWatch refuses; the message is CloudWatch's."""


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class StateOf:
    state: str
    """ALARM, OK or INSUFFICIENT_DATA."""
    reference: str
    """The alarm's name or ARN, as the rule writes it (without quotes)."""


@dataclass(frozen=True)
class AtLeast:
    threshold: int
    """A count of alarms, or a percentage of those listed when ``percent``."""
    percent: bool
    state: str
    """ALARM, OK or INSUFFICIENT_DATA."""
    negated: bool
    """Whether the listed alarms count when they are not in ``state`` (``NOT ALARM``)."""
    references: tuple[str, ...]
    """The alarms listed, as written (without quotes), one for each time they are listed."""

    def holds(self, state_of: Callable[[str], str | None]) -> bool:
        counted = sum((state_of(ref) == self.state) != self.negated for ref in self.references)
        if self.percent:
            # In integers, so that 60% of 3 alarms asks for 2 (1.8 rounded up), never for 1.
            return counted * 100 >= self.threshold * len(self.references)
        return counted >= self.threshold


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class All:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    operands: tuple[Node, ...]


Node = Union[Const, StateOf, AtLeast, Not, All, Any_]  # noqa: UP007 - a runtime alias of dataclasses


@dataclass(frozen=True)
class AlarmRule:
    """A parsed rule."""

    text: str
    root: Node
    references: tuple[str, ...]
    """The alarms referenced, as written, each once, in the order they first appear."""

    def evaluate(self, state_of: Callable[[str], str | None]) -> bool:
        """Whether the rule holds, ``state_of(reference)`` giving each referenced alarm's state."""
        return _evaluate(self.root, state_of)


def _evaluate(node: Node, state_of: Callable[[str], str | None]) -> bool:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, StateOf):
        return state_of(node.reference) == node.state
    if isinstance(node, AtLeast):
        return node.holds(state_of)
    if isinstance(node, Not):
        return not _evaluate(node.operand, state_of)
    if isinstance(node, All):
        return all(_evaluate(item, state_of) for item in node.operands)
    return any(_evaluate(item, state_of) for item in node.operands)


@dataclass(frozen=True)
class _Token:
    kind: str
    """``(``, ``)``, ``,`` (in an AT_LEAST call), ``word`` or ``quoted``; ``end`` past the last one."""
    text: str
    at: int
    end: int
    """Where the next token may start."""


_COUNT = re.compile(r"[0-9]+%?")
"""An AT_LEAST threshold: a count, or a percentage with its sign."""


def _token(text: str, at: int, commas: bool) -> _Token:
    """The token at or after ``at``; ``commas`` where a comma separates (in an AT_LEAST call), for
    elsewhere a comma is part of a bare name, as it was before AT_LEAST was part of the grammar."""
    while at < len(text) and text[at].isspace():
        at += 1
    if at == len(text):
        return _Token("end", "", at, at)
    char = text[at]
    if char in "()" or (commas and char == ","):
        return _Token(char, char, at, at + 1)
    if char == '"':
        close = text.find('"', at + 1)
        if close < 0:
            raise _unsupported(text[at:], at)
        return _Token("quoted", text[at + 1 : close], at, close + 1)
    stops = '()",' if commas else '()"'
    end = at
    while end < len(text) and not text[end].isspace() and text[end] not in stops:
        end += 1
    return _Token("word", text[at:end], at, end)


def _unsupported(token: str, at: int, must_be: str = "") -> RuleError:
    detail = f"Unsupported token '{token}' at char {at}"
    if must_be:
        detail += f", must be: {must_be}"
    return RuleError(f"Error in AlarmRule [{detail}]")


class _Parser:
    """Recursive descent over tokens read as the grammar asks for them: what ends a bare name
    depends on where it stands."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        """Where the next token starts (or the space before it)."""
        self.elements = 0
        self.depth = 0
        """Parentheses open where the parser is."""
        self.references: dict[str, None] = {}

    def peek(self, commas: bool = False) -> _Token:
        return _token(self.text, self.at, commas)

    def take(self, commas: bool = False) -> _Token:
        token = _token(self.text, self.at, commas)
        self.at = token.end
        return token

    def expect(self, kind: str, commas: bool = False) -> _Token:
        token = self.take(commas)
        if token.kind != kind:
            raise self.unexpected(token, f"'{kind}'")
        return token

    def unexpected(self, token: _Token, must_be: str = "") -> RuleError:
        if token.kind == "end":
            return RuleError(f"Error in AlarmRule [Unexpected end of rule at char {token.at}]")
        shown = f'"{token.text}"' if token.kind == "quoted" else token.text
        return _unsupported(shown, token.at, must_be)

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text == word:
            self.at = token.end
            return True
        return False

    def any_of(self) -> Node:
        operands = [self.all_of()]
        while self.keyword("OR"):
            operands.append(self.all_of())
        return operands[0] if len(operands) == 1 else Any_(tuple(operands))

    def all_of(self) -> Node:
        operands = [self.negation()]
        while self.keyword("AND"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else All(tuple(operands))

    def negation(self) -> Node:
        # Counted in a loop, not by recursion: NOT is no element, so a rule may hold thousands.
        negations = 0
        while self.keyword("NOT"):
            negations += 1
        operand = self.primary()
        return Not(operand) if negations % 2 else operand

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            self.count()
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise RuleError(f"Error in AlarmRule [The rule can nest parentheses at most {MAX_NESTING} deep]")
            inner = self.any_of()
            self.expect(")")
            self.depth -= 1
            return inner
        if token.kind == "word" and token.text.upper() in ("TRUE", "FALSE"):
            # The operation's documentation writes them in capitals and in lower case (``false``).
            self.count()
            return Const(token.text.upper() == "TRUE")
        if token.kind == "word" and token.text in FUNCTIONS:
            self.expect("(")
            reference = self.reference(self.take())
            self.expect(")")
            return StateOf(token.text, reference)
        if token.kind == "word" and token.text == AT_LEAST:
            return self.at_least()
        raise self.unexpected(token)

    def at_least(self) -> AtLeast:
        """The rest of ``AT_LEAST(M, [NOT] STATE, (ref, ...))``, its name taken."""
        self.expect("(")
        threshold = self.take(commas=True)
        if threshold.kind != "word" or not _COUNT.fullmatch(threshold.text):
            raise self.unexpected(threshold)
        self.expect(",", commas=True)
        state = self.take(commas=True)
        negated = state.kind == "word" and state.text == "NOT"
        if negated:
            state = self.take(commas=True)
        if state.kind != "word" or state.text not in FUNCTIONS:
            raise self.unexpected(state)
        self.expect(",", commas=True)
        self.expect("(", commas=True)
        listed = [self.reference(self.take(commas=True))]
        while (separator := self.take(commas=True)).kind == ",":
            listed.append(self.reference(self.take(commas=True)))
        if separator.kind != ")":
            raise self.unexpected(separator)
        self.expect(")")
        percent = threshold.text.endswith("%")
        value = int(threshold.text.rstrip("%"))
        if percent and not 1 <= value <= 100:
            raise RuleError(f"Error in AlarmRule [The AT_LEAST percentage at char {threshold.at} must be from 1% to 100%]")
        if not percent and not 1 <= value <= len(listed):
            detail = f"The AT_LEAST count at char {threshold.at} must be from 1 to the number of alarms listed ({len(listed)})"
            raise RuleError(f"Error in AlarmRule [{detail}]")
        return AtLeast(value, percent, state.text, negated, tuple(listed))

    def reference(self, token: _Token) -> str:
        """The alarm ``token`` names, counted as an element and a child."""
        if token.kind not in ("word", "quoted") or not token.text:
            raise self.unexpected(token)
        self.count()
        self.references.setdefault(token.text)
        if len(self.references) > MAX_CHILDREN:
            raise RuleError(f"Error in AlarmRule [The rule can reference at most {MAX_CHILDREN} alarms]")
        return token.text

    def count(self) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise RuleError(f"Error in AlarmRule [The rule can have at most {MAX_ELEMENTS} elements]")


def parse(text: str) -> AlarmRule:
    """The rule ``text``; raises RuleError in CloudWatch's words for one it refuses."""
    if not text or text != text.strip():
        raise RuleError("AlarmRule must not contain leading or trailing whitespace or be null")
    parser = _Parser(text)
    root = parser.any_of()
    rest = parser.peek()
    if rest.kind != "end":
        raise parser.unexpected(rest)
    return AlarmRule(text, root, tuple(parser.references))

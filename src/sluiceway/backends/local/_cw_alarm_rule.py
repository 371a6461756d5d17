"""A composite alarm's ``AlarmRule``: parsed, checked and evaluated as CloudWatch does.

The grammar (PutCompositeAlarm's documentation): ``ALARM(ref)``, ``OK(ref)`` and
``INSUFFICIENT_DATA(ref)`` are true when the referenced alarm is in that state; ``TRUE`` and
``FALSE`` are constants; ``NOT``, ``AND`` and ``OR`` combine them (binding in that order, as in
boolean algebra) and parentheses group. A reference is an alarm name or ARN, bare or in double
quotes; a bare one ends at a space or a parenthesis, which is why names with spaces need quotes.

Errors are worded as CloudWatch words them: ``Error in AlarmRule [Unsupported token ')' at char 1]``
(the position counts from 0), with ``, must be: ')'`` where only one token could follow.

Pure: the states of the referenced alarms are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Union

__all__ = [
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
class Not:
    operand: Node


@dataclass(frozen=True)
class All:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    operands: tuple[Node, ...]


Node = Union[Const, StateOf, Not, All, Any_]  # noqa: UP007 - a runtime alias of dataclasses


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
    if isinstance(node, Not):
        return not _evaluate(node.operand, state_of)
    if isinstance(node, All):
        return all(_evaluate(item, state_of) for item in node.operands)
    return any(_evaluate(item, state_of) for item in node.operands)


@dataclass(frozen=True)
class _Token:
    kind: str
    """``(``, ``)``, ``word`` or ``quoted``; ``end`` past the last one."""
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            found.append(_Token(char, char, i))
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _unsupported(text[i:], i)
            found.append(_Token("quoted", text[i + 1 : end], i))
            i = end + 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in '()"':
                i += 1
            found.append(_Token("word", text[start:i], start))
    found.append(_Token("end", "", len(text)))
    return found


def _unsupported(token: str, at: int, must_be: str = "") -> RuleError:
    detail = f"Unsupported token '{token}' at char {at}"
    if must_be:
        detail += f", must be: {must_be}"
    return RuleError(f"Error in AlarmRule [{detail}]")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.elements = 0
        self.depth = 0
        """Parentheses open where the parser is."""
        self.references: dict[str, None] = {}

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str) -> _Token:
        token = self.take()
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
            self.index += 1
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
            reference = self.take()
            if reference.kind not in ("word", "quoted") or not reference.text:
                raise self.unexpected(reference)
            self.expect(")")
            self.count()
            self.references.setdefault(reference.text)
            if len(self.references) > MAX_CHILDREN:
                raise RuleError(f"Error in AlarmRule [The rule can reference at most {MAX_CHILDREN} alarms]")
            return StateOf(token.text, reference.text)
        raise self.unexpected(token)

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

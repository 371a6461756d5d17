"""A recursive-descent parser for DynamoDB's expression language (the grammar of the developer guide).

::

    condition   := disjunct (OR disjunct)*
    disjunct    := conjunct (AND conjunct)*
    conjunct    := NOT conjunct | '(' condition ')' | function | operand predicate
    predicate   := comparator operand | BETWEEN operand AND operand | IN '(' operand (',' operand)* ')'
    operand     := path | :value | size '(' path ')'
    path        := (name | #name) ('.' (name | #name) | '[' digits ']')*

    update      := (SET set-action (',' set-action)* | REMOVE path (',' path)*
                    | ADD path :value (',' ...)* | DELETE path :value (',' ...)*)+   each clause once
    set-action  := path '=' set-operand (('+' | '-') set-operand)?
    set-operand := path | :value | if_not_exists '(' path ',' set-operand ')'
                   | list_append '(' set-operand ',' set-operand ')'

    projection  := path (',' path)*

Keywords are case-insensitive; function names are not (``SIZE(a)`` is an invalid
function, as on AWS). Precedence, lowest first: OR, AND, NOT, then comparisons,
BETWEEN, IN and functions. Errors are DynamoDB's: ``Invalid UpdateExpression:
Syntax error; token: "1", near: "VALUE 1"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..errors import DynamoDbError, framed, validation
from .nodes import (
    And,
    Arithmetic,
    Between,
    Call,
    Comparison,
    Condition,
    In,
    Index,
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
from .tokens import EOF, Token, tokenize

__all__ = [
    "BOOLEAN_FUNCTIONS",
    "FUNCTIONS",
    "parse_condition",
    "parse_projection",
    "parse_update",
]

#: Functions that are conditions, with their number of operands.
BOOLEAN_FUNCTIONS = {"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2, "contains": 2}
#: Functions that are operands of a condition.
OPERAND_FUNCTIONS = {"size": 1}
#: Functions of an update's SET.
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
FUNCTIONS = {**BOOLEAN_FUNCTIONS, **OPERAND_FUNCTIONS, **UPDATE_FUNCTIONS}

COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
_CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
_CONDITION_WORDS = ("AND", "OR", "NOT", "BETWEEN", "IN")

T = TypeVar("T")


def parse_condition(source: str, kind: str = "ConditionExpression") -> Condition:
    """Parse a ConditionExpression, FilterExpression or KeyConditionExpression (``kind`` names it in errors)."""
    return _Parser(source, kind).whole(lambda p: p.condition())


def parse_update(source: str) -> Update:
    """Parse an UpdateExpression."""
    return _Parser(source, "UpdateExpression").whole(lambda p: p.update())


def parse_projection(source: str) -> Projection:
    """Parse a ProjectionExpression."""
    return _Parser(source, "ProjectionExpression").whole(lambda p: p.projection())


class _Parser:
    def __init__(self, source: str, kind: str) -> None:
        self.source = source
        self.kind = kind
        self.tokens = tokenize(source)
        self.position = 0
        self.group: Condition | None = None
        """The condition of the parenthesised group parsed last."""
        self.redundant = False
        """Whether a group holds nothing but another group: ``((a < b))``."""

    # -- the machinery ------------------------------------------------------------------

    def whole(self, rule: Callable[[_Parser], T]) -> T:
        if not self.source.strip():
            empty = self.error("The expression can not be empty;")
            # UpdateItem's front validation frames an empty update (other expressions go bare).
            raise framed(empty) if self.kind == "UpdateExpression" else empty
        result = rule(self)
        if self.peek.kind != EOF:
            raise self.unexpected()
        if self.redundant:
            # Found once the whole text parses: a syntax error further on is reported first.
            raise self.error("The expression has redundant parentheses;")
        return result

    @property
    def peek(self) -> Token:
        return self.tokens[self.position]

    def ahead(self, offset: int = 1) -> Token:
        return self.tokens[min(self.position + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.position]
        if token.kind != EOF:
            self.position += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.peek.kind == "name" and self.peek.text.upper() in words

    def keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise self.unexpected()
        self.advance()

    def expect(self, kind: str) -> Token:
        if self.peek.kind != kind:
            raise self.unexpected()
        return self.advance()

    def error(self, detail: str) -> DynamoDbError:
        return validation(f"Invalid {self.kind}: {detail}")

    def unexpected(self) -> DynamoDbError:
        """DynamoDB's syntax error: the token, and the text from the token before to the token after."""
        token = self.peek
        before = self.tokens[self.position - 1] if self.position else token
        after = self.ahead() if token.kind != EOF else token
        near = self.source[before.start : after.end]
        return self.error(f'Syntax error; token: "{token.text}", near: "{near}"')

    # -- paths and operands ---------------------------------------------------------------

    def name_element(self) -> PathElement:
        token = self.peek
        if token.kind == "name" and not self.is_reserved_syntax(token):
            self.advance()
            return Name(token.text)
        if token.kind == "#name" and len(token.text) > 1:
            self.advance()
            return NameRef(token.text)
        raise self.unexpected()

    def is_reserved_syntax(self, token: Token) -> bool:
        """Words the grammar itself uses where a name could stand (never names there)."""
        words = _CLAUSES if self.kind == "UpdateExpression" else _CONDITION_WORDS
        return token.text.upper() in words

    def path(self) -> Path:
        elements: list[PathElement] = [self.name_element()]
        while self.peek.kind in (".", "["):
            if self.advance().kind == ".":
                elements.append(self.name_element())
            else:
                digits = self.expect("number")
                self.expect("]")
                elements.append(Index(int(digits.text)))
        return Path(tuple(elements))

    def value_ref(self) -> ValueRef:
        token = self.peek
        if token.kind != ":value" or len(token.text) < 2:
            raise self.unexpected()
        self.advance()
        return ValueRef(token.text)

    def at_call(self) -> bool:
        return self.peek.kind == "name" and self.ahead().kind == "("

    def call(self, argument: Callable[[], Operand]) -> Call:
        name = self.advance().text
        if name not in FUNCTIONS:
            raise self.error(f"Invalid function name; function: {name}")
        self.expect("(")
        arguments = [argument()]
        while self.peek.kind == ",":
            self.advance()
            arguments.append(argument())
        self.expect(")")
        if len(arguments) != FUNCTIONS[name]:
            raise self.error(
                f"Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {len(arguments)}"
            )
        return Call(name, tuple(arguments))

    def operand(self) -> Operand:
        """An operand of a condition: a path, a value, or a function call (checked later)."""
        if self.peek.kind == ":value":
            return self.value_ref()
        if self.at_call():
            return self.call(self.operand)
        return self.path()

    # -- conditions -----------------------------------------------------------------------

    def condition(self) -> Condition:
        left = self.conjunction()
        while self.at_keyword("OR"):
            self.advance()
            left = Or(left, self.conjunction())
        return left

    def conjunction(self) -> Condition:
        left = self.negation()
        while self.at_keyword("AND"):
            self.advance()
            left = And(left, self.negation())
        return left

    def negation(self) -> Condition:
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.negation())
        if self.peek.kind == "(":
            self.advance()
            inner = self.condition()
            self.expect(")")
            if inner is self.group:
                self.redundant = True
            self.group = inner
            return inner
        if self.at_call():
            call = self.call(self.operand)
            if call.function in BOOLEAN_FUNCTIONS:
                return call
            if call.function not in OPERAND_FUNCTIONS:
                raise self.error(f"The function is not allowed to be used this way in an expression; function: {call.function}")
            return self.predicate(call)
        return self.predicate(self.operand())

    def predicate(self, subject: Operand) -> Condition:
        if self.peek.kind in COMPARATORS:
            operator = self.advance().kind
            return Comparison(operator, subject, self.operand())
        if self.at_keyword("BETWEEN"):
            self.advance()
            low = self.operand()
            self.keyword("AND")
            return Between(subject, low, self.operand())
        if self.at_keyword("IN"):
            self.advance()
            self.expect("(")
            candidates = [self.operand()]
            while self.peek.kind == ",":
                self.advance()
                candidates.append(self.operand())
            self.expect(")")
            return In(subject, tuple(candidates))
        raise self.unexpected()

    # -- updates --------------------------------------------------------------------------

    def update(self) -> Update:
        actions: list[SetAction | UpdateAction] = []
        seen: set[str] = set()
        while True:
            if not self.at_keyword(*_CLAUSES):
                raise self.unexpected()
            clause = self.advance().text.upper()
            if clause in seen:
                raise framed(self.error(f'The "{clause}" section can only be used once in an update expression;'))
            seen.add(clause)
            while True:
                actions.append(self.update_action(clause))
                if self.peek.kind != ",":
                    break
                self.advance()
            if self.peek.kind == EOF:
                return Update(tuple(actions))

    def update_action(self, clause: str) -> SetAction | UpdateAction:
        path = self.path()
        if clause == "SET":
            self.expect("=")
            return SetAction(path, self.set_value())
        if clause == "REMOVE":
            return UpdateAction("REMOVE", path)
        return UpdateAction(clause, path, self.value_ref())

    def set_value(self) -> Operand:
        left = self.set_operand()
        if self.peek.kind in ("+", "-"):
            operator = self.advance().kind
            return Arithmetic(operator, left, self.set_operand())
        return left

    def set_operand(self) -> Operand:
        if self.peek.kind == ":value":
            return self.value_ref()
        if self.at_call():
            name = self.peek.text
            if name in FUNCTIONS and name not in UPDATE_FUNCTIONS:
                raise self.error(f"The function is not allowed in an update expression; function: {name}")
            return self.call(self.set_operand)
        return self.path()

    # -- projections ----------------------------------------------------------------------

    def projection(self) -> Projection:
        paths = [self.path()]
        while self.peek.kind == ",":
            self.advance()
            paths.append(self.path())
        return Projection(tuple(paths))

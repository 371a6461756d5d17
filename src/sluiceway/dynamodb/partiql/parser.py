"""A recursive-descent parser for DynamoDB's PartiQL (the statements of the developer guide's reference).

::

    statement  := select | insert | update | delete | exists
    select     := SELECT ('*' | path (',' path)*) FROM target [WHERE condition]
                  [ORDER BY path [ASC | DESC] (',' path [ASC | DESC])*]
    exists     := EXISTS '(' select ')'                    (ExecuteTransaction only)
    insert     := INSERT INTO name VALUE value
    update     := UPDATE target (SET assignment (',' assignment)* | REMOVE path (',' path)*)+
                  [WHERE condition] [RETURNING returning]
    delete     := DELETE FROM target [WHERE condition] [RETURNING returning]
    returning  := (ALL | MODIFIED) (OLD | NEW) '*'
    target     := name ['.' name]
    assignment := path '=' operand [('+' | '-') operand]

    condition  := conjunct (OR conjunct)*
    conjunct   := negation (AND negation)*
    negation   := NOT negation | '(' condition ')' | function | operand predicate
    predicate  := comparator operand | [NOT] BETWEEN operand AND operand
                  | [NOT] IN ('[' | '(') operand (',' operand)* (']' | ')') | IS [NOT] (MISSING | NULL)
    operand    := path | '?' | literal | function
    path       := name ('.' name | '[' number ']' | '[' string ']')*
    name       := word | "quoted"
    literal    := 'string' | number | TRUE | FALSE | NULL | '{' 'key' ':' value, ... '}'
                  | '[' value, ... ']' | '<<' value, ... '>>'

Keywords and function names are case-insensitive; the functions are those of DynamoDB's
PartiQL reference (ql-functions: size, exists, attribute_type, begins_with, contains,
missing) and the three its UPDATE reference uses in SET (list_append, set_add,
set_delete): the expression language's attribute_exists, attribute_not_exists and
if_not_exists are not PartiQL's. Nesting (parentheses, NOT, functions, literals) is
bounded by :data:`MAX_DEPTH`. A malformed statement is DynamoDB's
``ValidationException`` "Statement wasn't well formed, can't be processed: <why>";
the few refusals DynamoDB words on their own terms (a FROM path of three parts, an
empty name) carry no such prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from ..errors import DynamoDbError, validation
from .nodes import (
    And,
    Arithmetic,
    Assign,
    Between,
    Call,
    Comparison,
    Condition,
    Constant,
    Delete,
    Exists,
    In,
    Insert,
    ListValue,
    MapValue,
    Missing,
    Not,
    Null,
    Operand,
    Or,
    Parameter,
    Path,
    Remove,
    Select,
    SetValue,
    Statement,
    Update,
    Value,
)
from .tokens import DIGITS, EOF, LexError, Token, tokenize

__all__ = ["MALFORMED", "MAX_DEPTH", "parse_statement"]

MALFORMED = "Statement wasn't well formed, can't be processed: "

MAX_DEPTH = 100
"""The deepest nesting of parentheses, NOTs, function calls and literals a statement may have.

AWS documents no such limit (the 8192-character statement bounds it); the parser, the
planner and the engine's expression parser recurse once or a few times a level, and 100
levels keep them far from Python's recursion limit. No real statement nests this deep.
"""

#: Functions that are conditions, with their number of operands.
CONDITION_FUNCTIONS = {"attribute_type": 2, "begins_with": 2, "contains": 2}
#: Functions that are operands: of a condition (size) or of an UPDATE's SET.
OPERAND_FUNCTIONS = {"size": 1, "list_append": 2, "set_add": 2, "set_delete": 2}
_FUNCTIONS = {**CONDITION_FUNCTIONS, **OPERAND_FUNCTIONS}

_KEYWORDS = frozenset(
    {
        *("SELECT", "FROM", "WHERE", "ORDER", "BY", "ASC", "DESC", "INSERT", "INTO", "VALUE", "UPDATE", "SET", "REMOVE"),
        *("DELETE", "RETURNING", "AND", "OR", "NOT", "BETWEEN", "IN", "IS", "MISSING", "NULL", "TRUE", "FALSE", "EXISTS"),
    }
)
_COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
_RETURNING = {("ALL", "OLD"): "ALL_OLD", ("MODIFIED", "OLD"): "UPDATED_OLD", ("ALL", "NEW"): "ALL_NEW", ("MODIFIED", "NEW"): "UPDATED_NEW"}

T = TypeVar("T")


def malformed(detail: str) -> DynamoDbError:
    return validation(MALFORMED + detail)


def parse_statement(source: str) -> Statement:
    """Parse one PartiQL statement.

    Raises:
        DynamoDbError: ``ValidationException`` with DynamoDB's words for a malformed statement.
    """
    try:
        tokens = tokenize(source)
    except LexError:
        # DynamoDB names no detail for an unterminated quote or a stray character.
        raise malformed("Invalid token") from None
    return _Parser(tokens).statement()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.parameters = 0
        """How many ``?`` were read so far (each is numbered in order)."""
        self.depth = 0
        """How deeply nested the parser is now (see :data:`MAX_DEPTH`)."""

    # -- the machinery ------------------------------------------------------------------

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

    def at(self, *words: str) -> bool:
        return self.peek.kind == "word" and self.peek.text.upper() in words

    def keyword(self, word: str) -> None:
        if not self.at(word):
            raise self.unexpected()
        self.advance()

    def expect(self, kind: str) -> Token:
        if self.peek.kind != kind:
            raise self.unexpected()
        return self.advance()

    def unexpected(self) -> DynamoDbError:
        token = self.peek
        if token.kind == EOF:
            return malformed("Unexpected end of statement")
        if token.kind == "word" and token.text.upper() in _KEYWORDS:
            return malformed("Unexpected keyword")
        return malformed("Unexpected token")

    def nested(self, inner: Callable[[], T]) -> T:
        """``inner()`` one level deeper; too deep a statement is refused, never a RecursionError."""
        if self.depth >= MAX_DEPTH:
            # AWS's wording for this is unrecorded (its limit is unknown, see MAX_DEPTH).
            raise malformed("Statement is nested too deeply")
        self.depth += 1
        try:
            return inner()
        finally:
            self.depth -= 1

    def separated(self, item: Callable[[], T], separator: str = ",") -> list[T]:
        items = [item()]
        while self.peek.kind == separator:
            self.advance()
            items.append(item())
        return items

    # -- statements -----------------------------------------------------------------------

    def statement(self) -> Statement:
        if self.at("SELECT"):
            result: Statement = self.select()
        elif self.at("INSERT"):
            result = self.insert()
        elif self.at("UPDATE"):
            result = self.update()
        elif self.at("DELETE"):
            result = self.delete()
        elif self.at("EXISTS") and self.ahead().kind == "(":
            self.advance()
            self.advance()
            if not self.at("SELECT"):
                raise self.unexpected()
            result = Exists(self.select())
            self.expect(")")
        else:
            raise malformed("Expected data manipulation")
        if self.peek.kind != EOF:
            raise self.unexpected()
        return result

    def select(self) -> Select:
        self.advance()
        projection: tuple[Path, ...] | None
        if self.peek.kind == "*":
            self.advance()
            projection = None
        else:
            projection = tuple(self.separated(self.path))
        self.keyword("FROM")
        table, index = self.target()
        where = self.where()
        order_by: tuple[tuple[Path, bool], ...] = ()
        if self.at("ORDER"):
            self.advance()
            self.keyword("BY")
            order_by = tuple(self.separated(self.ordering))
        return Select(table, index, projection, where, order_by)

    def ordering(self) -> tuple[Path, bool]:
        path = self.path()
        descending = False
        if self.at("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        return path, descending

    def insert(self) -> Insert:
        self.advance()
        self.keyword("INTO")
        table, index = self.target()
        if index is not None:
            raise validation("FROM clause may only contain a single table name in data manipulation statements")
        self.keyword("VALUE")
        return Insert(table, self.value())

    def update(self) -> Update:
        self.advance()
        table, index = self.target()
        actions: list[Assign | Remove] = []
        while self.at("SET", "REMOVE"):
            if self.advance().text.upper() == "SET":
                actions.extend(self.separated(self.assignment))
            else:
                actions.extend(Remove(p) for p in self.separated(self.path))
        if not actions:
            raise self.unexpected()
        where = self.where()
        return Update(table, tuple(actions), where, self.returning(), index)

    def delete(self) -> Delete:
        self.advance()
        self.keyword("FROM")
        table, index = self.target()
        where = self.where()
        return Delete(table, where, self.returning(), index)

    def target(self) -> tuple[str, str | None]:
        parts = [self.name()]
        while self.peek.kind == ".":
            self.advance()
            parts.append(self.name())
        if any(not p for p in parts):
            raise validation("Path component cannot be an empty string")
        if len(parts) > 2:
            raise validation("A path may contain at most 2 components in the FROM clause")
        return parts[0], parts[1] if len(parts) == 2 else None

    def where(self) -> Condition | None:
        if not self.at("WHERE"):
            return None
        self.advance()
        return self.condition()

    def returning(self) -> str | None:
        if not self.at("RETURNING"):
            return None
        self.advance()
        if not self.at("ALL", "MODIFIED"):
            raise self.unexpected()
        which = self.advance().text.upper()
        if not self.at("OLD", "NEW"):
            raise self.unexpected()
        when = self.advance().text.upper()
        self.expect("*")
        return _RETURNING[(which, when)]

    def assignment(self) -> Assign:
        path = self.path()
        self.expect("=")
        value = self.operand()
        if self.peek.kind in ("+", "-"):
            operator = self.advance().kind
            value = Arithmetic(operator, value, self.operand())
        return Assign(path, value)

    # -- names and paths ----------------------------------------------------------------

    def name(self) -> str:
        token = self.peek
        if token.kind == "name" or (token.kind == "word" and token.text.upper() not in _KEYWORDS):
            self.advance()
            return token.text
        raise self.unexpected()

    def path(self) -> Path:
        elements: list[str | int] = [self.name()]
        while self.peek.kind in (".", "["):
            if self.advance().kind == ".":
                elements.append(self.name())
                continue
            token = self.peek
            if token.kind == "number" and all(c in DIGITS for c in token.text):
                self.advance()
                elements.append(int(token.text))
            elif token.kind == "string":
                self.advance()
                elements.append(token.text)
            else:
                raise self.unexpected()
            self.expect("]")
        if any(e == "" for e in elements):
            raise validation("Path component cannot be an empty string")
        return Path(tuple(elements))

    # -- values -------------------------------------------------------------------------

    def value(self) -> Value:
        """A literal or ``?``: what a VALUE, a map's member or a list's member may be."""
        token = self.peek
        if token.kind == "?":
            self.advance()
            self.parameters += 1
            return Parameter(self.parameters - 1)
        if token.kind == "string":
            self.advance()
            return Constant({"S": token.text})
        if token.kind == "number" or (token.kind in ("-", "+") and self.ahead().kind == "number"):
            sign = self.advance().text if token.kind in ("-", "+") else ""
            text = self.advance().text
            try:
                Decimal(text)
            except InvalidOperation:
                raise malformed("Invalid literal") from None
            return Constant({"N": ("-" if sign == "-" else "") + text})
        if self.at("TRUE", "FALSE"):
            return Constant({"BOOL": self.advance().text.upper() == "TRUE"})
        if self.at("NULL"):
            self.advance()
            return Constant({"NULL": True})
        if token.kind in ("{", "[", "<<"):
            return self.nested(self.collection)
        raise self.unexpected()

    def collection(self) -> Value:
        """A map, list or set literal (one level of nesting)."""
        opening = self.advance().kind
        closing = {"{": "}", "[": "]", "<<": ">>"}[opening]
        if opening == "{":
            entries = [] if self.peek.kind == closing else self.separated(self.entry)
            self.expect(closing)
            return MapValue(tuple(entries))
        members = [] if self.peek.kind == closing else self.separated(self.value)
        self.expect(closing)
        return ListValue(tuple(members)) if opening == "[" else SetValue(tuple(members))

    def entry(self) -> tuple[str, Value]:
        key = self.peek
        if key.kind not in ("string", "name"):
            raise self.unexpected()
        self.advance()
        self.expect(":")
        return key.text, self.value()

    def at_value(self) -> bool:
        token = self.peek
        if token.kind in ("?", "string", "number", "{", "[", "<<"):
            return True
        if token.kind in ("-", "+") and self.ahead().kind == "number":
            return True
        return self.at("TRUE", "FALSE", "NULL")

    def at_call(self) -> bool:
        return self.peek.kind == "word" and self.ahead().kind == "("

    def call(self) -> Call:
        name = self.advance().text.lower()
        if name not in _FUNCTIONS:
            raise malformed("Unexpected term")
        self.expect("(")
        arguments = tuple(self.nested(lambda: self.separated(self.operand)))
        self.expect(")")
        if len(arguments) != _FUNCTIONS[name]:
            raise validation(
                f"Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {len(arguments)}"
            )
        return Call(name, arguments)

    def operand(self) -> Operand:
        if self.at_value():
            return self.value()
        if self.at_call():
            return self.call()
        return self.path()

    # -- conditions -----------------------------------------------------------------------

    def condition(self) -> Condition:
        terms = [self.conjunction()]
        while self.at("OR"):
            self.advance()
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def conjunction(self) -> Condition:
        terms = [self.negation()]
        while self.at("AND"):
            self.advance()
            terms.append(self.negation())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def negation(self) -> Condition:
        if self.at("NOT"):
            self.advance()
            return Not(self.nested(self.negation))
        if self.peek.kind == "(":
            self.advance()
            inner = self.nested(self.condition)
            self.expect(")")
            return inner
        if self.at_call():
            call = self.call()
            if call.function in CONDITION_FUNCTIONS:
                return call
            return self.predicate(call)
        return self.predicate(self.operand())

    def predicate(self, subject: Operand) -> Condition:
        if self.peek.kind in _COMPARATORS:
            operator = self.advance().kind
            return Comparison(operator, subject, self.operand())
        negated = False
        if self.at("NOT") and self.ahead().kind == "word" and self.ahead().text.upper() in ("BETWEEN", "IN"):
            self.advance()
            negated = True
        found: Condition
        if self.at("BETWEEN"):
            self.advance()
            low = self.operand()
            self.keyword("AND")
            found = Between(subject, low, self.operand())
        elif self.at("IN"):
            self.advance()
            closing = {"[": "]", "(": ")"}.get(self.peek.kind)
            if closing is None:
                raise self.unexpected()
            self.advance()
            candidates = tuple(self.separated(self.operand))
            self.expect(closing)
            found = In(subject, candidates)
        elif self.at("IS") and not negated:
            self.advance()
            missing_negated = False
            if self.at("NOT"):
                self.advance()
                missing_negated = True
            if not self.at("MISSING", "NULL"):
                raise self.unexpected()
            kind = self.advance().text.upper()
            if not isinstance(subject, Path):
                raise malformed("Unexpected term")
            return Missing(subject, missing_negated) if kind == "MISSING" else Null(subject, missing_negated)
        else:
            raise self.unexpected()
        return Not(found) if negated else found

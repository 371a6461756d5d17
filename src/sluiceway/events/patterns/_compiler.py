"""The compiler: event-ruler's JSON rule compiler, step by step, over a token stream.

A pattern compiles to a list of branches (``$or`` multiplies them); each branch
maps a dotted path to the alternatives allowed there, as specs: tuples whose
first item names the kind of test (``"str"``, ``"prefix"``, ``"range"``,
``"not"``...). Checks run in document order, as AWS's streaming parser does,
so the first problem wins, and each refusal carries AWS's reason text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeAlias

from ._errors import Invalid, barf
from ._tokens import (
    END_ARRAY,
    END_OBJECT,
    FALSE,
    FIELD_NAME,
    FLOAT,
    INT,
    NULL,
    NUMERIC_KINDS,
    START_ARRAY,
    START_OBJECT,
    STRING,
    TRUE,
    Token,
    Tokens,
)
from ._values import cidr_block, comparable, parse_ip
from ._wildcards import MAX_WILDCARD_COMPLEXITY, TOO_COMPLEX, Wildcard, parse_wildcard, wildcard_complexity, wildcard_regex

__all__ = ["Branch", "Spec", "check_wildcard_complexity", "compile_branches"]

Spec: TypeAlias = tuple[Any, ...]
"""What one alternative in a field's array means: a kind, then its operands."""
Branch: TypeAlias = dict[str, list[Spec]]
"""One ``$or``-free reading of a pattern: each dotted path's alternatives."""

_OR: Final = "$or"
# A guard against ``$or`` arrays multiplying into too many branches. AWS has a
# limit of the same size; its wording for it is not in our recordings.
_MAX_BRANCHES: Final = 1000
# Field names event-ruler reserves inside ``$or`` (its Constants.java).
_RESERVED_IN_OR: Final = frozenset(
    {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists",
        "wildcard", "numeric", "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard",
        "not-equals-ignore-case", "date-after", "date-on-or-after", "date-before",
        "date-on-or-before", "in-date-range", "ip-address-in-range", "ip-address-not-in-range",
    }
)  # fmt: skip


class _Compiler:
    """Reads one pattern's tokens into branches, refusing what AWS refuses with AWS's words."""

    def __init__(self, tokens: Tokens, *, with_or: bool = True) -> None:
        self._tokens = tokens
        self._with_or = with_or
        self.saw_or = False
        """Whether a ``$or`` key was read (so that a retry without ``$or`` could differ)."""

    def _next(self) -> Token:
        return self._tokens.next()

    def compile(self) -> list[Branch]:
        if self._next().kind != START_OBJECT:
            raise barf("Filter is not an object")
        branches: list[Branch] = []
        self._object(branches, [], in_or=False)
        # Text after the closing brace is never read, so AWS ignores it too.
        return branches

    def _object(self, branches: list[Branch], path: list[str], *, in_or: bool) -> None:
        fields_present = False
        while True:
            token = self._next()
            if token.kind == END_OBJECT:
                break
            fields_present = True
            name: str = token.value
            if name == _OR:
                self.saw_or = True
                if self._with_or:
                    self._or(branches, path)
                    continue
            if in_or and name in _RESERVED_IN_OR:
                raise barf(f"{name} is Ruler reserved fieldName which cannot be used inside $or.")
            token = self._next()
            if token.kind == START_OBJECT:
                path.append(name)
                self._object(branches, path, in_or=in_or)
                path.pop()
            elif token.kind == START_ARRAY:
                self._field(branches, ".".join([*path, name]))
            else:
                raise barf(f'"{name}" must be an object or an array')
        if not fields_present:
            raise barf("Empty objects are not allowed")

    def _or(self, branches: list[Branch], path: list[str]) -> None:
        before = [dict(b) for b in branches]
        branches.clear()
        if self._next().kind != START_ARRAY:
            raise barf("It must be an Array followed with $or.")
        count = 0
        while (token := self._next()).kind != END_ARRAY:
            count += 1
            if token.kind != START_OBJECT:
                raise barf("Only JSON object is allowed in array of $or relationship.")
            alternative = [dict(b) for b in before] or [{}]
            self._object(alternative, path, in_or=True)
            branches.extend(alternative)
            if len(branches) > _MAX_BRANCHES:
                raise Invalid(
                    f"Event pattern contains more than {_MAX_BRANCHES} rule combinations",
                    parse_error=False,
                )
        if count < 2:
            raise barf("There must have at least 2 Objects in $or relationship.")

    def _field(self, branches: list[Branch], name: str) -> None:
        specs: list[Spec] = []
        while (token := self._next()).kind != END_ARRAY:
            kind = token.kind
            if kind == START_OBJECT:
                specs.append(self._expression())
            elif kind == STRING:
                # AWS turns a string that is an IP address into an address match,
                # so "10.0.0.1" also matches other spellings of the same address.
                ip = parse_ip(token.value)
                if ip is not None:
                    specs.append(("cidr", ip[0], ip[1], ip[1]))
                else:
                    specs.append(("str", token.value))
            elif kind in NUMERIC_KINDS:
                specs.append(("num", token.value))
            elif kind in (TRUE, FALSE, NULL):
                specs.append(("lit", token.value))
            else:
                raise barf("Match value must be String, number, true, false, or null")
        if not specs:
            raise barf("Empty arrays are not allowed")
        if not branches:
            branches.append({})
        for branch in branches:
            # A repeated key replaces the earlier one (AWS keeps the last).
            branch[name] = specs

    def _end(self, reason: str = "Only one key allowed in match expression") -> None:
        if self._next().kind != END_OBJECT:
            raise barf(reason)

    def _expression(self) -> Spec:
        token = self._next()
        if token.kind != FIELD_NAME:
            raise barf("Match expression name not found")
        op: str = token.value
        if op == "exactly":
            token = self._next()
            if token.kind != STRING:
                raise barf("exact match pattern must be a string")
            self._end()
            return ("str", token.value)
        if op in ("prefix", "suffix"):
            token = self._next()
            if token.kind == START_OBJECT:
                return self._ignore_case_affix(op)
            if token.kind != STRING:
                raise barf(f"{op} match pattern must be a string")
            self._end()
            return (op, token.value)
        if op == "numeric":
            if self._next().kind != START_ARRAY:
                raise barf("Value of numeric must be an array.")
            spec = self._numeric()
            self._end("Too many elements in numeric expression")
            return spec
        if op == "anything-but":
            return self._anything_but()
        if op == "exists":
            token = self._next()
            if token.kind not in (TRUE, FALSE):
                raise barf("exists match pattern must be either true or false.")
            self._end()
            return ("exists", token.value)
        if op == "cidr":
            token = self._next()
            if token.kind != STRING:
                # Sic: AWS names the wrong operator here.
                raise barf("prefix match pattern must be a string")
            try:
                spec = ("cidr", *cidr_block(token.value))
            except Invalid as exc:
                raise Invalid(str(exc), parse_error=False) from None
            self._end()
            return spec
        if op == "equals-ignore-case":
            token = self._next()
            if token.kind != STRING:
                raise barf("equals-ignore-case match pattern must be a string")
            self._end()
            return ("eic", token.value.lower())
        if op == "wildcard":
            token = self._next()
            if token.kind != STRING:
                raise barf("wildcard match pattern must be a string")
            parsed = parse_wildcard(token.value)
            self._end()
            return ("wildcard", parsed, wildcard_regex(parsed))
        raise barf(f"Unrecognized match type {op}")

    def _ignore_case_affix(self, op: str) -> Spec:
        token = self._next()
        if token.kind != FIELD_NAME:
            raise barf(f"{op.capitalize()} expression name not found")
        if token.value != "equals-ignore-case":
            raise barf(f"Unsupported {op} pattern: {token.value}")
        token = self._next()
        if token.kind != STRING:
            raise barf("equals-ignore-case match pattern must be a string")
        self._end()
        self._end()
        return (f"{op}_ic", token.value.lower())

    def _numeric(self) -> Spec:
        token = self._next()
        if token.kind != STRING:
            raise barf(f"Invalid member in numeric match: {token.text}")
        op: str = token.value
        token = self._next()
        if op in ("=", ">=", ">", "<=", "<"):
            if token.kind not in NUMERIC_KINDS:
                raise barf(f"Value of {'equals' if op == '=' else op} must be numeric")
            text = token.text
            if op in (">=", ">"):
                token = self._next()
                if token.kind == END_ARRAY:
                    return ("range", comparable(text), op == ">", None, False)
                return self._numeric_range(token, text, open_bottom=op == ">")
            if self._next().kind != END_ARRAY:
                raise barf("Too many elements in numeric expression")
            value = comparable(text)
            if op == "=":
                return ("range", value, False, value, False)
            return ("range", None, False, value, op == "<")
        raise barf(f"Unrecognized numeric range operator: {op}")

    def _numeric_range(self, token: Token, bottom_text: str, *, open_bottom: bool) -> Spec:
        if token.kind != STRING:
            raise barf(f"Bad value in numeric range: {token.text}")
        op: str = token.value
        if op not in ("<", "<="):
            raise barf(f"Bad numeric range operator: {op}")
        token = self._next()
        if token.kind not in NUMERIC_KINDS:
            raise barf(f"Value of {op} must be numeric")
        top_text = token.text
        if self._next().kind != END_ARRAY:
            raise barf("Too many terms in numeric range expression")
        bottom, top = comparable(bottom_text), comparable(top_text)
        if bottom >= top:
            raise barf("Bottom must be less than top")
        return ("range", bottom, open_bottom, top, op == "<")

    def _anything_but(self) -> Spec:
        kind = "values"
        token = self._next()
        if token.kind == START_OBJECT:
            inner = self._next()
            if inner.kind != FIELD_NAME:
                raise barf("Anything-But expression name not found")
            if inner.value not in ("equals-ignore-case", "prefix", "suffix", "wildcard"):
                raise barf(f"Unsupported anything-but pattern: {inner.value}")
            kind = inner.value
            token = self._next()
        if token.kind not in (START_ARRAY, STRING, INT, FLOAT):
            raise barf("Value of anything-but must be an array or single string/number value.")
        spec = self._anything_but_values(token) if kind == "values" else self._anything_but_set(token, kind)
        self._end("Too many elements in numeric expression")
        if kind != "values":
            self._end("Too many elements in numeric expression")
        return spec

    def _anything_but_values(self, token: Token) -> Spec:
        strings: set[str] = set()
        numbers: set[float] = set()
        if token.kind == STRING:
            strings.add(token.value)
        elif token.kind in NUMERIC_KINDS:
            try:
                numbers.add(comparable(token.text))
            except Invalid as exc:
                raise Invalid(str(exc), parse_error=False) from None
        else:
            while (token := self._next()).kind != END_ARRAY:
                if token.kind == STRING:
                    strings.add(token.value)
                elif token.kind in NUMERIC_KINDS:
                    numbers.add(comparable(token.text))
                else:
                    raise barf("Inside anything but list, start|null|boolean is not supported.")
            if bool(strings) == bool(numbers):
                raise barf(
                    "Inside anything but list, either all values are number or string, "
                    "mixed type is not supported"
                )
        return ("not", frozenset(strings), frozenset(numbers))

    def _anything_but_set(self, token: Token, kind: str) -> Spec:
        values: list[str] = []
        tokens = [token]
        if token.kind == START_ARRAY:
            tokens = []
            while (token := self._next()).kind != END_ARRAY:
                tokens.append(token)
                self._check_anything_but_member(token, kind)
        for token in tokens:
            self._check_anything_but_member(token, kind)
            values.append(token.value)
        if kind == "prefix":
            return ("not_prefix", tuple(values))
        if kind == "suffix":
            return ("not_suffix", tuple(values))
        if kind == "equals-ignore-case":
            return ("not_eic", frozenset(v.lower() for v in values))
        regexes = tuple(wildcard_regex(parse_wildcard(v)) for v in values)
        return ("not_wildcard", regexes)

    @staticmethod
    def _check_anything_but_member(token: Token, kind: str) -> None:
        if token.kind != STRING:
            if kind == "equals-ignore-case":
                raise barf(
                    "Inside anything-but/equals-ignore-case list, "
                    "number|start|null|boolean is not supported."
                )
            if kind == "wildcard":
                raise barf("wildcard match pattern must be a string")
            raise barf("prefix/suffix match pattern must be a string")
        if kind in ("prefix", "suffix") and token.value == "":
            raise barf("Null prefix/suffix not allowed")


def compile_branches(tokens: Callable[[], Tokens]) -> list[Branch]:
    """The pattern's branches, read from a fresh token stream (twice, when AWS reads twice).

    Raises:
        Invalid: the pattern is not valid; the message is AWS's reason.
    """
    compiler = _Compiler(tokens())
    try:
        return compiler.compile()
    except Invalid as exc:
        if not (exc.parse_error and compiler.saw_or):
            raise
    # AWS compiles a rule that its $or-aware parser refuses once more with its
    # older parser, to which "$or" is an ordinary field name; what that one
    # says, success or error, is the answer. So {"$or": {"a": ["1"]}} is a
    # pattern on the path "$or.a", and a one-object "$or" list fails with the
    # older parser's complaint about its contents.
    return _Compiler(tokens(), with_or=False).compile()


def check_wildcard_complexity(branches: list[Branch]) -> None:
    """Refuse a pattern with a field whose wildcards AWS finds too complex."""
    by_path: dict[str, set[Wildcard]] = {}
    for branch in branches:
        for path, specs in branch.items():
            for spec in specs:
                if spec[0] == "wildcard":
                    by_path.setdefault(path, set()).add(spec[1])
    for values in by_path.values():
        if wildcard_complexity(list(values), MAX_WILDCARD_COMPLEXITY) > MAX_WILDCARD_COMPLEXITY:
            raise barf(TOO_COMPLEX)

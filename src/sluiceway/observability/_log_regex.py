"""CloudWatch Logs' ``%regex%``: the subset AWS accepts, matched in time linear in the message.

AWS ("Supported regular expressions (regex) syntax") allows letters, digits, the symbols
``: _ # = @ / ; , -``, the operators ``^ $ ? [ ] { } | \\ * + .``, and nothing else: no ``(``
or ``)`` (no subpatterns), no ``!``, no multi-byte characters. Without groups every such
expression is a sequence of quantified character tests per ``|`` branch, so it is matched here
by simulating its automaton over the message (each character steps a set of positions in the
sequence), never by backtracking: a message of n characters costs O(n × the pattern's size)
whatever the pattern, where Python's ``re`` can take exponential time (``a*a*a*b``-like
patterns, which the subset still allows, are polynomial there). A user's pattern must not be
able to hold the process: Python's ``re`` keeps the GIL while it matches.

A quantifier after a quantifier (``a**``, ``a+*``) is refused; a ``?`` after one is the lazy
form, which changes what a match spans, never whether there is one.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["LogRegex", "RegexSyntaxError", "compile_regex"]


class RegexSyntaxError(ValueError):
    """The expression is outside the subset CloudWatch Logs accepts."""


_ALLOWED: Final = frozenset(string.ascii_letters + string.digits + ":_#=@/;,-" + "^$?[]{}|\\*+." + " ")
"""AWS's list, plus the space: its documentation lists no space, yet its examples of
space-delimited conditions (``request = %GET /index%``) hold one."""
_MAX_STATES: Final = 1024
"""The largest automaton a pattern may make (``x{n,m}`` makes m states): keeps matching linear
in the message with a small constant."""
_MAX_CACHE: Final = 4096

CharTest = Callable[[str], bool]
Assertion = Callable[[str, int], bool]


@dataclass(frozen=True)
class _State:
    """One position of a branch: a character test taken once, optionally, or any number of times;
    or an assertion about where in the message the match is (``^``, ``$``, ``\\b``)."""

    kind: str
    """``one``, ``opt``, ``star`` or ``assert``."""
    test: CharTest | None = None
    assertion: Assertion | None = None


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _space(char: str) -> bool:
    return char.isspace()


def _digit(char: str) -> bool:
    return char.isdecimal()


_CLASSES: Final[dict[str, CharTest]] = {
    "d": _digit,
    "D": lambda c: not _digit(c),
    "w": _word,
    "W": lambda c: not _word(c),
    "s": _space,
    "S": lambda c: not _space(c),
}
_CONTROL: Final = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}


def _at_word_boundary(text: str, at: int) -> bool:
    before = at > 0 and _word(text[at - 1])
    after = at < len(text) and _word(text[at])
    return before != after


_ASSERTIONS: Final[dict[str, Assertion]] = {
    "^": lambda text, at: at == 0,
    # As Python's ``$``: the end, or just before a final newline.
    "$": lambda text, at: at == len(text) or (at == len(text) - 1 and text[at] == "\n"),
    "A": lambda text, at: at == 0,
    "Z": lambda text, at: at == len(text),
    "b": _at_word_boundary,
    "B": lambda text, at: not _at_word_boundary(text, at),
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def branches(self) -> list[list[_State]]:
        found = [self.branch()]
        while self.i < len(self.text):  # branch() stops only at "|"
            self.i += 1
            found.append(self.branch())
        return found

    def branch(self) -> list[_State]:
        states: list[_State] = []
        while self.i < len(self.text) and self.text[self.i] != "|":
            atom = self.atom()
            if isinstance(atom, _State):
                if self._quantifier_at() is not None:
                    raise RegexSyntaxError(f"nothing to repeat at position {self.i}")
                states.append(atom)
                continue
            bounds = self._quantifier_at()
            if bounds is None:
                states.append(_State("one", atom))
                continue
            least, most, length = bounds
            self.i += length
            if self.i < len(self.text) and self.text[self.i] == "?":
                self.i += 1  # lazy: the same language
            if self._quantifier_at() is not None:
                raise RegexSyntaxError(f"multiple repeat at position {self.i}")
            states.extend([_State("one", atom)] * least)
            if most is None:
                states.append(_State("star", atom))
            else:
                states.extend([_State("opt", atom)] * (most - least))
            if len(states) > _MAX_STATES:
                raise RegexSyntaxError("the expression is too large")
        return states

    def _quantifier_at(self) -> tuple[int, int | None, int] | None:
        """``(least, most, length)`` of the quantifier at the cursor (most None: unbounded)."""
        if self.i >= len(self.text):
            return None
        char = self.text[self.i]
        if char == "*":
            return 0, None, 1
        if char == "+":
            return 1, None, 1
        if char == "?":
            return 0, 1, 1
        if char != "{":
            return None
        close = self.text.find("}", self.i)
        if close < 0:
            return None
        inner = self.text[self.i + 1 : close]
        low, comma, high = inner.partition(",")
        if not (low.isdigit() or (comma and not low)) or not (high.isdigit() or not high) or not (low or high):
            return None  # not a repeat: "{" is a literal, as in Python
        least = int(low) if low else 0
        most = (int(high) if high else None) if comma else least
        if most is not None and most < least:
            raise RegexSyntaxError(f"min repeat greater than max repeat at position {self.i}")
        if max(least, most or 0) > _MAX_STATES:
            raise RegexSyntaxError("the expression is too large")
        return least, most, close - self.i + 1

    def atom(self) -> CharTest | _State:
        char = self.text[self.i]
        self.i += 1
        if char in "*+?" or (char == "{" and self._repeat_back()):
            raise RegexSyntaxError(f"nothing to repeat at position {self.i - 1}")
        if char == ".":
            return lambda c: c != "\n"
        if char in "^$":
            return _State("assert", assertion=_ASSERTIONS[char])
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape(in_class=False)
        return char.__eq__

    def _repeat_back(self) -> bool:
        self.i -= 1
        try:
            return self._quantifier_at() is not None
        finally:
            self.i += 1

    def escape(self, *, in_class: bool) -> CharTest | _State:
        if self.i >= len(self.text):
            raise RegexSyntaxError("bad escape (end of pattern)")
        char = self.text[self.i]
        self.i += 1
        if char in _CLASSES:
            return _CLASSES[char]
        if char in _CONTROL:
            return _CONTROL[char].__eq__
        if not in_class and char in _ASSERTIONS and char not in "^$":
            return _State("assert", assertion=_ASSERTIONS[char])
        if char.isalnum():
            raise RegexSyntaxError(f"bad escape \\{char} at position {self.i - 2}")
        return char.__eq__

    def char_class(self) -> CharTest:
        negated = self.i < len(self.text) and self.text[self.i] == "^"
        if negated:
            self.i += 1
        tests: list[CharTest] = []
        first = True
        while True:
            if self.i >= len(self.text):
                raise RegexSyntaxError("unterminated character set")
            char = self.text[self.i]
            if char == "]" and not first:
                self.i += 1
                break
            first = False
            start = self._class_char()
            if isinstance(start, str) and self.text[self.i : self.i + 1] == "-" and self.text[self.i + 1 : self.i + 2] not in ("]", ""):
                self.i += 1
                end = self._class_char()
                if not isinstance(end, str) or end < start:
                    raise RegexSyntaxError(f"bad character range at position {self.i}")
                tests.append(_between(start, end))
            elif isinstance(start, str):
                tests.append(start.__eq__)
            else:
                tests.append(start)
        if negated:
            return lambda c: not any(test(c) for test in tests)
        return lambda c: any(test(c) for test in tests)

    def _class_char(self) -> str | CharTest:
        """One member of a class: a character (which may start a range) or a class escape."""
        char = self.text[self.i]
        self.i += 1
        if char != "\\":
            return char
        if self.i >= len(self.text):
            raise RegexSyntaxError("bad escape (end of pattern)")
        escaped = self.text[self.i]
        if escaped in _CLASSES:
            self.i += 1
            return _CLASSES[escaped]
        if escaped in _CONTROL:
            self.i += 1
            return _CONTROL[escaped]
        if escaped.isalnum():
            raise RegexSyntaxError(f"bad escape \\{escaped} at position {self.i - 1}")
        self.i += 1
        return escaped


def _between(low: str, high: str) -> CharTest:
    return lambda char: low <= char <= high


class LogRegex:
    """A compiled ``%regex%``: :meth:`search` says whether it matches anywhere in a message."""

    def __init__(self, text: str, branches: list[list[_State]]) -> None:
        self.text = text
        self.states = sum(len(branch) for branch in branches)
        """The automaton's size: a search costs at most about this many steps a character."""
        self._branches = [_Branch(tuple(branch)) for branch in branches]

    def search(self, message: str) -> bool:
        return self.search_counting(message)[0]

    def search_counting(self, message: str) -> tuple[bool, int]:
        """Whether the expression matches in ``message``, and the work that took (states stepped)."""
        steps = 0
        for branch in self._branches:
            found, taken = branch.search(message)
            steps += taken
            if found:
                return True, steps
        return False, steps


class _Branch:
    """One ``|`` alternative, simulated as a set of states; its transitions are cached (a lazy DFA)."""

    def __init__(self, states: tuple[_State, ...]) -> None:
        self.states = states
        self.anchored = bool(states) and states[0].kind == "assert" and states[0].assertion is _ASSERTIONS["^"]
        self.plain = all(state.kind != "assert" for state in states)
        """Without assertions, where a state set goes on a character does not depend on the position."""
        self._cache: dict[tuple[frozenset[int], str], tuple[frozenset[int], bool]] = {}

    def search(self, message: str) -> tuple[bool, int]:
        current, done = _closure(self.states, frozenset({0}), message, 0)
        if done:
            return True, 1
        steps = 0
        for at, char in enumerate(message):
            steps += 1
            key = (current, char)
            entry = self._cache.get(key)
            if entry is None:
                steps += len(current)
                moved = _step(self.states, current, char)
                if not self.anchored:
                    moved.add(0)  # a match may start at any character
                entry = _closure(self.states, frozenset(moved), message, at + 1) if self.plain else (frozenset(moved), False)
                if len(self._cache) >= _MAX_CACHE:
                    self._cache.clear()
                self._cache[key] = entry
            if self.plain:
                current, done = entry
            else:
                current, done = _closure(self.states, entry[0], message, at + 1)
                steps += len(current)
            if done:
                return True, steps
            if not current:
                return False, steps
        return False, steps


def _step(branch: tuple[_State, ...], states: frozenset[int], char: str) -> set[int]:
    end = len(branch)
    moved: set[int] = set()
    for position in states:
        if position == end:
            continue
        state = branch[position]
        if state.test is None or not state.test(char):
            continue
        moved.add(position if state.kind == "star" else position + 1)
    return moved


def _closure(branch: tuple[_State, ...], states: frozenset[int], message: str, at: int) -> tuple[frozenset[int], bool]:
    """``states`` and every state reached from them without reading; whether the branch's end is among them."""
    end = len(branch)
    found = set(states)
    pending = list(states)
    while pending:
        position = pending.pop()
        if position == end:
            return frozenset(found), True
        state = branch[position]
        passes = state.kind in ("opt", "star") or (state.kind == "assert" and state.assertion is not None and state.assertion(message, at))
        if passes and position + 1 not in found:
            found.add(position + 1)
            pending.append(position + 1)
    return frozenset(found), False


def compile_regex(text: str) -> LogRegex:
    """Compile the expression between a pattern's ``%`` signs.

    Raises:
        RegexSyntaxError: a character AWS does not accept, or an expression that is not valid.
    """
    for char in text:
        if char not in _ALLOWED:
            raise RegexSyntaxError(f"the character {char!r} is not supported in a regex")
    return LogRegex(text, _Parser(text).branches())

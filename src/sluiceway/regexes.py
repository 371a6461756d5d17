"""Regular expressions that cannot hang the engine or the event bus.

Patterns come from definitions and targets (JSONata regex literals, JSONPath filters' ``=~``)
and are matched against execution data and events, so a pattern such as ``^(a|a)*$`` meeting
a long run of ``a`` must end. The standard library's ``re`` cannot be interrupted; the ``regex`` module,
compatible with it in its default (V0) mode, takes a ``timeout`` on every matching call. A
match that runs past :data:`MATCH_TIME_LIMIT_S` raises :class:`RegexTimeoutError`.

This is the engine's one wall-clock bound: no result depends on it except that a runaway
match fails instead of running for hours. The module sits at the base of the package (it
imports nothing from it) so that :mod:`sluiceway.jsonpath`, which EventBridge shares with the
ASL engine, can use it without depending on :mod:`sluiceway.asl`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Final

import regex  # type: ignore[import-untyped]

__all__ = ["MATCH_TIME_LIMIT_S", "BoundedPattern", "InvalidRegexError", "RegexTimeoutError", "compile"]

MATCH_TIME_LIMIT_S: Final = 1.0
"""How long one matching call may run. Sane patterns on the largest payload (256 KiB) take
milliseconds; a catastrophically backtracking one would take years."""

# A group reference in a replacement template, or any other escape (skipped so that an escaped
# backslash before "g<1>" is not read as a reference).
_TEMPLATE_ESCAPE: Final = re.compile(r"\\(?:g<(\d+)>|.)", re.DOTALL)


class InvalidRegexError(ValueError):
    """The pattern does not compile."""


class RegexTimeoutError(Exception):
    """A matching call ran past its time limit."""

    def __init__(self, pattern: str, seconds: float) -> None:
        super().__init__(f"The regular expression /{pattern}/ did not finish within {seconds:g} seconds")
        self.pattern = pattern
        self.seconds = seconds


def compile(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False, dotall: bool = False, verbose: bool = False
) -> BoundedPattern:  # noqa: A001
    """Compile ``pattern`` (``re`` syntax).

    Raises:
        InvalidRegexError: with the compiler's message, when the pattern is not valid.
    """
    flags = regex.V0
    if ignore_case:
        flags |= regex.IGNORECASE
    if multiline:
        flags |= regex.MULTILINE
    if dotall:
        flags |= regex.DOTALL
    if verbose:
        flags |= regex.VERBOSE
    try:
        compiled = regex.compile(pattern, flags)
    except (regex.error, ValueError, OverflowError) as exc:
        raise InvalidRegexError(str(exc)) from None
    return BoundedPattern(pattern, compiled)


class BoundedPattern:
    """A compiled pattern with ``re.Pattern``'s matching methods, each bounded in time.

    It has the methods jsonata-python calls on a pattern from its pluggable regex engine
    (``search``, ``finditer``, ``sub``, ``split``) and ``fullmatch`` for JSONPath filters.
    """

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str, compiled: Any) -> None:
        self.pattern = pattern
        self._compiled = compiled

    def __repr__(self) -> str:
        return f"BoundedPattern({self.pattern!r})"

    @property
    def groups(self) -> int:
        return int(self._compiled.groups)

    def search(self, string: str) -> Any:
        return self._bounded(self._compiled.search, string)

    def fullmatch(self, string: str) -> Any:
        return self._bounded(self._compiled.fullmatch, string)

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        return list(self._bounded(self._compiled.split, string, maxsplit))

    def finditer(self, string: str) -> Iterator[Any]:
        return self._guard(self._compiled.finditer(string, timeout=MATCH_TIME_LIMIT_S))

    def sub(self, repl: str | Callable[[Any], str], string: str, count: int = 0) -> str:
        if isinstance(repl, str):
            self._check_template(repl)
            return str(self._bounded(self._compiled.sub, repl, string, count))
        # Built from finditer rather than regex's own sub, whose time limit would also count
        # the time spent in ``repl`` (a JSONata function, which has its own bound).
        pieces: list[str] = []
        end = 0
        for number, match in enumerate(self.finditer(string), start=1):
            pieces.append(string[end : match.start()])
            pieces.append(repl(match))
            end = match.end()
            if number == count:
                break
        pieces.append(string[end:])
        return "".join(pieces)

    def _bounded(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args, timeout=MATCH_TIME_LIMIT_S)
        except TimeoutError:
            raise RegexTimeoutError(self.pattern, MATCH_TIME_LIMIT_S) from None

    def _guard(self, matches: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from matches
        except TimeoutError:
            raise RegexTimeoutError(self.pattern, MATCH_TIME_LIMIT_S) from None

    def _check_template(self, template: str) -> None:
        # jsonata-python reads "invalid group reference <n> at position <p>" (the re module's
        # words) to treat JSONata's "$12" as group 1 and a "2" when there is no group 12; the
        # regex module's message leaves the number out, so the check is made here, in re's words.
        for escape in _TEMPLATE_ESCAPE.finditer(template):
            number = escape.group(1)
            if number is not None and int(number) > self.groups:
                raise re.error(f"invalid group reference {number} at position {escape.start(1)}")

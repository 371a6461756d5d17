"""A compiled pattern, and the functions that make and use one."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sluiceway.errors import EventPatternError

from ._compiler import Spec, check_wildcard_complexity, compile_branches
from ._errors import PREFIX, Invalid
from ._matcher import Fields, branch_matches, field_test, flatten, prefixes_of
from ._tokens import TextTokens, Tokens, ValueTokens

__all__ = ["CompiledBranch", "Pattern", "compile_pattern", "matches"]


def _field_cost(path: str, specs: Sequence[Spec]) -> tuple[int, str]:
    # Cheap, selective tests first; exists-only and anything-but last.
    kinds = {spec[0] for spec in specs}
    if kinds <= {"str", "num", "lit"}:
        return (0, path)
    if "exists" in kinds or any(k.startswith("not") for k in kinds):
        return (3, path)
    if kinds & {"wildcard", "cidr"}:
        return (2, path)
    return (1, path)


@dataclass(frozen=True, eq=False, slots=True)
class CompiledBranch:
    """One ``$or`` branch, compiled."""

    fields: Fields
    """The branch's fields as tests, cheapest and most selective first."""
    specs: Mapping[str, tuple[Spec, ...]]
    """The alternatives of each path, as compiled (what a RuleIndex files a branch under)."""


@dataclass(frozen=True, eq=False)
class Pattern:
    """A compiled, immutable event pattern. Build it with :func:`compile_pattern`."""

    source: str
    """The pattern as JSON text (as given, or serialised from the mapping given)."""
    # Read by RuleIndex (the package's other module that needs a pattern's insides).
    _branches: tuple[CompiledBranch, ...] = field(repr=False)
    _prefixes: frozenset[str] = field(repr=False)

    @property
    def paths(self) -> frozenset[str]:
        """Every dotted event path the pattern looks at."""
        return frozenset(p for b in self._branches for p in b.specs)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` (a parsed JSON object) matches this pattern.

        Args:
            event: the whole event, e.g. EventBridge's envelope with ``detail``.

        Returns:
            True if any ``$or`` branch of the pattern matches.
        """
        if not isinstance(event, Mapping):
            return False
        values, members = flatten(event, self._prefixes)
        return any(branch_matches(b.fields, values, members) for b in self._branches)


def compile_pattern(pattern: str | Mapping[str, Any]) -> Pattern:
    """Parse and validate an EventBridge event pattern.

    Args:
        pattern: the pattern as JSON text (needed for AWS's answers to invalid
            JSON and duplicate keys, where the last duplicate wins) or as a mapping.

    Returns:
        The compiled pattern.

    Raises:
        EventPatternError: the pattern is invalid; the message is AWS's,
            ``Event pattern is not valid. Reason: ...``.
        TypeError: a mapping holds something that is not a JSON value.
    """
    tokens: Callable[[], Tokens]
    if isinstance(pattern, str):
        text = pattern
        tokens = lambda: TextTokens(text)  # noqa: E731
        source = pattern
    elif isinstance(pattern, Mapping):
        value = pattern
        tokens = lambda: ValueTokens(value)  # noqa: E731
        source = ""
    else:
        kind = type(pattern).__name__
        raise TypeError(f"event pattern must be JSON text or a mapping, got {kind}")
    try:
        branches = compile_branches(tokens)
        check_wildcard_complexity(branches)
    except Invalid as exc:
        raise EventPatternError(PREFIX + str(exc)) from None
    if not source:
        source = json.dumps(pattern, separators=(",", ":"), default=str)
    compiled = []
    for branch in branches:
        ordered = sorted(branch.items(), key=lambda item: _field_cost(*item))
        fields = tuple((-1, path, *field_test(specs)) for path, specs in ordered)
        compiled.append(CompiledBranch(fields, {p: tuple(s) for p, s in branch.items()}))
    prefixes = prefixes_of([p for branch in branches for p in branch])
    return Pattern(source, tuple(compiled), prefixes)


def matches(pattern: str | Mapping[str, Any] | Pattern, event: Mapping[str, Any]) -> bool:
    """Compile ``pattern`` (unless it already is a :class:`Pattern`) and match ``event``.

    Raises:
        EventPatternError: the pattern is invalid.
    """
    compiled = pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)
    return compiled.matches(event)

"""Wildcard values (``{"wildcard": "a*b"}``): parsing them, and how complex a field's set of them is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, TypeAlias

from ._errors import barf

__all__ = [
    "MAX_WILDCARD_COMPLEXITY",
    "STAR",
    "TOO_COMPLEX",
    "Wildcard",
    "parse_wildcard",
    "wildcard_complexity",
    "wildcard_regex",
]

STAR: Final = None
"""A wildcard ``*`` in a parsed wildcard value (literal characters are strings)."""
Wildcard: TypeAlias = tuple[str | None, ...]
"""A parsed wildcard value: literal characters, and STAR where ``*`` stands."""

# EventBridge rejects rules whose wildcards could keep too many partial
# matches alive at once. Its threshold is not published; with the complexity
# measure below (wildcard rule prefixes alive at once, as event-ruler's
# MachineComplexityEvaluator counts them) AWS accepts 9 and refuses 11 in the
# cases we have recordings and reports of, so anything above 10 is refused.
MAX_WILDCARD_COMPLEXITY: Final = 10
TOO_COMPLEX: Final = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)


def parse_wildcard(text: str) -> Wildcard:
    """The wildcard value as literal characters and STAR, or AWS's complaint.

    Positions in messages count UTF-8 bytes of the value with its JSON quotes,
    as AWS counts them.
    """
    out: list[str | None] = []
    position = 1  # the opening quote is byte 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "*":
            if i + 1 < n and text[i + 1] == "*":
                raise barf(f"Consecutive wildcard characters at pos {position}")
            out.append(STAR)
        elif ch == "\\":
            if i + 1 < n and text[i + 1] in "*\\":
                out.append(text[i + 1])
                i += 2
                position += 2
                continue
            raise barf(f"Invalid escape character at pos {position}")
        else:
            out.append(ch)
        position += len(ch.encode("utf-8", "surrogatepass"))
        i += 1
    return tuple(out)


def wildcard_regex(parsed: Wildcard) -> re.Pattern[str]:
    """A regular expression that matches what the whole wildcard value matches."""
    body = "".join(".*" if part is STAR else re.escape(part) for part in parsed)
    return re.compile(body, re.DOTALL)


def wildcard_complexity(values: Sequence[Wildcard], limit: int) -> int:
    """How many wildcard-pattern prefixes one input can keep alive at once, at most.

    Counted over a trie of one field's wildcard values; counting stops as soon
    as it passes ``limit``.
    """
    children: dict[tuple[int, str | None], int] = {}
    weight: list[int] = [0]
    is_star: list[bool] = [False]
    for value in set(values):
        node = 0
        weight[0] += 1
        for part in value:
            child = children.get((node, part))
            if child is None:
                child = len(weight)
                children[(node, part)] = child
                weight.append(0)
                is_star.append(part is STAR)
            weight[child] += 1
            node = child
    alphabet = {part for value in values for part in value if part is not STAR}
    alphabet.add("\x00")  # stands for every character no pattern names

    def closure(nodes: set[int]) -> frozenset[int]:
        stack = list(nodes)
        while stack:
            star = children.get((stack.pop(), STAR))
            if star is not None and star not in nodes:
                nodes.add(star)
                stack.append(star)
        return frozenset(nodes)

    start = closure({0})
    seen = {start}
    queue = [start]
    best = 0
    while queue:
        current = queue.pop()
        for ch in alphabet:
            nxt: set[int] = set()
            for node in current:
                if is_star[node]:
                    nxt.add(node)
                child = children.get((node, ch))
                if child is not None:
                    nxt.add(child)
            if not nxt:
                continue
            state = closure(nxt)
            best = max(best, sum(weight[n] for n in state))
            if best > limit:
                return best
            if state not in seen:
                if len(seen) > 20_000:
                    return limit + 1  # a machine this large is too complex whatever it holds
                seen.add(state)
                queue.append(state)
    return best



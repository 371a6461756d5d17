"""How deep a JSON text nests, told without parsing it: AWS's Java services refuse what nests too deep.

A document nested deeper than :data:`MAX_JSON_NESTING` is refused before ``json.loads`` sees it,
so an answer never depends on this process's recursion limit (nor costs a traceback).
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_JSON_NESTING", "nesting"]

MAX_JSON_NESTING: Final = 1000
"""Arrays and objects nested at most: Jackson's default limit (AWS's Java services parse with it)."""


def nesting(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped), without parsing it."""
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest

"""How the pattern compiler refuses a pattern: AWS's reason text, and whether AWS would try again."""

from __future__ import annotations

from typing import Final

__all__ = ["PREFIX", "Invalid", "barf"]

PREFIX: Final = "Event pattern is not valid. Reason: "
"""What AWS puts before every reason (:class:`~sluiceway.errors.EventPatternError`'s message)."""


class Invalid(Exception):
    """A pattern problem; the message is AWS's reason text.

    ``parse_error`` is false for the few checks AWS makes outside its JSON
    rule parser (CIDR blocks, a lone anything-but number, limits): those are
    final, where a parser error sends AWS back to read ``$or`` as a field name.
    """

    def __init__(self, reason: str, *, parse_error: bool = True) -> None:
        super().__init__(reason)
        self.parse_error = parse_error


def barf(reason: str) -> Invalid:
    """A parser error with AWS's ``reason`` (named after event-ruler's own helper)."""
    return Invalid(reason)

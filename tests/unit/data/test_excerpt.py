"""File content in messages: short, escaped excerpts."""

from __future__ import annotations

import pytest

from sluiceway.data.excerpt import MAX_EXCERPT_CHARS, excerpt, printable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain, é 中", "plain, é 中"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("a\r\nb\tc\x00", "a\\r\\nb\\tc\\x00"),
        ("\u202eevil\u200b", "\\u202eevil\\u200b"),
        ("\x9b2J", "\\x9b2J"),  # the one-byte CSI of C1 controls
        ("back\\x1b", "back\\\\x1b"),  # a written-out escape cannot pass for an escaped one
        (b"ok\xff\xfe\x1b", "ok\\xff\\xfe\\x1b"),
    ],
)
def test_escapes_like_repr(text: str | bytes, expected: str) -> None:
    assert excerpt(text) == expected


def test_cut_after_the_limit_without_splitting_an_escape() -> None:
    assert excerpt("x" * 100) == "x" * MAX_EXCERPT_CHARS + "…"
    assert excerpt("x" * 58 + "\x1b") == "x" * 58 + "…"
    assert excerpt(b"y" * 10_000, limit=5) == "yyyyy…"
    assert excerpt("x" * MAX_EXCERPT_CHARS) == "x" * MAX_EXCERPT_CHARS


def test_printable_keeps_what_it_is_told_and_cuts_nothing() -> None:
    assert printable("a\nb\x1b" + "z" * 100, keep="\n") == "a\nb\\x1b" + "z" * 100

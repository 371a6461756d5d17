"""CloudWatch Logs filter patterns over messages."""

from __future__ import annotations

import json

import pytest

from sluiceway.endpoint.services._logs_filter import FilterPatternError, compile_filter

DOC = json.dumps({"level": "ERROR", "latency": 250, "ok": False, "gone": None, "user": {"id": "u-17"}, "tags": ["a", "b"]})


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", "anything", True),
        ("ERROR", "an ERROR here", True),
        ("ERROR", "an error here", False),  # case sensitive
        ("ERROR disk", "ERROR: disk full", True),
        ("ERROR disk", "ERROR: memory", False),
        ('"disk full"', "ERROR: disk full", True),
        ('"disk  full"', "ERROR: disk full", False),
        ("?WARN ?ERROR", "WARN x", True),
        ("?WARN ?ERROR", "INFO x", False),
        ("ERROR -retry", "ERROR will retry", False),
        ("ERROR -retry", "ERROR final", True),
        ("%err[0-9]+%", "got err42", True),
        ('{ $.level = "ERROR" }', DOC, True),
        ('{ $.level != "ERROR" }', DOC, False),
        ("{ $.latency >= 250 && $.user.id = u-* }", DOC, True),
        ("{ $.latency < 100 || $.tags[1] = b }", DOC, True),
        ("{ ($.latency < 100) || ($.level = INFO) }", DOC, False),
        ("{ $.ok IS FALSE }", DOC, True),
        ("{ $.gone IS NULL }", DOC, True),
        ("{ $.missing NOT EXISTS }", DOC, True),
        ("{ $.level NOT EXISTS }", DOC, False),
        ('{ $.level = "ERROR" }', "not json at all", False),
        ('{ $.level = "ERROR" }', '[ERROR]\t2024-01-01T00:00:00.000Z\tid\t{"level": "ERROR"}', True),
    ],
)
def test_patterns(pattern: str, message: str, expected: bool) -> None:
    assert compile_filter(pattern)(message) is expected


@pytest.mark.parametrize("pattern", ["{ $.a = ", "{ $.a ~ 1 }", '"unclosed', "%(%"])
def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError, match="Invalid filter pattern"):
        compile_filter(pattern)

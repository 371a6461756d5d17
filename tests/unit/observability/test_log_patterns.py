"""Filter patterns' matches and the values they yield (metric filters' MetricValue and dimensions)."""

from __future__ import annotations

import json

import pytest

from sluiceway.observability.log_patterns import FilterPatternError, compile_pattern, is_selector

APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534'


def test_a_space_delimited_pattern_names_the_fields_without_their_brackets_and_quotes() -> None:
    pattern = compile_pattern("[ip, user, username, timestamp, request, status_code, bytes]")
    assert pattern.kind == "delimited"
    assert pattern.names == ("ip", "user", "username", "timestamp", "request", "status_code", "bytes")
    matched = pattern.match(APACHE)
    assert matched is not None
    assert dict(matched.fields) == {
        "$ip": "127.0.0.1",
        "$user": "-",
        "$username": "frank",
        "$timestamp": "10/Oct/2000:13:25:15 -0700",
        "$request": "GET /apache_pb.gif HTTP/1.0",
        "$status_code": "404",
        "$bytes": "1534",
    }
    assert matched.value("$bytes") == "1534"
    assert matched.value("$nope") is None


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ip, user, username, timestamp, request, status_code, bytes]", True),
        ("[ip, user, username, timestamp, request, status_code]", False),  # one field short: no match
        ("[ip, ..., status_code, bytes]", True),
        ("[..., bytes]", True),
        ("[ip, ..., status_code = 4*, bytes]", True),
        ("[ip, ..., status_code = 5*, bytes]", False),
        ("[ip, ..., status_code = 404 || status_code = 410, bytes]", True),
        ("[ip, ..., status_code != 404, bytes]", False),
        ("[ip, ..., status_code >= 400 && status_code < 500, bytes > 1000]", True),
        ("[ip, ..., bytes < 1000]", False),
        ('[ip, user, username, timestamp, request = "*gif*", ...]', True),
        ("[ip, user, username, timestamp, request = %GET /[a-z_]+%, ...]", True),
        ("[ip = 10.*, ...]", False),
    ],
)
def test_space_delimited_conditions(pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(APACHE) is expected


def test_a_json_match_yields_its_fields_as_values() -> None:
    message = "INFO " + json.dumps({"latency": 250, "user": {"id": "u-1"}, "tags": ["a"], "ok": True, "nested": {"a": 1}})
    matched = compile_pattern("{ $.latency > 100 }").match(message)
    assert matched is not None
    assert matched.value("$.latency") == 250
    assert matched.value("$.user.id") == "u-1"
    assert matched.value("$.tags[0]") == "a"
    assert matched.value("$.ok") is True
    assert matched.value("$.nested") is None  # an object is no value
    assert matched.value("$.missing") is None
    assert compile_pattern("{ $.latency > 300 }").match(message) is None


def test_other_patterns_yield_no_fields() -> None:
    for text in ("", "ERROR", "%ERR.R%"):
        matched = compile_pattern(text).match("an ERROR here")
        assert matched is not None
        assert dict(matched.fields) == {}
        assert matched.value("$.x") is None


@pytest.mark.parametrize("pattern", ["[ip, user", "[ip, , user]", "[ip, ip]", "[a > x]", "[a = 1 || b = 2]", "[a ~ 1]"])
def test_invalid_space_delimited_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError, match="Invalid filter pattern"):
        compile_pattern(pattern)


def test_selectors() -> None:
    assert is_selector("$.a")
    assert is_selector("$.a.b[0]")
    assert not is_selector("$a")
    assert not is_selector("$.")
    assert not is_selector("1")

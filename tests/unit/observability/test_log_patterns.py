"""Filter patterns' matches and the values they yield (metric filters' MetricValue and dimensions)."""

from __future__ import annotations

import json
import re

import pytest

from sluiceway.observability._log_regex import compile_regex
from sluiceway.observability.log_patterns import FilterPatternError, _Binder, _delimited, compile_pattern, is_selector

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


# -- bounded work whatever the pattern -----------------------------------------------------


@pytest.mark.parametrize("pattern", ["%(a+)+$%", "%(a|aa)*c%", "%something!%", "%caf\u00e9%", "%a**%", "%a+*%", "%a{2}{3}%", r"%(.)\1%"])
def test_a_regex_outside_cloudwatchs_subset_is_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        compile_pattern(pattern)


def test_at_most_two_regexes_in_a_pattern() -> None:
    assert compile_pattern("[a = %x%, b = %y%, c]").regexes == 2
    with pytest.raises(FilterPatternError, match="at most 2"):
        compile_pattern("[a = %x%, b = %y%, c = %z%]")
    with pytest.raises(FilterPatternError, match="at most 2"):
        compile_pattern("{ $.a = %x% || $.b = %y% || $.c = %z% }")


def test_a_regex_costs_steps_linear_in_the_message() -> None:
    regex = compile_regex("a*a*a*a*a*a*a*a*b")  # Python's re backtracks polynomially here (n^8)
    for length in (100, 1000):
        found, steps = regex.search_counting("a" * length)
        assert not found
        assert steps <= (length + 1) * (regex.states + 2)


def test_several_ellipses_bind_in_work_bounded_by_slots_times_fields() -> None:
    names = [f"f{index}" for index in range(8)]
    slots = _delimited(", ".join(item for name in names for item in ("...", name)) + ", ..., ..., x = zzz", [])
    values = ["w"] * 120
    binder = _Binder(slots, values)
    assert binder.bind() is None
    assert binder.tries <= (len(slots) + 1) * (len(values) + 1)
    assert len(slots) == 2 * len(names) + 2  # consecutive "..." are one


def test_cloudwatch_regex_subset_matches_as_a_regular_expression_does() -> None:
    cases = {
        r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}": ["ip 10.0.0.1 here", "ip 10.0 here"],
        "[Ee]rror|[Ff]ail": ["an error", "FAIL", "it failed"],
        "^ERROR": ["ERROR x", "x ERROR"],
        "done$": ["all done", "done twice"],
        r"\bid=\w+": ["the id=abc", "kid=abc"],
        "x{2,}y": ["xxxy", "xy"],
        "[^a-c]+z": ["dz", "az"],
    }
    for expression, messages in cases.items():
        compiled = compile_regex(expression)
        for message in messages:
            assert compiled.search(message) == (re.search(expression, message) is not None), (expression, message)


def test_and_or_inside_a_quoted_operand_or_a_regex_are_text() -> None:
    quoted = compile_pattern('[a, b = "x && y" || b = "z"]')
    assert quoted.matches('1 "x && y"') and quoted.matches("1 z")
    assert not quoted.matches("1 x")
    # "||" in a regex is its alternation (with an empty alternative here: anything matches).
    assert compile_pattern("[a, b = %p||q% && b != w]").matches("1 x")


def test_a_json_condition_may_be_a_regex() -> None:
    pattern = compile_pattern("{ $.route = %^/orders/[0-9]+$% }")
    assert pattern.matches('{"route": "/orders/12"}')
    assert not pattern.matches('{"route": "/orders/x"}')


def test_numbers_are_json_numbers_and_nan_or_infinity_is_no_json() -> None:
    assert compile_pattern("{ $.a = 1000 }").matches('{"a": 1000}')
    assert not compile_pattern("{ $.a = 1_000 }").matches('{"a": 1000}')  # text, as AWS reads it
    assert not compile_pattern("{ $.a != 5 }").matches('{"a": NaN}')
    assert not compile_pattern("{ $.a = * }").matches('{"a": Infinity}')
    with pytest.raises(FilterPatternError):
        compile_pattern("{ $.a > inf }")  # inf is no number: > compares numbers only


def test_an_empty_space_delimited_pattern_is_taken_and_matches_every_event() -> None:
    # CloudWatch Logs takes "[]" (a subscription filter recorded with it); nothing constrains the event.
    pattern = compile_pattern("[]")
    assert pattern.matches("GET /orders 200") and pattern.matches("")

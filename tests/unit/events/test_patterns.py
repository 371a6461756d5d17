"""The EventBridge pattern language, operator by operator, with AWS's edge cases."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluiceway.errors import EventPatternError
from sluiceway.events.patterns import Pattern, RuleIndex, compile_pattern, matches

PREFIX = "Event pattern is not valid. Reason: "


def reason(pattern: str | dict[str, Any]) -> str:
    with pytest.raises(EventPatternError) as info:
        compile_pattern(pattern)
    message = str(info.value)
    assert message.startswith(PREFIX)
    return message[len(PREFIX) :]


def detail(**fields: Any) -> dict[str, Any]:
    return {"source": "test", "detail-type": "t", "detail": fields}


# -- exact values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "event_value", "expected"),
    [
        (["a"], "a", True),
        (["a"], "A", False),
        (["a", "b"], "b", True),
        ([""], "", True),
        ([""], None, False),
        ([5], 5, True),
        ([5], 5.0, True),  # numbers match by value
        ([3.018e2], 301.8, True),
        ([5], "5", False),  # a number never equals a string
        (["5"], 5, False),
        ([True], True, True),
        ([True], 1, False),
        ([1], True, False),
        ([False], False, True),
        ([False], 0, False),
        ([None], None, True),
        ([None], "null", False),
        (["null"], None, False),
        ([123456789012], 123456789012, True),  # beyond the numeric range: still exact
    ],
)
def test_exact_values(values: list[Any], event_value: Any, expected: bool) -> None:
    assert matches({"detail": {"v": values}}, detail(v=event_value)) is expected


def test_missing_field_never_matches_an_exact_value() -> None:
    assert not matches({"detail": {"v": [None]}}, detail())


def test_event_arrays_match_when_any_element_matches() -> None:
    pattern = {"resources": ["arn:b", "arn:c"]}
    assert matches(pattern, {"resources": ["arn:a", "arn:c"]})
    assert not matches(pattern, {"resources": ["arn:a"]})
    assert not matches(pattern, {"resources": []})
    assert matches({"v": [3]}, {"v": [[1, 2], [3]]})  # nested arrays flatten too


def test_all_fields_must_match_and_nesting_follows_the_event() -> None:
    pattern = {"source": ["s"], "detail": {"a": {"b": ["x"]}}}
    assert matches(pattern, {"source": "s", "detail": {"a": {"b": "x"}, "c": 1}})
    assert not matches(pattern, {"source": "s", "detail": {"a": {"b": "y"}}})
    assert not matches(pattern, {"source": "other", "detail": {"a": {"b": "x"}}})
    assert not matches(pattern, {"source": "s", "detail": {"b": "x"}})


def test_dots_in_keys_join_paths_on_both_sides() -> None:
    # AWS joins keys with "." before matching, so these are all one path.
    assert matches({"detail": {"state.status": ["on"]}}, detail(state={"status": "on"}))
    assert matches({"detail": {"state": {"status": ["on"]}}}, detail(**{"state.status": "on"}))
    assert not matches(
        {"detail": {"state": {"status": ["on"]}}}, detail(**{"state.status": {"status": "on"}})
    )


def test_duplicate_keys_last_one_wins_and_objects_merge() -> None:
    text = (
        '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}'
    )
    assert matches(text, detail(location="eu-central-1"))  # only the second rule applies
    merged = '{"detail": {"a": ["1"]}, "detail": {"b": ["2"]}}'
    assert matches(merged, detail(a="1", b="2"))
    assert not matches(merged, detail(a="1"))


def test_array_consistency_for_objects_in_arrays() -> None:
    event = {
        "employees": [
            {"firstName": "John", "lastName": "Doe"},
            {"firstName": "Anna", "lastName": "Smith"},
            {"firstName": "Peter", "lastName": "Jones"},
        ]
    }
    assert matches({"employees": {"firstName": ["Anna"]}}, event)
    assert matches({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, event)
    # Both fields must come from the same element of the array.
    assert not matches({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, event)
    assert matches({"employees": {"firstName": ["Anna", "Peter"], "lastName": ["Jones"]}}, event)


def test_array_consistency_across_nested_arrays() -> None:
    event = {"a": [{"b": [{"c": 1, "d": 2}, {"c": 3, "d": 4}]}, {"b": [{"c": 5, "d": 6}]}], "e": 7}
    assert matches({"a": {"b": {"c": [3], "d": [4]}}, "e": [7]}, event)
    assert not matches({"a": {"b": {"c": [3], "d": [6]}}}, event)
    assert not matches({"a": {"b": {"c": [1], "d": [4]}}}, event)


# -- prefix / suffix / equals-ignore-case ---------------------------------------------------


@pytest.mark.parametrize(
    ("matcher", "value", "expected"),
    [
        ({"prefix": "ab"}, "abc", True),
        ({"prefix": "ab"}, "xabc", False),
        ({"prefix": "ab"}, "AB", False),
        ({"prefix": ""}, "anything", True),
        ({"prefix": ""}, "", True),
        ({"prefix": ""}, 5, False),  # string operators only see strings
        ({"prefix": "1"}, 12, False),
        ({"prefix": {"equals-ignore-case": "EventB"}}, "eventbridge", True),
        ({"prefix": {"equals-ignore-case": "EventB"}}, "xEVENTB", False),
        ({"suffix": ".png"}, "image.png", True),
        ({"suffix": ".png"}, "image.PNG", False),
        ({"suffix": ""}, "x", True),
        ({"suffix": {"equals-ignore-case": ".png"}}, "image.PNG", True),
        ({"suffix": {"equals-ignore-case": ".png"}}, "image.jpg", False),
        ({"equals-ignore-case": "alice"}, "ALICE", True),
        ({"equals-ignore-case": "alice"}, "alicea", False),
        ({"equals-ignore-case": ""}, "", True),
        ({"equals-ignore-case": ""}, "x", False),
        ({"equals-ignore-case": "true"}, True, False),
        ({"exactly": "a*"}, "a*", True),
    ],
)
def test_string_operators(matcher: dict[str, Any], value: Any, expected: bool) -> None:
    assert matches({"detail": {"v": [matcher]}}, detail(v=value)) is expected


@pytest.mark.parametrize(
    ("matcher", "message"),
    [
        ({"prefix": ["a"]}, "prefix match pattern must be a string"),
        ({"prefix": 1}, "prefix match pattern must be a string"),
        ({"suffix": [".png"]}, "suffix match pattern must be a string"),
        (
            {"prefix": {"equals-ignore-case": 1}},
            "equals-ignore-case match pattern must be a string",
        ),
        ({"prefix": {"other": "x"}}, "Unsupported prefix pattern: other"),
        ({"suffix": {}}, "Suffix expression name not found"),
        (
            {"prefix": {"equals-ignore-case": "a", "x": 1}},
            "Only one key allowed in match expression",
        ),
        ({"equals-ignore-case": ["a"]}, "equals-ignore-case match pattern must be a string"),
        ({"prefix": "a", "suffix": "b"}, "Only one key allowed in match expression"),
        ({"exactly": 1}, "exact match pattern must be a string"),
        ({"regex": "a"}, "Unrecognized match type regex"),
        ({}, "Match expression name not found"),
    ],
)
def test_string_operator_errors(matcher: dict[str, Any], message: str) -> None:
    assert reason({"detail": {"v": [matcher]}}) == message


# -- anything-but ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operand", "value", "expected"),
    [
        ("init", "pending", True),
        ("init", "init", False),
        ("init", None, True),  # null is "anything but"
        ("init", 5, True),
        ("5", 5, True),
        (["a", "b"], "b", False),
        (["a", "b"], "c", True),
        (["a", "b"], True, True),
        (123, 789, True),
        (123, 123, False),
        (123, 123.0, False),  # by value
        (123, "123", True),
        (0, 789, True),
        ([100, 200], 200, False),
        ([100, 200], 300, True),
        ([100, 200], None, True),
        ({"prefix": "init"}, "init-done", False),
        ({"prefix": "init"}, "post-init", True),
        ({"prefix": "init"}, 12, True),
        ({"prefix": "init"}, None, True),
        ({"prefix": ["init", "post"]}, "post-init", False),
        ({"prefix": ["init", "test"]}, "post-init", True),
        ({"suffix": ".txt"}, "file.txt", False),
        ({"suffix": ".txt"}, "file.txt.bak", True),
        ({"suffix": [".txt", ".jpg"]}, "f.jpg", False),
        ({"equals-ignore-case": "init"}, "INIT", False),
        ({"equals-ignore-case": "init"}, "pending", True),
        ({"equals-ignore-case": ["a", "b"]}, "B", False),
        ({"equals-ignore-case": "init"}, None, True),
        ({"wildcard": "*/lib/*"}, "/usr/lib/x", False),
        ({"wildcard": "*/lib/*"}, "/usr/bin/x", True),
        ({"wildcard": ["*/init/*", "*/dir/*"]}, "dir/init/dir", False),
        ({"wildcard": ""}, "x", True),
        ({"wildcard": ""}, "", False),
    ],
)
def test_anything_but(operand: Any, value: Any, expected: bool) -> None:
    assert matches({"detail": {"v": [{"anything-but": operand}]}}, detail(v=value)) is expected


def test_anything_but_needs_the_field() -> None:
    for operand in ("x", ["x"], 1, {"prefix": "x"}, {"suffix": "x"}, {"wildcard": "x*"}):
        assert not matches({"detail": {"v": [{"anything-but": operand}]}}, detail())


def test_anything_but_over_event_arrays_needs_one_other_element() -> None:
    pattern = {"detail": {"v": [{"anything-but": "x"}]}}
    assert matches(pattern, detail(v=["x", "y"]))
    assert not matches(pattern, detail(v=["x", "x"]))


@pytest.mark.parametrize(
    ("operand", "message"),
    [
        (None, "Value of anything-but must be an array or single string/number value."),
        (True, "Value of anything-but must be an array or single string/number value."),
        (
            {"suffix": {"equals-ignore-case": ".png"}},
            "Value of anything-but must be an array or single string/number value.",
        ),
        (["a", None], "Inside anything but list, start|null|boolean is not supported."),
        (
            ["a", 1],
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported",
        ),
        (
            [],
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported",
        ),
        ([1e10], "Value must be between -5.0E9 and 5.0E9, inclusive"),
        ({"prefix": 123}, "prefix/suffix match pattern must be a string"),
        ({"suffix": [123, ".txt"]}, "prefix/suffix match pattern must be a string"),
        ({"prefix": ""}, "Null prefix/suffix not allowed"),
        ({"suffix": ["a", ""]}, "Null prefix/suffix not allowed"),
        (
            {"equals-ignore-case": 123},
            "Inside anything-but/equals-ignore-case list, "
            "number|start|null|boolean is not supported.",
        ),
        (
            {"equals-ignore-case": [1, 2]},
            "Inside anything-but/equals-ignore-case list, "
            "number|start|null|boolean is not supported.",
        ),
        ({"wildcard": 123}, "wildcard match pattern must be a string"),
        ({"wildcard": "a**"}, "Consecutive wildcard characters at pos 2"),
        ({"numeric": [">", 1]}, "Unsupported anything-but pattern: numeric"),
        ({}, "Anything-But expression name not found"),
        ({"prefix": "a", "suffix": "b"}, "Too many elements in numeric expression"),
    ],
)
def test_anything_but_errors(operand: Any, message: str) -> None:
    assert reason({"detail": {"v": [{"anything-but": operand}]}}) == message


# -- numeric ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "value", "expected"),
    [
        (["=", 301.8], 301.8, True),
        (["=", 3.018e2], 301.8, True),
        (["=", 5], 5.0, True),
        (["=", 5], 5.000001, False),
        (["<", 10], 9.999999, True),
        (["<", 10], 10, False),
        (["<=", 10], 10, True),
        ([">", 0], 0, False),
        ([">", 0], 0.000001, True),
        ([">=", 0], 0, True),
        ([">", 0, "<=", 5], 5, True),
        ([">", 0, "<=", 5], 0, False),
        ([">=", 0, "<", 5], 0, True),
        ([">=", 0, "<", 5], 5, False),
        ([">", -5e9], -4999999999.999999, True),
        ([">", 0], "5", False),  # strings are not numbers
        ([">", 0], True, False),  # nor are booleans
        ([">", 0], None, False),
        # Beyond AWS's range, or with more than six decimals, an event number is
        # not comparable at all.
        ([">", 0], 5_000_000_001, False),
        ([">", 0], 5_000_000_000, True),
        ([">", 0], 0.1234567, False),
        (["<", 1], 0.123456, True),
    ],
)
def test_numeric(terms: list[Any], value: Any, expected: bool) -> None:
    assert matches({"detail": {"v": [{"numeric": terms}]}}, detail(v=value)) is expected


def test_numeric_over_event_arrays() -> None:
    assert matches({"v": [{"numeric": [">", 10]}]}, {"v": [1, "x", 11]})
    assert not matches({"v": [{"numeric": [">", 10]}]}, {"v": [1, "11"]})


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        (10, "Value of numeric must be an array."),
        ([], "Invalid member in numeric match: ]"),
        ([5], "Invalid member in numeric match: 5"),
        (["!=", 5], "Unrecognized numeric range operator: !="),
        (["=", "5"], "Value of equals must be numeric"),
        (["<"], "Value of < must be numeric"),
        ([">", 0, "<"], "Value of < must be numeric"),
        ([">", 0, ">", 0], "Bad numeric range operator: >"),
        ([">", 0, 5], "Bad value in numeric range: 5"),
        (["=", 5, "<", 6], "Too many elements in numeric expression"),
        (["<", 5, ">", 1], "Too many elements in numeric expression"),
        ([">", 0, "<", 5, "<", 6], "Too many terms in numeric range expression"),
        ([">", 5, "<", 5], "Bottom must be less than top"),
        ([">=", 6, "<=", 5], "Bottom must be less than top"),
        ([">", 5e9 + 1], "Value must be between -5.0E9 and 5.0E9, inclusive"),
        (["<", -6e9], "Value must be between -5.0E9 and 5.0E9, inclusive"),
        (["=", 0.1234567], "Only values upto 6 decimals are supported"),
    ],
)
def test_numeric_errors(terms: Any, message: str) -> None:
    assert reason({"detail": {"v": [{"numeric": terms}]}}) == message


def test_numeric_with_a_second_key() -> None:
    assert (
        reason('{"v": [{"numeric": [">", 1], "prefix": "a"}]}')
        == "Too many elements in numeric expression"
    )


# -- exists ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_detail", "exists_true", "exists_false"),
    [
        ({"v": "x"}, True, False),
        ({"v": ""}, True, False),
        ({"v": None}, True, False),  # null is a value
        ({"v": 0}, True, False),
        ({"v": ["a"]}, True, False),
        ({"v": []}, False, True),  # an empty array is no value
        ({"v": {}}, False, True),  # only leaves exist
        ({"v": {"w": 1}}, False, True),
        ({}, False, True),
    ],
)
def test_exists(event_detail: dict[str, Any], exists_true: bool, exists_false: bool) -> None:
    assert matches({"detail": {"v": [{"exists": True}]}}, detail(**event_detail)) is exists_true
    assert matches({"detail": {"v": [{"exists": False}]}}, detail(**event_detail)) is exists_false


def test_exists_false_with_a_missing_parent_and_as_an_alternative() -> None:
    pattern = {"detail": {"a": {"b": {"S": [{"anything-but": ["roses"]}, {"exists": False}]}}}}
    assert matches(pattern, detail(x=1))
    assert matches(pattern, detail(a={"b": {"S": "tulips"}}))
    assert not matches(pattern, detail(a={"b": {"S": "roses"}}))


def test_exists_errors() -> None:
    assert (
        reason({"v": [{"exists": "yes"}]}) == "exists match pattern must be either true or false."
    )
    assert reason('{"v": [{"exists": true, "x": 1}]}') == "Only one key allowed in match expression"


# -- wildcard --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wildcard", "value", "expected"),
    [
        ("*", "", True),
        ("*", "anything", True),
        ("a*", "a", True),  # * matches nothing too
        ("*.png", "x.png", True),
        ("*.png", "x.PNG", False),
        ("arn:aws:events:us-east-1:*:event-bus/*", "arn:aws:events:us-east-1:1:event-bus/b", True),
        ("/Users/*/doc.txt", "/Users/me/a/b/c/doc.txt", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "acb", False),
        ("a\\*b", "a*b", True),  # \* is a literal star
        ("a\\*b", "axb", False),
        ("a\\\\b", "a\\b", True),  # \\ is a literal backslash
        ("a.c", "abc", False),  # no regex semantics
        ("line*", "line1\nline2", True),
        ("*", 5, False),
        ("*", None, False),
    ],
)
def test_wildcard(wildcard: str, value: Any, expected: bool) -> None:
    assert matches({"detail": {"v": [{"wildcard": wildcard}]}}, detail(v=value)) is expected


@pytest.mark.parametrize(
    ("wildcard", "message"),
    [
        ("arn:aws:events:us-east-1:**:event-bus/*", "Consecutive wildcard characters at pos 26"),
        ("**", "Consecutive wildcard characters at pos 1"),
        ("é**", "Consecutive wildcard characters at pos 3"),  # positions count UTF-8 bytes
        ("a\\b", "Invalid escape character at pos 2"),
        ("a\\", "Invalid escape character at pos 2"),
        (
            "*:*:*:*:*:event-bus/*",
            "Rule is too complex - try using fewer wildcard characters or fewer repeating "
            "character sequences after a wildcard character",
        ),
    ],
)
def test_wildcard_errors(wildcard: str, message: str) -> None:
    assert reason({"v": [{"wildcard": wildcard}]}) == message
    assert reason({"v": [{"wildcard": ["x"]}]}) == "wildcard match pattern must be a string"


def test_wildcard_complexity_counts_all_wildcards_of_a_field() -> None:
    names = ["SharedStack", "AppStack", "DataStack", "MonitoringStack"]
    three = {"stack": [{"wildcard": f"*:stack/{n}/*"} for n in names[:3]]}
    four = {"stack": [{"wildcard": f"*:stack/{n}/*"} for n in names]}
    compile_pattern(three)
    assert reason(four).startswith("Rule is too complex")
    # Spread over different fields, the same wildcards are fine.
    compile_pattern({f"f{i}": [{"wildcard": f"*:stack/{n}/*"}] for i, n in enumerate(names)})


# -- cidr and IP addresses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "value", "expected"),
    [
        ("10.0.0.0/24", "10.0.0.255", True),
        ("10.0.0.0/24", "10.0.0.0", True),
        ("10.0.0.0/24", "10.0.1.0", False),
        ("10.0.0.0/24", "10.0.0.256", False),
        ("10.0.0.0/24", 10, False),
        ("10.0.0.0/24", "::ffff:10.0.0.1", False),  # dotted tails are not IP text for AWS
        ("10.0.0.0/24", "::ffff:a00:1", True),  # IPv4-mapped IPv6 is IPv4
        ("10.0.0.77/24", "10.0.0.1", True),  # host bits are ignored
        ("0.0.0.0/0", "255.255.255.255", True),
        ("2001:db8:1234:1a00::/64", "2001:0db8:1234:1a00:0000:0000:0000:0001", True),
        ("2001:db8:1234:1a00::/64", "2001:0db8:123f:1a01:0000:0000:0000:0000", False),
        ("2001:db8::/32", "10.0.0.1", False),
    ],
)
def test_cidr(cidr: str, value: Any, expected: bool) -> None:
    assert matches({"detail": {"ip": [{"cidr": cidr}]}}, detail(ip=value)) is expected


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("bad-filter", "Malformed CIDR, one '/' required"),
        ("10.0.0.0/", "Malformed CIDR, one '/' required"),
        ("10.0.0.0/8/8", "Malformed CIDR, one '/' required"),
        ("10.0.0.0/x", "Malformed CIDR, mask bits must be an integer"),
        ("10.0.0.0/-1", "Malformed CIDR, mask bits must not be negative"),
        ("10.0.0.0/32", "IPv4 mask bits must be < 32"),
        ("::/128", "IPv6 mask bits must be < 128"),
        ("xxxx:db8:1234:1a00::/64", "Nonstandard IP address: xxxx:db8:1234:1a00::"),
        ("10.0.0/8", "Nonstandard IP address: 10.0.0"),
        ("10.0.0.256/8", "Invalid IP address: 10.0.0.256"),
        ("1:2:3:4:5:6:7:8:9/8", "Invalid IP address: 1:2:3:4:5:6:7:8:9"),
    ],
)
def test_cidr_errors(cidr: str, message: str) -> None:
    assert reason({"ip": [{"cidr": cidr}]}) == message
    assert (
        reason({"ip": [{"cidr": ["10.0.0.0/8"]}]}) == "prefix match pattern must be a string"
    )  # sic


def test_an_exact_ip_address_matches_any_spelling_of_it() -> None:
    assert matches({"ip": ["2001:db8::1"]}, {"ip": "2001:0DB8:0:0:0:0:0:1"})
    assert matches({"ip": ["10.0.0.1"]}, {"ip": "10.0.0.1"})
    assert not matches({"ip": ["10.0.0.1"]}, {"ip": "10.0.0.2"})


# -- $or -------------------------------------------------------------------------------------


def test_or_between_fields() -> None:
    pattern = {
        "source": ["s"],
        "detail": {
            "$or": [
                {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                {"d-count": [{"numeric": ["<", 10]}]},
                {"x-limit": [{"numeric": ["=", 301.8]}]},
            ]
        },
    }
    assert matches(pattern, {"source": "s", "detail": {"c-count": 0, "d-count": 0}})
    assert matches(pattern, {"source": "s", "detail": {"x-limit": 301.8}})
    assert not matches(pattern, {"source": "s", "detail": {"c-count": 0, "d-count": 10}})
    assert not matches(pattern, {"source": "t", "detail": {"d-count": 0}})


def test_nested_and_parallel_or() -> None:
    pattern = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization"]},
            {"namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
        ],
        "detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]},
    }
    base = {"source": "aws.cloudwatch", "detail": {"b": "2"}}
    assert matches(pattern, {**base, "metricName": "CPUUtilization"})
    assert matches(pattern, {**base, "namespace": "AWS/EC2", "spaceId": 1000})
    assert not matches(pattern, {**base, "namespace": "AWS/EC2"})
    assert not matches(
        pattern, {"source": "aws.cloudwatch", "metricName": "CPUUtilization", "detail": {}}
    )


# AWS compiles a pattern its $or-aware parser refuses once more with its older
# parser, to which "$or" is a plain field name, and answers with that one's verdict.
@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({"$or": [{"a": ["1"]}]}, "Unrecognized match type a"),
        ({"$or": []}, "Empty arrays are not allowed"),
        ({"$or": [{"a": ["1"]}, "b"]}, "Unrecognized match type a"),
        ({"$or": [{"a": ["1"]}, {}]}, "Unrecognized match type a"),
        ({"$or": [{"a": ["1"]}, {"b": ["2"]}], "c": []}, "Unrecognized match type a"),
        ({"$or": [{"numeric": ["1"]}, {"a": ["1"]}]}, "Unrecognized numeric range operator: 1"),
        ({"x": [{"prefix": 1}], "$or": [{"a": ["1"]}]}, "prefix match pattern must be a string"),
    ],
)
def test_or_errors_are_the_older_parsers(pattern: dict[str, Any], message: str) -> None:
    assert reason(pattern) == message


def test_a_broken_or_can_still_be_a_field_name() -> None:
    assert matches({"$or": {"a": ["1"]}}, {"$or": {"a": "1"}})
    assert not matches({"$or": {"a": ["1"]}}, {"a": "1"})
    reserved = {"$or": [{"numeric": [">", 1]}, {"prefix": "x"}]}
    assert matches(reserved, {"$or": 2})
    assert matches(reserved, {"$or": "xyz"})
    assert not matches(reserved, {"$or": "abc"})


def test_or_errors_outside_the_parser_are_final() -> None:
    pattern = {"$or": [{"ip": [{"cidr": "bad"}]}, {"b": ["2"]}]}
    assert reason(pattern) == "Malformed CIDR, one '/' required"


def test_or_combinations_are_limited() -> None:
    eleven = [{f"f{i}": ["x"]} for i in range(11)]
    assert reason({"$or": eleven, "d": {"$or": eleven, "e": {"$or": eleven}}}) == (
        "Event pattern contains more than 1000 rule combinations"
    )
    assert len(compile_pattern({"$or": eleven, "d": {"$or": eleven}})._branches) == 121


def test_reserved_names_are_fine_outside_or() -> None:
    assert matches({"numeric": ["x"]}, {"numeric": "x"})


# -- structure and JSON errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "Empty objects are not allowed"),
        ('{"a": {}}', "Empty objects are not allowed"),
        ('{"resources": []}', "Empty arrays are not allowed"),
        ('{"int": 42}', '"int" must be an object or an array'),
        ('{"s": "v"}', '"s" must be an object or an array'),
        ('{"n": null}', '"n" must be an object or an array'),
        ('{"a": [[1]]}', "Match value must be String, number, true, false, or null"),
        ("[1]", "Filter is not an object"),
        ('"x"', "Filter is not an object"),
        ("", "Filter is not an object"),
        (
            "this is valid json but not a dict",
            "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token "
            "'null', 'true' or 'false')",
        ),
        (
            "{'bad': 'quotation'}",
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
        ),
        ('{"a": [1,]}', "Unexpected character (']' (code 93)): expected a value"),
        (
            '{"a": [1 2]}',
            "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries",
        ),
        (
            '{"a": [1] "b": [2]}',
            "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries",
        ),
        (
            '{"a" [1]}',
            "Unexpected character ('[' (code 91)): "
            "was expecting a colon to separate field name and value",
        ),
        (
            '{"a": [1], }',
            "Unexpected character ('}' (code 125)): was expecting double-quote to start field name",
        ),
        (
            '{"a": [tru]}',
            "Unrecognized token 'tru': was expecting "
            "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
        ),
        ('{"a": [01]}', "Invalid numeric value: Leading zeroes not allowed"),
        (
            '{"a": [1.]}',
            "Unexpected character (']' (code 93)) in numeric value: "
            "Decimal point not followed by a digit",
        ),
        (
            '{"a": ["x\ny"]}',
            "Illegal unquoted character ((CTRL-CHAR, code 10)): "
            "has to be escaped using backslash to be included in string value",
        ),
        ('{"a": ["\\q"]}', "Unrecognized character escape 'q' (code 113)"),
        (
            '{"a": [1}',
            "Unexpected close marker '}': expected ']' (for Array starting at "
            '[Source: (String)"{"a": [1}"; line: 1, column: 7])',
        ),
        (
            '{"a": [1',
            "Unexpected end-of-input: expected close marker for Array (start marker at "
            '[Source: (String)"{"a": [1"; line: 1, column: 7])',
        ),
    ],
)
def test_structure_and_json_errors(text: str, message: str) -> None:
    assert reason(text) == message


def test_errors_come_in_document_order() -> None:
    # AWS reads the pattern as a stream: the first problem is the one reported,
    # even when the JSON breaks further on.
    assert reason('{"a": [{"prefix": 1}], "b": [tru') == "prefix match pattern must be a string"
    assert reason('{"a": [tru], "b": [{"prefix": 1}]}').startswith("Unrecognized token 'tru'")


def test_text_after_the_pattern_is_ignored_as_on_aws() -> None:
    assert matches('{"a": ["1"]} trailing words', {"a": "1"})


def test_escaped_text_in_patterns() -> None:
    assert matches(
        r'{"d": {"star": ["*"], "backslash": ["\\"], "smile": ["\ud83d\ude00"]}}',
        {"d": {"star": "*", "backslash": "\\", "smile": "😀"}},
    )


def test_mapping_and_text_give_the_same_pattern() -> None:
    pattern = {"source": ["s"], "detail": {"n": [{"numeric": [">", 1.5]}], "t": [True, None]}}
    event = {"source": "s", "detail": {"n": 2, "t": None}}
    assert (
        compile_pattern(pattern).matches(event)
        is compile_pattern(json.dumps(pattern)).matches(event)
        is True
    )


def test_mappings_must_hold_json() -> None:
    with pytest.raises(TypeError):
        compile_pattern({"a": [object()]})
    with pytest.raises(TypeError):
        compile_pattern({"a": {1: ["x"]}})  # type: ignore[dict-item]
    assert reason({"a": [float("nan")]}).startswith("Non-standard token 'NaN'")


def test_compiled_patterns_are_immutable_and_reusable() -> None:
    pattern = compile_pattern('{"source": ["s"]}')
    with pytest.raises(dataclasses.FrozenInstanceError):
        pattern.source = "x"  # type: ignore[misc]
    assert pattern.source == '{"source": ["s"]}'
    assert pattern.paths == {"source"}
    assert [pattern.matches({"source": s}) for s in ("s", "t", "s")] == [True, False, True]
    assert matches(pattern, {"source": "s"})
    assert not pattern.matches(["not", "an", "object"])  # type: ignore[arg-type]


def test_event_values_of_foreign_types_are_read_as_json() -> None:
    from decimal import Decimal
    from enum import StrEnum

    class Color(StrEnum):
        RED = "red"

    assert matches(
        {"c": ["red"], "n": [{"numeric": [">", 1]}]}, {"c": Color.RED, "n": Decimal("1.5")}
    )
    assert matches({"t": [["x"][0]]}, {"t": ("x", "y")})


# -- RuleIndex ---------------------------------------------------------------------------------


def s3_event(
    bucket: str, key: str, size: int = 10, detail_type: str = "Object Created"
) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": detail_type,
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": size}},
    }


def test_rule_index_matches_add_remove_replace() -> None:
    index = RuleIndex()
    index.add(
        "csv",
        compile_pattern(
            {"source": ["aws.s3"], "detail": {"object": {"key": [{"suffix": ".csv"}]}}}
        ),
    )
    index.add("raw", compile_pattern({"detail": {"bucket": {"name": ["raw"]}}}))
    index.add("big", compile_pattern({"detail": {"object": {"size": [{"numeric": [">", 100]}]}}}))
    index.add(
        "either",
        compile_pattern(
            {"$or": [{"detail": {"bucket": {"name": ["x"]}}}, {"detail-type": ["Object Deleted"]}]}
        ),
    )
    index.add("tmp", compile_pattern({"detail": {"object": {"key": [{"prefix": "tmp/"}]}}}))
    assert len(index) == 5 and "raw" in index
    assert index.match(s3_event("raw", "a.csv")) == ["csv", "raw"]
    assert index.match(s3_event("raw", "tmp/a.csv", 1000)) == ["csv", "raw", "big", "tmp"]
    assert index.match(s3_event("x", "a.txt", detail_type="Object Deleted")) == ["either"]
    assert index.match({"detail": "nothing"}) == []
    index.remove("raw")
    index.remove("nope")
    assert index.match(s3_event("raw", "a.csv")) == ["csv"]
    index.add("csv", compile_pattern({"detail": {"bucket": {"name": ["raw"]}}}))  # replaced
    assert index.match(s3_event("raw", "a.txt")) == ["csv"]
    for rule_id in ("csv", "big", "either", "tmp"):
        index.remove(rule_id)
    assert len(index) == 0 and index.match(s3_event("raw", "a.csv")) == []


def test_rule_index_keeps_array_consistency() -> None:
    index = RuleIndex()
    index.add("pair", compile_pattern({"e": {"first": ["Anna"], "last": ["Smith"]}}))
    assert (
        index.match({"e": [{"first": "Anna", "last": "Doe"}, {"first": "Bob", "last": "Smith"}]})
        == []
    )
    assert index.match(
        {"e": [{"first": "Bob", "last": "Doe"}, {"first": "Anna", "last": "Smith"}]}
    ) == ["pair"]


# Property: the index answers exactly what trying every pattern answers.
PATHS = ["source", "detail.a", "detail.b", "detail.c.d"]
SCALARS = st.one_of(
    st.sampled_from(["x", "xy", "yx", "X", "", "10.0.0.1"]),
    st.sampled_from([0, 1, 1.5, 5e9, -3, True, False, None]),
)
MATCHERS = st.one_of(
    SCALARS,
    st.builds(lambda p: {"prefix": p}, st.sampled_from(["x", "y", ""])),
    st.builds(lambda p: {"suffix": p}, st.sampled_from(["x", "y"])),
    st.builds(lambda p: {"equals-ignore-case": p}, st.sampled_from(["x", "XY"])),
    st.builds(lambda p: {"wildcard": p}, st.sampled_from(["x*", "*y", "*"])),
    st.builds(
        lambda p: {"anything-but": p}, st.sampled_from(["x", 1, ["x", "y"], {"prefix": "x"}])
    ),
    st.builds(
        lambda p: {"numeric": p}, st.sampled_from([[">", 0], ["<=", 1.5], [">=", -3, "<", 1]])
    ),
    st.builds(lambda p: {"exists": p}, st.booleans()),
    st.just({"cidr": "10.0.0.0/8"}),
)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


FLAT_PATTERNS = st.dictionaries(
    st.sampled_from(PATHS), st.lists(MATCHERS, min_size=1, max_size=3), min_size=1
)
PATTERNS = st.one_of(
    FLAT_PATTERNS.map(nest),
    st.tuples(FLAT_PATTERNS, FLAT_PATTERNS).map(lambda t: {"$or": [nest(t[0]), nest(t[1])]}),
)
EVENTS = st.dictionaries(
    st.sampled_from(PATHS),
    st.one_of(
        SCALARS,
        st.lists(SCALARS, max_size=3),
        st.lists(st.fixed_dictionaries({"d": SCALARS}), max_size=2),
    ),
).map(nest)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PATTERNS, min_size=1, max_size=8), st.lists(EVENTS, min_size=1, max_size=5))
def test_rule_index_agrees_with_trying_every_pattern(
    patterns: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    compiled: dict[str, Pattern] = {}
    for i, pattern in enumerate(patterns):
        try:
            compiled[f"r{i}"] = compile_pattern(pattern)
        except EventPatternError:
            continue
    index = RuleIndex()
    for rule_id, pattern in compiled.items():
        index.add(rule_id, pattern)
    for event in events:
        assert index.match(event) == [rid for rid, p in compiled.items() if p.matches(event)]

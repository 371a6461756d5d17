"""Choice rules: parsing with located problems, and AWS's typed comparisons."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from sluiceway.asl.choice import (
    OPERATORS,
    And,
    ChoiceRule,
    Comparison,
    Not,
    Or,
    evaluate,
    first_match,
    parse_condition,
    parse_rule,
    parse_timestamp,
)
from sluiceway.errors import DefinitionError, StatesError
from sluiceway.jsonpath import Scope

LOC = "/States/Check/Choices/0"


def holds(rule: dict[str, Any], data: Any, **scope: Any) -> bool:
    parsed = parse_rule({**rule, "Next": "Yes"}, location=LOC)
    return evaluate(parsed, Scope(data, **scope))


def problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_rule(doc, location=LOC)
    return caught.value.issues


# --- parsing ----------------------------------------------------------------------------------


def test_operators_cover_the_asl_set() -> None:
    assert len(OPERATORS) == 4 * 5 * 2 - 8 + 1 + 6  # Boolean has only (Path)Equals
    assert {
        "BooleanEqualsPath",
        "TimestampGreaterThanEqualsPath",
        "StringMatches",
        "IsTimestamp",
    } <= OPERATORS
    assert "BooleanLessThan" not in OPERATORS


def test_parse_rule_builds_frozen_objects() -> None:
    doc = {
        "And": [
            {"Variable": "$.a", "NumericGreaterThan": 1},
            {"Not": {"Variable": "$.b", "IsPresent": True}},
            {
                "Or": [
                    {"Variable": "$$.Execution.Name", "StringEquals": "x"},
                    {"Variable": "$v", "IsNull": True},
                ]
            },
        ],
        "Next": "Done",
        "Comment": "why",
        "Assign": {"seen.$": "$.a"},
    }
    rule = parse_rule(doc, location=LOC)
    assert rule == ChoiceRule(
        condition=And(
            (
                Comparison("$.a", "NumericGreaterThan", 1),
                Not(Comparison("$.b", "IsPresent", True)),
                Or(
                    (
                        Comparison("$$.Execution.Name", "StringEquals", "x"),
                        Comparison("$v", "IsNull", True),
                    )
                ),
            )
        ),
        next="Done",
        assign={"seen.$": "$.a"},
        comment="why",
    )
    with pytest.raises(AttributeError):
        rule.next = "Other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"Variable": "$.a", "IsNull": True}, f"{LOC}: The field 'Next' is required"),
        (
            {"Variable": "$.a", "Next": "X"},
            f"{LOC}: A choice rule must have exactly one comparison operator",
        ),
        (
            {"Variable": "$.a", "StringEquals": "x", "IsNull": True, "Next": "X"},
            f"{LOC}: A choice rule must have exactly one",
        ),
        ({"StringEquals": "x", "Next": "X"}, f"{LOC}: The field 'Variable' is required"),
        ({"Variable": "a.b", "IsNull": True, "Next": "X"}, f"{LOC}/Variable: invalid JSONPath"),
        (
            {"Variable": "$.a", "NumericEquals": "1", "Next": "X"},
            f"{LOC}/NumericEquals: The value of",
        ),
        (
            {"Variable": "$.a", "NumericEquals": True, "Next": "X"},
            f"{LOC}/NumericEquals: The value of",
        ),
        (
            {"Variable": "$.a", "BooleanEquals": 1, "Next": "X"},
            f"{LOC}/BooleanEquals: The value of",
        ),
        ({"Variable": "$.a", "IsPresent": "true", "Next": "X"}, f"{LOC}/IsPresent: The value of"),
        (
            {"Variable": "$.a", "StringMatches": 3, "Next": "X"},
            f"{LOC}/StringMatches: The value of",
        ),
        (
            {"Variable": "$.a", "TimestampEquals": "2016-03-14", "Next": "X"},
            f"{LOC}/TimestampEquals: The value of 'TimestampEquals' must be an RFC 3339 timestamp",
        ),
        (
            {"Variable": "$.a", "StringEqualsPath": "nope", "Next": "X"},
            f"{LOC}/StringEqualsPath: invalid JSONPath",
        ),
        (
            {"Variable": "$.a", "IsNull": True, "Nxt": "X", "Next": "X"},
            f"{LOC}/Nxt: The field 'Nxt' is not supported",
        ),
        ({"And": [], "Next": "X"}, f"{LOC}/And: The field 'And' must be a non-empty array"),
        (
            {"Or": {"Variable": "$.a", "IsNull": True}, "Next": "X"},
            f"{LOC}/Or: The field 'Or' must be",
        ),
        ({"Not": [], "Next": "X"}, f"{LOC}/Not: A choice rule must be a JSON object"),
        (
            {"And": [{"Variable": "$.a", "IsNull": True, "Next": "X"}], "Next": "X"},
            f"{LOC}/And/0/Next: Nested choice rules cannot have the field 'Next'",
        ),
        (
            {"Not": {"Variable": "$.a", "IsNull": True}, "Variable": "$.a", "Next": "X"},
            f"{LOC}: A choice rule",
        ),
        (
            {"Variable": "$.a", "IsNull": True, "Next": "X", "Assign": {"x.$": 3}},
            f"{LOC}/Assign/x.$:",
        ),
        (
            {"Variable": "$.a", "IsNull": True, "Next": "X", "Assign": []},
            f"{LOC}/Assign: The field 'Assign'",
        ),
    ],
)
def test_parse_rule_reports_problems_with_their_location(
    doc: dict[str, Any], expected: str
) -> None:
    issues = problems(doc)
    assert any(issue.startswith(expected) for issue in issues), issues


def test_parse_rule_collects_every_problem() -> None:
    doc = {
        "And": [
            {"Variable": "$.a", "NumericEquals": "x"},
            {"Variable": "$.b", "BooleanEquals": "y"},
        ],
    }
    issues = problems(doc)
    assert len(issues) == 3  # two operands and the missing Next


def test_parse_condition_rejects_next() -> None:
    assert isinstance(
        parse_condition({"Variable": "$.a", "IsNull": False}, location="/x"), Comparison
    )
    with pytest.raises(DefinitionError):
        parse_condition({"Variable": "$.a", "IsNull": False, "Next": "S"}, location="/x")
    with pytest.raises(DefinitionError):
        parse_rule(["not", "an", "object"], location=LOC)  # type: ignore[arg-type]


# --- typed comparisons ------------------------------------------------------------------------

# Every row was recorded on AWS (choice operator tests): (rule operator, operand, variable, result).
RECORDED = [
    ("BooleanEquals", True, 0, False),
    ("BooleanEquals", True, 1.1, False),
    ("BooleanEquals", False, 0.0, False),
    ("BooleanEquals", True, "", False),
    ("BooleanEquals", True, {}, False),
    ("BooleanEquals", False, [""], False),
    ("BooleanEquals", True, True, True),
    ("BooleanEquals", False, True, False),
    ("NumericEquals", 1, True, False),
    ("NumericEquals", 0, False, False),
    ("NumericEquals", 0, "", False),
    ("NumericEquals", 0, [], False),
    ("NumericEquals", 1.0, {}, False),
    ("NumericEquals", 1.0, 1, True),
    ("NumericEquals", 0, 0.0, True),
    ("NumericEquals", 2.22, 2.22, True),
    ("NumericEquals", 0.0, 1.1, False),
    ("NumericGreaterThan", 0, 0.0, False),
    ("NumericGreaterThanEquals", 0, 0.0, True),
    ("NumericLessThan", 1, 0, True),
    ("NumericLessThanEquals", 1, 1, True),
    ("StringEquals", "HelloWorld", 1.1, False),
    ("StringEquals", "HelloWorld", True, False),
    ("StringEquals", "     ", " ", False),
    ("StringEquals", "\t\r\n", "\t\n", False),
    ("StringGreaterThan", "A ", "A", False),
    ("StringGreaterThan", "A\t\n\r", "A", False),
    ("StringGreaterThanEquals", "A", "AB", True),
    ("StringLessThan", "", "", False),
    ("StringLessThan", "A", "AB", False),
    ("IsBoolean", True, 0, False),
    ("IsBoolean", False, "2023-02-24", True),
    ("IsBoolean", True, True, True),
    ("IsNull", True, 0, False),
    ("IsNull", False, {}, True),
    ("IsNull", True, False, False),
    ("IsNumeric", True, 0.0, True),
    ("IsNumeric", False, 1, False),
    ("IsNumeric", True, True, False),
    ("IsNumeric", True, "2023-02-24", False),
    ("IsNumeric", False, [""], True),
    ("IsString", True, "", True),
    ("IsString", True, [], False),
    ("IsString", False, None, True),
    ("IsString", True, False, False),
    ("IsPresent", True, None, True),
    ("IsPresent", False, None, False),
    ("IsPresent", False, {}, False),
    ("IsPresent", True, False, True),
]


@pytest.mark.parametrize(("operator", "operand", "variable", "expected"), RECORDED)
def test_comparisons_match_aws(operator: str, operand: Any, variable: Any, expected: bool) -> None:
    assert holds({"Variable": "$.Variable", operator: operand}, {"Variable": variable}) is expected


RECORDED_PATHS = [
    ("BooleanEqualsPath", None, True, False),
    ("BooleanEqualsPath", 1, True, False),
    ("BooleanEqualsPath", "", False, False),
    ("BooleanEqualsPath", [], False, False),
    ("BooleanEqualsPath", True, True, True),
    ("BooleanEqualsPath", False, True, False),
    ("NumericEqualsPath", None, 1, False),
    ("NumericEqualsPath", 1, 1.0, True),
    ("NumericEqualsPath", 0.0, 1, False),
    ("NumericEqualsPath", True, 1, False),
    ("NumericEqualsPath", False, 0.0, False),
    ("NumericEqualsPath", " ", 0.0, False),
    ("NumericGreaterThanPath", 1, 1, False),
    ("NumericGreaterThanEqualsPath", 1, 1, True),
    ("NumericLessThanPath", 0, 1, True),
    ("NumericLessThanEqualsPath", 0.0, 0, True),
    ("StringEqualsPath", "\t\n", "\t\r\n", False),
    ("StringGreaterThanPath", "", "", False),
    ("StringGreaterThanEqualsPath", "A", "AB", False),
    ("StringLessThanPath", "A", "AB", True),
    ("StringLessThanEqualsPath", "", "", True),
    ("StringLessThanEqualsPath", "AB", "A", False),
]


@pytest.mark.parametrize(("operator", "variable", "value", "expected"), RECORDED_PATHS)
def test_path_comparisons_match_aws(
    operator: str, variable: Any, value: Any, expected: bool
) -> None:
    data = {"Variable": variable, "Value": value}
    assert holds({"Variable": "$.Variable", operator: "$.Value"}, data) is expected


def test_path_comparison_with_an_operand_of_another_type_is_false() -> None:
    assert not holds({"Variable": "$.a", "NumericEqualsPath": "$.b"}, {"a": 1, "b": "1"})
    assert not holds({"Variable": "$.a", "StringEqualsPath": "$.b"}, {"a": "1", "b": 1})
    assert not holds({"Variable": "$.a", "BooleanEqualsPath": "$.b"}, {"a": True, "b": 1})


def test_strings_order_by_utf16_code_units_like_java() -> None:
    # U+FF5E is above the surrogates U+D800..DFFF in code points but below them in UTF-16.
    rule = {"Variable": "$.a", "StringLessThan": "\U0001f600"}
    assert holds(rule, {"a": "\uff5e"}) is False
    assert holds({"Variable": "$.a", "StringLessThan": "b"}, {"a": "a"}) is True


def test_numbers_compare_across_int_and_float_and_big_values() -> None:
    assert holds(
        {"Variable": "$.a", "NumericGreaterThan": 9007199254740992}, {"a": 9007199254740993}
    )
    assert holds({"Variable": "$.a", "NumericLessThan": 0.5}, {"a": -1})


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-2024-01.txt", True),
        ("log-*.txt", "log-.txt", True),
        ("log-*.txt", "log-1.csv", False),
        ("*", "", True),
        ("a*b*c", "aXbYc", True),
        ("a\\*b", "a*b", True),
        ("a\\*b", "aXb", False),
        ("a\\\\b", "a\\b", True),
        ("a.b", "aXb", False),
        ("line*", "line1\nline2", True),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert holds({"Variable": "$.a", "StringMatches": pattern}, {"a": value}) is expected


def test_string_matches_on_a_non_string_is_false() -> None:
    assert holds({"Variable": "$.a", "StringMatches": "*"}, {"a": 1}) is False


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*a*a*a*a*a*a*b", "a" * 100_000, False),  # as the regex .*a.*a..., hours of backtracking
        ("*a*a*a*a*a*a*b", "a" * 100_000 + "b", True),
        ("ab*ab", "ab", False),  # the first and last pieces may not overlap
        ("*ab*ab*", "abab", True),
        ("a**b", "ab", True),
    ],
    ids=["many-stars-no-match", "many-stars-match", "overlap", "repeated-piece", "double-star"],
)
def test_string_matches_takes_linear_time_and_keeps_its_meaning(pattern: str, value: str, expected: bool) -> None:
    assert holds({"Variable": "$.a", "StringMatches": pattern}, {"a": value}) is expected


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2016-03-14T01:59:00Z", True),
        ("2016-03-14T01:59:00.123Z", True),
        ("2016-03-14T01:59:00.123456789+05:30", True),
        ("2016-03-14T01:59:00-00:00", True),
        ("2016-03-14t01:59:00Z", False),
        ("2016-03-14T01:59:00z", False),
        ("2016-03-14T01:59:00", False),
        ("2012-10-09T19:00:55", False),
        ("2016-03-14 01:59:00Z", False),
        ("2016-02-30T01:59:00Z", False),
        ("2016-03-14T24:00:00Z", False),
        ("2016-03-14T01:59:00+0530", False),
        ("2023-02-24", False),
    ],
)
def test_what_counts_as_a_timestamp(text: str, valid: bool) -> None:
    assert (parse_timestamp(text) is not None) is valid
    assert holds({"Variable": "$.t", "IsTimestamp": True}, {"t": text}) is valid


def test_timestamps_compare_as_instants() -> None:
    assert parse_timestamp("1970-01-01T00:00:01.5Z") == Fraction(3, 2)
    same = {"Variable": "$.t", "TimestampEquals": "2016-03-14T01:59:00Z"}
    assert holds(same, {"t": "2016-03-14T03:59:00+02:00"})
    assert holds(same, {"t": "2016-03-14T01:59:00.000Z"})
    later = {"Variable": "$.t", "TimestampGreaterThan": "2016-03-14T01:59:00.999999999Z"}
    assert holds(later, {"t": "2016-03-14T01:59:00.9999999991Z"})
    assert not holds(later, {"t": "2016-03-14T01:59:00.999999999Z"})
    assert holds(
        {"Variable": "$.t", "TimestampLessThanEquals": "2016-03-14T01:59:00Z"},
        {"t": "2016-03-13T23:59:59-01:00"},
    )


def test_timestamp_comparison_of_a_non_timestamp_is_false() -> None:
    rule = {"Variable": "$.t", "TimestampGreaterThan": "2016-03-14T01:59:00Z"}
    assert holds(rule, {"t": "2099-01-01"}) is False
    assert holds(rule, {"t": 4102444800}) is False
    rule_path = {"Variable": "$.t", "TimestampEqualsPath": "$.u"}
    assert holds(rule_path, {"t": "2016-03-14T01:59:00Z", "u": "2016-03-14T01:59:00Z"})
    assert not holds(rule_path, {"t": "2016-03-14T01:59:00Z", "u": "yesterday"})


# --- missing values, scopes, boolean operators --------------------------------------------------


def test_missing_variable_is_a_runtime_error_except_for_is_present() -> None:
    assert holds({"Variable": "$.gone", "IsPresent": False}, {}) is True
    assert holds({"Variable": "$.gone.deeper", "IsPresent": True}, {}) is False
    with pytest.raises(StatesError) as caught:
        holds({"Variable": "$.gone", "IsNull": True}, {})
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "Invalid path '$.gone': The choice state's condition path references an invalid value."
    )


def test_missing_comparison_path_is_a_runtime_error() -> None:
    with pytest.raises(StatesError) as caught:
        holds({"Variable": "$.a", "NumericEqualsPath": "$.gone"}, {"a": 1})
    assert "'$.gone'" in caught.value.cause


def test_is_present_on_an_indefinite_path_is_false_when_nothing_matches() -> None:
    assert holds({"Variable": "$.xs[*]", "IsPresent": True}, {"xs": []}) is False
    assert holds({"Variable": "$.xs[*]", "IsPresent": True}, {"xs": [None]}) is True


def test_variables_and_context_can_be_tested() -> None:
    rule = {"Variable": "$guess", "StringEqualsPath": "$answer"}
    assert holds(rule, {}, variables={"guess": "a", "answer": "a"})
    assert not holds(rule, {}, variables={"guess": "a", "answer": "b"})
    assert holds(
        {"Variable": "$$.Map.Item.Index", "NumericEquals": 2},
        {},
        context={"Map": {"Item": {"Index": 2}}},
    )


def test_and_or_not_short_circuit_in_order() -> None:
    data = {"n": 5}
    missing = {"Variable": "$.gone", "IsNull": True}  # would raise if evaluated
    assert holds({"Or": [{"Variable": "$.n", "NumericEquals": 5}, missing]}, data)
    assert not holds({"And": [{"Variable": "$.n", "NumericEquals": 4}, missing]}, data)
    assert holds({"Not": {"Variable": "$.n", "NumericEquals": 4}}, data)
    with pytest.raises(StatesError):
        holds({"And": [{"Variable": "$.n", "NumericEquals": 5}, missing]}, data)


def test_first_match_returns_the_first_rule_that_holds() -> None:
    rules = [
        parse_rule({"Variable": "$.n", "NumericLessThan": 0, "Next": "Negative"}, location="/0"),
        parse_rule({"Variable": "$.n", "NumericLessThan": 10, "Next": "Small"}, location="/1"),
        parse_rule({"Variable": "$.n", "NumericLessThan": 100, "Next": "Medium"}, location="/2"),
    ]
    first = first_match(rules, Scope({"n": 5}))
    assert first is not None and first.next == "Small"
    assert first_match(rules, Scope({"n": 500})) is None

"""A composite alarm's AlarmRule: the grammar, its limits and its errors in CloudWatch's words."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from sluiceway.backends.local._cw_alarm_rule import MAX_CHILDREN, MAX_NESTING, RuleError, parse


def holds(rule: str, **states: str) -> bool:
    return parse(rule).evaluate(states.get)


def test_functions_test_the_state_they_are_named_after() -> None:
    assert holds("ALARM(a)", a="ALARM") and not holds("ALARM(a)", a="OK")
    assert holds("OK(a)", a="OK") and not holds("OK(a)", a="INSUFFICIENT_DATA")
    assert holds("INSUFFICIENT_DATA(a)", a="INSUFFICIENT_DATA")
    assert not holds("ALARM(missing)")  # an alarm with no state is in none


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    assert holds("ALARM(a) OR ALARM(b) AND ALARM(c)", a="ALARM", b="OK", c="OK")
    assert not holds("(ALARM(a) OR ALARM(b)) AND ALARM(c)", a="ALARM", b="OK", c="OK")
    assert holds("NOT ALARM(a) AND OK(b)", a="OK", b="OK")
    assert not holds("NOT (ALARM(a) OR OK(b))", a="OK", b="OK")
    assert holds("NOT NOT TRUE") and not holds("TRUE AND false") and holds("FALSE OR true")


def test_references_are_names_or_arns_bare_or_quoted() -> None:
    arn = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:cpu high"
    rule = parse(f'ALARM("{arn}") OR OK(disk) OR ALARM(disk) OR ALARM("with (parens)")')
    assert rule.references == (arn, "disk", "with (parens)")
    assert rule.evaluate({arn: "ALARM"}.get)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("()", "Error in AlarmRule [Unsupported token ')' at char 1]"),
        ("ALARM(a b)", "Error in AlarmRule [Unsupported token 'b' at char 8, must be: ')']"),
        ("ALARM a", "Error in AlarmRule [Unsupported token 'a' at char 6, must be: '(']"),
        ("ALARM(a) AND", "Error in AlarmRule [Unexpected end of rule at char 12]"),
        ("ALARM(a) ALARM(b)", "Error in AlarmRule [Unsupported token 'ALARM' at char 9]"),
        ("alarm(a)", "Error in AlarmRule [Unsupported token 'alarm' at char 0]"),
        ('ALARM("a)', "Error in AlarmRule [Unsupported token '\"a)' at char 6]"),
        ('ALARM("")', "Error in AlarmRule [Unsupported token '\"\"' at char 6]"),
        ("(TRUE", "Error in AlarmRule [Unexpected end of rule at char 5]"),
        ("ALARM(a) ", "AlarmRule must not contain leading or trailing whitespace or be null"),
        ("", "AlarmRule must not contain leading or trailing whitespace or be null"),
    ],
)
def test_refused_rules(rule: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse(rule)
    assert str(caught.value) == message


def test_limits() -> None:
    many = " OR ".join(f"ALARM(a{i})" for i in range(MAX_CHILDREN))
    assert len(parse(many).references) == MAX_CHILDREN
    with pytest.raises(RuleError, match="at most 100 alarms"):
        parse(many + " OR ALARM(one-more)")
    # The same alarm twice is one child, but two elements.
    assert parse("ALARM(a) OR OK(a)").references == ("a",)
    with pytest.raises(RuleError, match="at most 500 elements"):
        parse(" OR ".join(["TRUE"] * 501))


@pytest.fixture
def default_stack() -> Iterator[None]:
    """Python's default recursion limit (importing some libraries raises it for the whole process)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.usefixtures("default_stack")
def test_any_number_of_nots_costs_no_stack() -> None:
    assert holds("NOT " * 2000 + "TRUE") and not holds("NOT " * 2001 + "TRUE")
    assert holds("NOT " * 3001 + "ALARM(a) AND " + "NOT " * 3000 + "OK(b)", a="OK", b="OK")


@pytest.mark.usefixtures("default_stack")
def test_parentheses_nest_at_most_max_nesting_deep() -> None:
    deepest = "(" * MAX_NESTING + "TRUE" + ")" * MAX_NESTING
    assert holds(deepest)
    # Each level an AND and an OR: the evaluation nests as deep as the parsing.
    alternating = "(ALARM(a) OR (ALARM(a) AND " * (MAX_NESTING // 2) + "TRUE" + "))" * (MAX_NESTING // 2)
    assert holds(alternating, a="ALARM") and not holds(alternating, a="OK")
    for text in ("(" * (MAX_NESTING + 1) + "TRUE" + ")" * (MAX_NESTING + 1), "(" * 250 + "TRUE" + ")" * 250):
        with pytest.raises(RuleError) as caught:
            parse(text)
        assert str(caught.value) == f"Error in AlarmRule [The rule can nest parentheses at most {MAX_NESTING} deep]"


def test_at_least_counts_the_listed_alarms_in_a_state() -> None:
    rule = "AT_LEAST(2, ALARM, (a, b, c))"
    assert not holds(rule, a="ALARM", b="OK", c="INSUFFICIENT_DATA")
    assert holds(rule, a="ALARM", b="OK", c="ALARM") and holds(rule, a="ALARM", b="ALARM", c="ALARM")
    assert holds("AT_LEAST(1, OK, (a, b))", b="OK") and not holds("AT_LEAST(1, OK, (a, b))")
    assert holds("AT_LEAST(2, INSUFFICIENT_DATA, (a, b))", a="INSUFFICIENT_DATA", b="INSUFFICIENT_DATA")


def test_at_least_not_counts_those_out_of_the_state_insufficient_data_and_missing_included() -> None:
    rule = "AT_LEAST(2, NOT ALARM, (a, b, c))"
    assert holds(rule, a="INSUFFICIENT_DATA", b="OK", c="ALARM")
    assert not holds(rule, a="INSUFFICIENT_DATA", b="ALARM", c="ALARM")
    assert holds(rule, a="ALARM")  # b and c have no state: they are not in ALARM
    assert holds("AT_LEAST(1, NOT OK, (a))", a="INSUFFICIENT_DATA") and not holds("AT_LEAST(1, NOT OK, (a))", a="OK")


@pytest.mark.parametrize(
    ("percent", "needed"),
    [("1%", 1), ("33%", 1), ("34%", 2), ("60%", 2), ("66%", 2), ("67%", 3), ("100%", 3)],
)
def test_at_least_a_percentage_asks_for_the_share_rounded_up(percent: str, needed: int) -> None:
    rule = f"AT_LEAST({percent}, ALARM, (a, b, c))"
    states = dict.fromkeys(["a", "b", "c"][:needed], "ALARM")
    assert holds(rule, **states)
    states.popitem()
    assert not holds(rule, **states)


def test_at_least_lists_names_and_arns_bare_or_quoted_and_nests_like_any_operand() -> None:
    arn = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:cpu, high"
    # The form CDK's AlarmRule.atLeast writes (a space before the comma, ARNs bare).
    rule = parse(f'AT_LEAST(60%, NOT OK , (x, "{arn}",y)) AND (ALARM(z) OR NOT AT_LEAST(1,ALARM,(x)))')
    assert rule.references == ("x", arn, "y", "z")
    assert rule.evaluate({"x": "OK", arn: "ALARM", "y": "INSUFFICIENT_DATA", "z": "OK"}.get)
    assert not rule.evaluate({"x": "ALARM", arn: "ALARM", "y": "ALARM", "z": "OK"}.get)
    assert rule.evaluate({"x": "ALARM", arn: "ALARM", "y": "ALARM", "z": "ALARM"}.get)
    # Outside an AT_LEAST list a comma is part of a bare name, as it always was.
    assert parse("ALARM(a,b) OR OK(c)").references == ("a,b", "c")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("AT_LEAST(2 ALARM, (a, b))", "Error in AlarmRule [Unsupported token 'ALARM' at char 11, must be: ',']"),
        ("AT_LEAST(two, ALARM, (a, b))", "Error in AlarmRule [Unsupported token 'two' at char 9]"),
        ("AT_LEAST(1.5, ALARM, (a, b))", "Error in AlarmRule [Unsupported token '1.5' at char 9]"),
        ("AT_LEAST(-1, ALARM, (a, b))", "Error in AlarmRule [Unsupported token '-1' at char 9]"),
        ("AT_LEAST(2, alarm, (a, b))", "Error in AlarmRule [Unsupported token 'alarm' at char 12]"),
        ("AT_LEAST(2, NOT NOT ALARM, (a, b))", "Error in AlarmRule [Unsupported token 'NOT' at char 16]"),
        ("AT_LEAST(2, ALARM, a, b)", "Error in AlarmRule [Unsupported token 'a' at char 19, must be: '(']"),
        ("AT_LEAST(1, ALARM, ())", "Error in AlarmRule [Unsupported token ')' at char 20]"),
        ("AT_LEAST(1, ALARM, (a,, b))", "Error in AlarmRule [Unsupported token ',' at char 22]"),
        ("AT_LEAST(1, ALARM, (a b))", "Error in AlarmRule [Unsupported token 'b' at char 22]"),
        ("AT_LEAST(1, ALARM, (a)", "Error in AlarmRule [Unexpected end of rule at char 22]"),
        ("AT_LEAST(1, ALARM, (a)) b", "Error in AlarmRule [Unsupported token 'b' at char 24]"),
        ("AT_LEAST (1)", "Error in AlarmRule [Unsupported token ')' at char 11, must be: ',']"),
        ("at_least(1, ALARM, (a))", "Error in AlarmRule [Unsupported token 'at_least' at char 0]"),
        (
            "AT_LEAST(3, ALARM, (a, b))",
            "Error in AlarmRule [The AT_LEAST count at char 9 must be from 1 to the number of alarms listed (2)]",
        ),
        (
            "AT_LEAST(0, ALARM, (a, b))",
            "Error in AlarmRule [The AT_LEAST count at char 9 must be from 1 to the number of alarms listed (2)]",
        ),
        ("AT_LEAST(0%, ALARM, (a))", "Error in AlarmRule [The AT_LEAST percentage at char 9 must be from 1% to 100%]"),
        ("AT_LEAST(101%, ALARM, (a))", "Error in AlarmRule [The AT_LEAST percentage at char 9 must be from 1% to 100%]"),
    ],
)
def test_refused_at_least(rule: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse(rule)
    assert str(caught.value) == message


def test_at_least_lists_count_toward_the_limits() -> None:
    listed = ", ".join(f"a{i}" for i in range(MAX_CHILDREN))
    assert len(parse(f"AT_LEAST(50%, ALARM, ({listed}))").references) == MAX_CHILDREN
    with pytest.raises(RuleError, match="at most 100 alarms"):
        parse(f"AT_LEAST(50%, ALARM, ({listed})) OR ALARM(one-more)")
    # Every listed alarm is an element, the same one listed twice included.
    with pytest.raises(RuleError, match="at most 500 elements"):
        parse("AT_LEAST(1, ALARM, (" + ", ".join(["a"] * 501) + "))")
    assert parse("AT_LEAST(2, ALARM, (a, a))").evaluate({"a": "ALARM"}.get)

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

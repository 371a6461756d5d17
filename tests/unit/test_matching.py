"""The leaf predicates EventBridge patterns and SNS filter policies share."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from sluiceway import matching
from sluiceway.events.patterns._matcher import branch_matches_memo


def test_prefix_and_suffix() -> None:
    assert matching.prefix("eu-")("eu-west-1")
    assert not matching.prefix("eu-")("us-east-1")
    assert matching.suffix(".csv")("a.csv")
    assert not matching.suffix(".csv")("a.csv.gz")
    assert matching.prefix("EU-", str.lower)("eu-west-1")
    assert matching.suffix(".CSV", str.lower)("A.Csv")


def test_equals_ignore_case_folds_as_the_caller_says() -> None:
    # EventBridge passes str.lower, SNS str.casefold: they differ on "ß".
    assert matching.equals_ignore_case("Tennis", str.lower)("TENNIS")
    assert not matching.equals_ignore_case("strasse", str.lower)("STRAßE")
    assert matching.equals_ignore_case("strasse", str.casefold)("STRAßE")


@pytest.mark.parametrize("value", ["tmp/x", "tmp/", 5, None, True, Decimal(1)])
def test_anything_but_prefix_lets_other_kinds_pass(value: Any) -> None:
    test = matching.anything_but_prefix(("tmp/", "scratch/"))
    assert test(value) is (not isinstance(value, str))
    assert matching.anything_but_prefix(("tmp/",))("data/x")


def test_anything_but_suffix() -> None:
    test = matching.anything_but_suffix((".tmp",))
    assert test("a.csv") and test(3) and not test("a.tmp")


@pytest.mark.parametrize(
    ("low", "low_open", "high", "high_open", "inside", "outside"),
    [
        (None, False, 5, True, [4, -1e9], [5, 6]),
        (None, False, 5, False, [5], [5.5]),
        (0, True, None, False, [0.5], [0, -1]),
        (0, False, None, False, [0], [-0.1]),
        (3, False, 3, False, [3, 3.0], [2.9, 3.1]),
        (0, True, 10, True, [5], [0, 10]),
        (0, True, 10, False, [10], [0]),
        (0, False, 10, True, [0], [10]),
        (0, False, 10, False, [0, 10], [-1, 11]),
    ],
)
def test_numeric_range_shapes(
    low: Any, low_open: bool, high: Any, high_open: bool, inside: list[float], outside: list[float]
) -> None:
    bare = matching.numeric_range(low, low_open, high, high_open)
    gated = matching.numeric_range(low, low_open, high, high_open, admit=lambda v: v != 4)
    for v in inside:
        assert bare(v) and gated(v) == (v != 4), v
    for v in outside:
        assert not bare(v) and not gated(v), v


def test_numeric_range_works_on_decimals_too() -> None:
    assert matching.numeric_range(Decimal("0"), True, Decimal("150"), False)(Decimal("150.00000"))


def test_address_blocks() -> None:
    assert matching.address_block(32, (10 << 24) + 5, 24) == (10 << 24, (10 << 24) + 255)
    assert matching.address_block(32, 7, 32) == (7, 7)

    def read(text: str) -> tuple[int, int] | None:
        return {"in": (32, 10), "v6": (128, 10), "out": (32, 11)}.get(text)

    inside = matching.in_address_block(32, 0, 10, read)
    assert inside("in") and not inside("v6") and not inside("out") and not inside("nonsense")


def test_leaves_match() -> None:
    def yes(v: Any) -> bool:
        return v == "x"

    assert matching.leaves_match(["y", "x"], yes, False, False)
    assert not matching.leaves_match(["y"], yes, False, False)
    assert not matching.leaves_match(None, yes, False, False)
    assert not matching.leaves_match([], yes, False, False)  # no leaf: the property does not exist
    assert matching.leaves_match(None, yes, False, True)
    assert matching.leaves_match(["y"], yes, True, False)
    assert not matching.leaves_match(["y"], None, False, True)
    assert not matching.leaves_match(["x"], None, False, False)


@pytest.mark.parametrize(
    ("leaves", "test", "exists_true", "exists_false"),
    list(
        itertools.product(
            [None, ["x"], ["y"], ["y", "x"]],
            [None, lambda v: v == "x"],
            [False, True],
            [False, True],
        )
    ),
)
def test_the_rule_index_inlines_leaves_match_faithfully(
    leaves: list[str] | None, test: Any, exists_true: bool, exists_false: bool
) -> None:
    # Event patterns never hold an empty list of leaves (a path without leaves is absent).
    values = {} if leaves is None else {"a": leaves}
    fields = ((0, "a", test, exists_true, exists_false),)
    assert branch_matches_memo(fields, values, {}) == matching.leaves_match(leaves, test, exists_true, exists_false)

"""Typed values: DynamoDB's checks and numbers, the key order, item sizes, plain JSON."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from sluiceway.dynamodb.errors import DynamoDbError
from sluiceway.dynamodb.keys import sort_text
from sluiceway.dynamodb.values import check_value, from_plain, item_size, to_plain


def refused(value: Any) -> str:
    with pytest.raises(DynamoDbError) as caught:
        check_value(value)
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("1.50", "1.5"), ("1e3", "1000"), ("-0", "0"), ("0.000", "0"), ("007", "7"), ("-1E-130", "-0." + "0" * 129 + "1")],
)
def test_numbers_are_written_in_one_canonical_form(text: str, canonical: str) -> None:
    assert check_value({"N": text}) == {"N": canonical}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"N": "abc"}, "The parameter cannot be converted to a numeric value: abc"),
        ({"N": "NaN"}, "The parameter cannot be converted to a numeric value: NaN"),
        ({"N": "1e126"}, "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        ({"N": "1e-131"}, "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
        ({"N": "1" * 39}, "Attempting to store more than 38 significant digits in a Number"),
        ({"SS": []}, "One or more parameter values were invalid: An string set  may not be empty"),
        ({"NS": []}, "One or more parameter values were invalid: An number set  may not be empty"),
        ({"SS": ["a", "a"]}, "One or more parameter values were invalid: Input collection [a, a] contains duplicates."),
        ({"NS": ["1", "1.0"]}, "One or more parameter values were invalid: Input collection [1, 1.0] contains duplicates."),
        ({}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
        (
            {"S": "a", "N": "1"},
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
        ),
        ({"NULL": False}, "One or more parameter values were invalid: Null attribute value types must have the value of true"),
        ({"M": {"x": {"L": [{"BS": []}]}}}, "One or more parameter values were invalid: An binary set  may not be empty"),
    ],
)
def test_invalid_values_are_refused_with_dynamodbs_words(value: Any, message: str) -> None:
    assert refused(value) == message


def test_thirty_eight_digits_are_kept_exactly() -> None:
    digits = "12345678901234567890123456789012345678"
    assert check_value({"N": digits}) == {"N": digits}
    assert check_value({"N": "9.9999999999999999999999999999999999999E+125"})["N"].startswith("99999")


def test_number_text_orders_numerically() -> None:
    numbers = [
        Decimal(x)
        for x in (
            "-1e125",
            "-12",
            "-1.5",
            "-1.25",
            "-1",
            "-0.12",
            "-0.123",
            "-1e-130",
            "0",
            "1e-130",
            "0.12",
            "0.123",
            "1",
            "1.25",
            "1.5",
            "12",
            "100",
            "9.9e125",
        )
    ]
    shuffled = numbers[:]
    random.Random(7).shuffle(shuffled)
    ordered = sorted(shuffled, key=lambda d: sort_text(check_value({"N": str(d)})))
    assert ordered == sorted(numbers)


def test_strings_order_by_utf8_bytes_and_binaries_by_bytes() -> None:
    # U+FF61 sorts after U+1F600 in UTF-16 but before it in UTF-8 bytes, which DynamoDB uses.
    texts = ["\U0001f600", "\uff61", "a", "B", ""]
    assert sorted(texts, key=lambda t: sort_text({"S": t})) == sorted(texts, key=lambda t: t.encode("utf-8"))
    blobs = [b"\xff", b"\x00\x01", b"\x00", b"\x10"]
    assert sorted(blobs, key=lambda b: sort_text({"B": b})) == sorted(blobs)


def test_item_size_counts_names_and_values() -> None:
    assert item_size({"ab": {"S": "héllo"}}) == 2 + 6
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert item_size({"m": {"M": {"k": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1


def test_plain_json_round_trips_as_the_metadata_table_needs() -> None:
    plain = {"i": 12345678901234567, "f": 0.1, "tiny": 1e-7, "whole": 2.0, "b": False, "n": None, "l": [1, "x"], "m": {"k": [None]}}
    typed = {k: from_plain(v) for k, v in plain.items()}
    assert typed["f"] == {"N": "0.1"}
    assert typed["tiny"] == {"N": "0.0000001"}
    assert {k: to_plain(v) for k, v in typed.items()} == plain
    assert to_plain({"SS": ["b", "a"]}) == ["a", "b"]
    with pytest.raises(DynamoDbError):
        from_plain(float("nan"))

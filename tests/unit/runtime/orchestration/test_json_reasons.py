"""Why a JSON text is refused, in the words Step Functions' parser uses (recorded against AWS where noted)."""

from __future__ import annotations

import json

import pytest

from sluiceway.runtime.orchestration.json_reasons import jackson_location, jackson_reason

VALUES = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"


def reason(text: str) -> str:
    try:
        json.loads(text)
    except ValueError as exc:
        return jackson_reason(text, exc)
    raise AssertionError(f"{text!r} is JSON")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Both recorded against AWS (StartExecution's InvalidExecutionInput).
        ("not some json", f"Unrecognized token 'not': was expecting {VALUES}"),
        ("{'not': 'json'", "Unexpected character (''' (code 39)): was expecting double-quote to start field name"),
        ('{"a" 1}', "Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value"),
        ('{"a": 1 "b": 2}', "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries"),
        ("[1 2]", "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries"),
        ('{"s": "]", "a": [1, {"b": 2} 3]}', "Unexpected character ('3' (code 51)): was expecting comma to separate Array entries"),
        ("[}", f"Unexpected character ('}}' (code 125)): expected a valid value {VALUES}"),
        ('{"a":\n\x01}', f"Unexpected character (CTRL-CHAR, code 1): expected a valid value {VALUES}"),
    ],
)
def test_reasons_read_as_aws_parser_words_them(text: str, expected: str) -> None:
    assert reason(text) == expected


def test_other_problems_keep_python_words() -> None:
    assert reason('{"a": 1') == "Expecting ',' delimiter: line 1 column 8 (char 7)"  # ended early: nothing to quote
    assert reason("1 2") == "Extra data: line 1 column 3 (char 2)"


def test_locations_count_lines_and_columns_from_one() -> None:
    text = '{\n  "a": nope}'
    try:
        json.loads(text)
    except ValueError as exc:
        assert jackson_location(text, exc) == '[Source: (String)"{\n  "a": nope}"; line: 2, column: 12]'
    long = "x" * 600
    try:
        json.loads(long)
    except ValueError as exc:
        assert jackson_location(long, exc) == f'[Source: (String)"{"x" * 500}"[truncated 100 chars]; line: 1, column: 601]'

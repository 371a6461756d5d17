"""The intrinsic functions: results typed as AWS returns them, failures as StatesError."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from sluiceway.asl import intrinsics
from sluiceway.errors import StatesError
from sluiceway.jsonpath import Scope

SCOPE = Scope(
    input={
        "name": "Arnav",
        "template": "Hello, my name is {}.",
        "numbers": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        "obj": {"Arg1": 1, "Arg2": []},
        "float": 1.1,
        "big": 1e20,
        "none": None,
        "flag": True,
        "text": "This.is+a,test=string",
    },
    context={"StateMachine": {"Name": "my-state-machine-name"}},
    variables={"greeting": "hi", "n": 5},
)


def ev(expression: str, rng: random.Random | None = None) -> Any:
    return intrinsics.evaluate(expression, SCOPE, rng)


def failure(expression: str, rng: random.Random | None = None) -> StatesError:
    with pytest.raises(StatesError) as caught:
        ev(expression, rng)
    return caught.value


# --- States.Format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('Hello, my name is {}.', $.name)", "Hello, my name is Arnav."),
        ("States.Format($.template, $.name)", "Hello, my name is Arnav."),
        ("States.Format('{} and {}', $.float, $.none)", "1.1 and null"),
        ("States.Format('{}', $.obj)", "{Arg1=1, Arg2=[]}"),
        ("States.Format('{}', $.numbers)", "[1, 2, 3, 4, 5, 6, 7, 8, 9]"),
        ("States.Format('{}|{}|{}', $.big, $.flag, 101)", "1.0E20|true|101"),
        ("States.Format('{} {}', $greeting, $$.StateMachine.Name)", "hi my-state-machine-name"),
        ("States.Format('it\\'s \\{\\} {}', 'x')", "it's {} x"),
        ("States.Format('back\\\\slash {}', 1)", "back\\slash 1"),
        ("States.Format('no placeholders')", "no placeholders"),
        ("States.Format('{}', 'a{}b')", "a{}b"),
    ],
)
def test_format(expression: str, expected: str) -> None:
    assert ev(expression) == expected


def test_format_needs_one_value_per_placeholder() -> None:
    assert failure("States.Format('{} {}', 1)").error == "States.IntrinsicFailure"
    assert failure("States.Format('{}', 1, 2)").error == "States.IntrinsicFailure"
    assert failure("States.Format($.numbers)").error == "States.IntrinsicFailure"


# --- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("  ", None),
        ("1.1", 1.1),
        ("1", 1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"a": {"b": null}}', {"a": {"b": None}}),
    ],
)
def test_string_to_json(text: str, expected: Any) -> None:
    result = intrinsics.evaluate("States.StringToJson($.s)", Scope({"s": text}), None)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("text", ["{", "NaN", "Infinity", "[1,]"])
def test_string_to_json_rejects_invalid_json(text: str) -> None:
    with pytest.raises(StatesError) as caught:
        intrinsics.evaluate("States.StringToJson($.s)", Scope({"s": text}), None)
    assert caught.value.error == "States.IntrinsicFailure"


def test_string_to_json_of_a_literal_with_unescaped_braces() -> None:
    # Recorded on AWS: braces need no escaping outside States.Format.
    assert ev("""States.StringToJson('{"k": "false"}')""") == {"k": "false"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (0, "0"),
        (1.1, "1.1"),
        (2.0, "2.0"),
        ("HelloWorld", '"HelloWorld"'),
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
        ([1e20, "é"], '[1.0E20,"é"]'),
    ],
)
def test_json_to_string_is_compact_json(value: Any, expected: str) -> None:
    assert intrinsics.evaluate("States.JsonToString($.v)", Scope({"v": value}), None) == expected


def test_json_merge_is_shallow_and_the_second_object_wins() -> None:
    scope = Scope({"a": {"x": {"x1": 1}, "b": 2, "d": 3}, "b": {"x": {"x3": 1}, "c": 3, "d": 4}})
    assert intrinsics.evaluate("States.JsonMerge($.a, $.b, false)", scope, None) == {
        "x": {"x3": 1},
        "b": 2,
        "d": 4,
        "c": 3,
    }
    assert scope.input["a"] == {"x": {"x1": 1}, "b": 2, "d": 3}


@pytest.mark.parametrize(
    "expression",
    [
        "States.JsonMerge($.obj, $.obj, true)",
        "States.JsonMerge($.obj, $.numbers, false)",
        "States.JsonMerge($.obj, $.obj, 'false')",
    ],
)
def test_json_merge_failures(expression: str) -> None:
    assert failure(expression).error == "States.IntrinsicFailure"


# --- arrays -----------------------------------------------------------------------------------


def test_array_collects_any_values_in_order() -> None:
    assert ev("States.Array('a', 1, 1.5, true, null, $.obj, States.Array())") == [
        "a",
        1,
        1.5,
        True,
        None,
        {"Arg1": 1, "Arg2": []},
        [],
    ]


@pytest.mark.parametrize(
    ("array", "size", "expected"),
    [
        ([], 1, []),
        ([0], 4, [[0]]),
        ([0, 1, 2], 1, [[0], [1], [2]]),
        ([0, 1, 2, 3], 3, [[0, 1, 2], [3]]),
    ],
)
def test_array_partition(array: list[int], size: int, expected: list[list[int]]) -> None:
    scope = Scope({"a": array, "n": size})
    assert intrinsics.evaluate("States.ArrayPartition($.a, $.n)", scope, None) == expected


@pytest.mark.parametrize("size", [0, -1, "2"])
def test_array_partition_needs_a_positive_chunk_size(size: Any) -> None:
    with pytest.raises(StatesError):
        intrinsics.evaluate("States.ArrayPartition($.a, $.n)", Scope({"a": [1], "n": size}), None)


@pytest.mark.parametrize(
    ("array", "value", "expected"),
    [
        ([], 1, False),
        ([True, False], True, True),
        ([1, 0], True, False),
        ([True], 1, False),
        ([1], 1.0, True),
        ([{"1": 2, "2": []}], {"1": 2, "2": []}, True),
        ([[1, True]], [1, 1], False),
        ([None], None, True),
        (["1"], 1, False),
    ],
)
def test_array_contains_uses_json_equality(array: list[Any], value: Any, expected: bool) -> None:
    scope = Scope({"a": array, "v": value})
    assert intrinsics.evaluate("States.ArrayContains($.a, $.v)", scope, None) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.ArrayRange(0, 9, 3)", [0, 3, 6, 9]),
        ("States.ArrayRange(0, 10, 3)", [0, 3, 6, 9]),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(9, 1, -4)", [9, 5, 1]),
        ("States.ArrayRange(5, 1, 1)", []),
        ("States.ArrayRange(0, 999, 1)", list(range(1000))),
    ],
)
def test_array_range_includes_the_end(expression: str, expected: list[int]) -> None:
    assert ev(expression) == expected


@pytest.mark.parametrize(
    "expression",
    ["States.ArrayRange(0, 1000, 1)", "States.ArrayRange(0, 3, 0)", "States.ArrayRange('0', 3, 1)"],
)
def test_array_range_limits(expression: str) -> None:
    assert failure(expression).error == "States.IntrinsicFailure"


def test_array_get_item_and_length() -> None:
    assert ev("States.ArrayGetItem($.numbers, 5)") == 6
    assert ev("States.ArrayGetItem($.numbers, $n)") == 6
    length = ev("States.ArrayLength($.numbers)")
    assert length == 9 and type(length) is int
    for bad in (
        "States.ArrayGetItem($.numbers, 9)",
        "States.ArrayGetItem($.numbers, -1)",
        "States.ArrayGetItem($.numbers, 1.5)",
        "States.ArrayGetItem($.obj, 0)",
        "States.ArrayLength($.obj)",
    ):
        assert failure(bad).error == "States.IntrinsicFailure", bad


def test_array_unique_keeps_first_occurrences_and_tells_true_from_one() -> None:
    scope = Scope(
        {"a": [1, 1, True, True, 1.0, 0, False, None, None, "1", [1], [1], {"a": 1}, {"a": 1}]}
    )
    assert intrinsics.evaluate("States.ArrayUnique($.a)", scope, None) == [
        1,
        True,
        0,
        False,
        None,
        "1",
        [1],
        {"a": 1},
    ]


# --- encoding and hashing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [("", ""), ("Data to encode", "RGF0YSB0byBlbmNvZGU="), ("héllo", "aMOpbGxv")],
)
def test_base64_round_trip(raw: str, encoded: str) -> None:
    assert intrinsics.evaluate("States.Base64Encode($.v)", Scope({"v": raw}), None) == encoded
    assert intrinsics.evaluate("States.Base64Decode($.v)", Scope({"v": encoded}), None) == raw


@pytest.mark.parametrize("value", ["not base64!", "x" * 10_001, 12])
def test_base64_failures(value: Any) -> None:
    with pytest.raises(StatesError) as caught:
        intrinsics.evaluate("States.Base64Decode($.v)", Scope({"v": value}), None)
    assert caught.value.error == "States.IntrinsicFailure"


_SHA384 = (
    "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6"
    "123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"
)
_SHA512 = (
    "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce"
    "2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4"
)


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        ("SHA-384", _SHA384),  # recorded on AWS
        ("SHA-512", _SHA512),  # recorded on AWS
    ],
)
def test_hash_gives_lowercase_hex(algorithm: str, digest: str) -> None:
    scope = Scope({"v": "input data", "a": algorithm})
    assert intrinsics.evaluate("States.Hash($.v, $.a)", scope, None) == digest


def test_hash_failures() -> None:
    assert failure("States.Hash($.name, 'SHA-3')").error == "States.IntrinsicFailure"
    assert failure("States.Hash($.numbers, 'MD5')").error == "States.IntrinsicFailure"


# --- math -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    # Recorded on AWS: each argument is rounded half up (Java's Math.round) before adding.
    [
        (-9, 3, -6),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (1.49, -1.49, 0),
        (1.5, 0, 2),
        (-1.5, 0, -1),
        (0.5, 0, 1),
        (3.5, 0, 4),
        (-0.5, 0.5, 1),
        (-2.5, 0, -2),
        (-3.5, 0, -3),
    ],
)
def test_math_add_rounds_each_argument_half_up(a: float, b: float, expected: int) -> None:
    result = intrinsics.evaluate("States.MathAdd($.a, $.b)", Scope({"a": a, "b": b}), None)
    assert result == expected and type(result) is int


def test_math_add_failures() -> None:
    assert failure("States.MathAdd($.name, 1)").error == "States.IntrinsicFailure"
    assert failure("States.MathAdd($.flag, 1)").error == "States.IntrinsicFailure"
    assert failure("States.MathAdd(2147483648, 1)").error == "States.IntrinsicFailure"


def test_math_random_stays_in_range_and_replays_with_the_same_rng() -> None:
    values = [ev("States.MathRandom(-99999, -9999)", random.Random(s)) for s in range(50)]
    assert all(-99999 <= v < -9999 and type(v) is int for v in values)
    assert values == [ev("States.MathRandom(-99999, -9999)", random.Random(s)) for s in range(50)]
    assert len(set(values)) > 40


def test_seeded_math_random_does_not_depend_on_the_rng() -> None:
    first = ev("States.MathRandom(0, 999, 3)", random.Random(1))
    assert first == ev("States.MathRandom(0, 999, 3)", random.Random(2))
    assert 0 <= first < 999


def test_math_random_failures() -> None:
    assert failure("States.MathRandom(5, 5)", random.Random(0)).error == "States.IntrinsicFailure"
    with pytest.raises(ValueError, match="random source"):
        ev("States.MathRandom(0, 5)")


# --- strings and ids --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiters", "expected"),
    [
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]),
        ("a,,b,", ",", ["a", "b"]),
        (",,,", ",", []),
        ("", ",", []),
        ("abc", "", ["abc"]),
        ("a]b[c", "[]", ["a", "b", "c"]),
    ],
)
def test_string_split_treats_each_character_as_a_delimiter(
    text: str, delimiters: str, expected: list[str]
) -> None:
    scope = Scope({"t": text, "d": delimiters})
    assert intrinsics.evaluate("States.StringSplit($.t, $.d)", scope, None) == expected


def test_uuid_is_v4_and_reproducible_from_the_rng() -> None:
    first = ev("States.UUID()", random.Random(42))
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first
    )
    assert first == ev("States.UUID()", random.Random(42))
    assert first != ev("States.UUID()", random.Random(43))


# --- nesting, paths, parsing ------------------------------------------------------------------


def test_nested_calls() -> None:
    # Recorded on AWS (the last part of the state machine's name).
    expression = (
        "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), "
        "States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))"
    )
    assert ev(expression) == "name"


def test_a_missing_path_argument_is_a_runtime_error_naming_the_field() -> None:
    with pytest.raises(StatesError) as caught:
        intrinsics.evaluate("States.ArrayLength($.nope)", Scope({"a": 1}), None, field="n.$")
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "The JSONPath '$.nope' specified for the field 'n.$' could not be found in the input "
        """'{"a":1}'"""
    )


def test_path_arguments_may_use_brackets_filters_and_quotes() -> None:
    scope = Scope({"a b": [{"x": 1}, {"x": 2}], "c,d": "v"})
    assert intrinsics.evaluate("States.Array($['a b'][?(@.x > 1)].x, $['c,d'])", scope, None) == [
        [2],
        "v",
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "States.Nope()",
        "States.UUID(1)",
        "States.ArrayLength()",
        "States.Format()",
        "States.MathRandom(1)",
        "States.Format('x'",
        "States.Format('x)",
        "States.Array(,)",
        "States.Array(1) extra",
        "States.Array(foo)",
        "States.Array($.a[)",
        "Format('x')",
        "States.Array(" * 11 + ")" * 11,
    ],
)
def test_invalid_calls_are_reported_by_validate_and_fail_at_runtime(expression: str) -> None:
    assert intrinsics.validate(expression)
    assert failure(expression).error == "States.Runtime"


def test_valid_calls_validate_and_are_parsed_once() -> None:
    expression = "States.Array( 1 , -2.5e1, 'x', true, false, null, $, $$.a, $v.b )"
    assert intrinsics.validate(expression) == []
    assert intrinsics.parse(expression) is intrinsics.parse(expression)
    assert intrinsics.validate("States.Array(" * 10 + ")" * 10) == []


def test_literal_numbers_keep_int_or_float() -> None:
    values = ev("States.Array(1, -2, 1.0, 2e3)")
    assert [type(v) for v in values] == [int, int, float, float]


def test_is_intrinsic() -> None:
    assert intrinsics.is_intrinsic("States.Format('{}', $.a)") and intrinsics.is_intrinsic("States.UUID()")
    assert not intrinsics.is_intrinsic("$.a") and not intrinsics.is_intrinsic("States.Format") and not intrinsics.is_intrinsic(None)

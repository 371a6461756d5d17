"""Tests for sluiceway.asl.jsonata: Step Functions' flavour of JSONata."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import re
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sluiceway.asl.jsonata import (
    QUERY_EVALUATION_ERROR,
    UNDEFINED,
    evaluate,
    expression_text,
    is_expression,
    resolve,
    syntax_error,
)
from sluiceway.errors import StatesError

NOW = datetime(2024, 11, 22, 10, 30, 15, 123000, tzinfo=UTC)


def run(expression: str, bindings: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    rng = kwargs.pop("rng", random.Random(7))
    return evaluate(expression, bindings or {}, rng, field="Output", now=NOW, **kwargs)


def failure(expression: str, bindings: dict[str, Any] | None = None) -> str:
    with pytest.raises(StatesError) as caught:
        run(expression, bindings)
    assert caught.value.error == QUERY_EVALUATION_ERROR
    return caught.value.cause


def states(input_: Any) -> dict[str, Any]:
    return {"states": {"input": input_}}


# --- recognising expressions -------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["{% $x %}", "{%$x%}", "{% 1 %}", "{%\n  $states.input\n%}", "{%%}"],
)
def test_is_expression_accepts_delimited_strings(value: str) -> None:
    assert is_expression(value)


@pytest.mark.parametrize(
    "value",
    [
        " {% $x %}",
        "{% $x %} ",
        " {% states.input %} ",
        "$x",
        "{% $x",
        "$x %}",
        "{%}",
        None,
        1,
        ["{% 1 %}"],
    ],
)
def test_is_expression_rejects_everything_else(value: Any) -> None:
    assert not is_expression(value)


def test_expression_text_strips_delimiters_and_inner_whitespace() -> None:
    assert expression_text("{%   $doesNotExist \n %}") == "$doesNotExist"


def test_expression_text_refuses_a_literal() -> None:
    with pytest.raises(ValueError, match="not a JSONata expression"):
        expression_text(" {% $x %}")


def test_syntax_error_reports_jsonata_code_and_message() -> None:
    assert syntax_error("$sum([1, 2])") is None
    assert syntax_error("a b") == 'S0201: Syntax error: "b"'
    assert syntax_error("") == "S0207: Unexpected end of expression"


# --- bindings, null and undefined --------------------------------------------------------


def test_states_and_workflow_variables_are_bound_as_dollar_names() -> None:
    bindings = {
        "states": {"input": {"values": [1, 2, 3]}, "context": {"State": {"Name": "S"}}},
        "bonus": 10,
        "label": "total",
    }
    assert run("{$label: $sum($states.input.values) + $bonus}", bindings) == {"total": 16}
    assert run("$states.context.State.Name", bindings) == "S"


def test_there_is_no_context_item() -> None:
    assert run("$", states({"a": 1})) is UNDEFINED


def test_missing_value_is_undefined_not_null() -> None:
    bindings = states({"present": None})
    assert run("$states.input.present", bindings) is None
    assert run("$states.input.absent", bindings) is UNDEFINED
    assert run("$doesNotExist", bindings) is UNDEFINED


def test_json_null_stays_a_value_inside_expressions() -> None:
    bindings = states({"n": None, "items": [1, None], "obj": {"k": None}})
    assert run("$type($states.input.n)", bindings) == "null"
    assert run("$exists($states.input.n)", bindings) is True
    assert run("$count($states.input.n)", bindings) == 1
    assert run("$states.input.items", bindings) == [1, None]
    assert run("{'v': $states.input.n}", bindings) == {"v": None}
    assert run("$string($states.input.obj)", bindings) == '{"k":null}'


def test_undefined_sentinel_is_falsy_and_named() -> None:
    assert not UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"


def test_an_object_constructor_drops_undefined_members() -> None:
    assert run("{'a': $missing, 'b': 1}") == {"b": 1}


def test_results_are_plain_json() -> None:
    bindings = states({"orders": [{"items": [1, 2]}, {"items": [3]}], "f": 2.0, "empty": []})
    result = run("$states.input.orders.items", bindings)
    assert result == [1, 2, 3] and type(result) is list
    assert run("$states.input.empty", bindings) == []
    whole = run("$states.input.f", bindings)
    assert whole == 2 and type(whole) is int
    assert run("0.5 + 0.25") == 0.75
    assert run("function($x) { $x }") is UNDEFINED
    assert run("{'f': function($x) { $x }, 'g': 1}") == {"g": 1}


def test_evaluation_never_modifies_the_bindings() -> None:
    bindings = states({"obj": {"a": [3, 1, 2], "n": None}})
    before = copy.deepcopy(bindings)
    run("$states.input.obj ~> | $ | {'b': 2} |", bindings)
    run("$sort($states.input.obj.a)", bindings)
    result = run("$states.input.obj", bindings)
    result["a"].append(99)
    assert bindings == before


# --- Step Functions' functions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$partition([1, 2, 3, 4], 2)", [[1, 2], [3, 4]]),
        ("$partition([0, 1, 2], 2)", [[0, 1], [2]]),
        ("$partition([0], 4)", [[0]]),
        ("$partition([0, 1, 2, 3], 1)", [[0], [1], [2], [3]]),
        ("$partition([1, 2, 3], 2.9)", [[1, 2], [3]]),
        ("$partition([{'a': null}], 1)", [[{"a": None}]]),
    ],
)
def test_partition(expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "$partition([], 2)",
        "$partition([1, 2], 0)",
        "$partition([1, 2], -1)",
        "$partition($missing, 2)",
    ],
)
def test_partition_yields_undefined_for_nothing_to_split(expression: str) -> None:
    assert run(expression) is UNDEFINED


def test_partition_checks_its_chunk_size() -> None:
    assert failure("$partition([1], 'two')").endswith(
        'T0410: Argument 2 of function "partition" does not match function signature'
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("$range(0, 10, 2)", [0, 2, 4, 6, 8, 10]),
        ("$range(0, 9, 3)", [0, 3, 6, 9]),
        ("$range(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("$range(1, 8, 2)", [1, 3, 5, 7]),
        ("$range(9, 1, -2)", [9, 7, 5, 3, 1]),
        ("$range(-1.7, 2, 1)", [-1, 0, 1, 2]),
        ("$range(3, 3, 1)", 3),
        ("$append([], $range(7, 7, 1))", [7]),
    ],
)
def test_range(expression: str, expected: Any) -> None:
    assert run(expression) == expected


@pytest.mark.parametrize(
    "expression",
    ["$range(0, 4)", "$range(0, 4, 0)", "$range(3, 1, 1)", "$range(1, 3, -1)", "$range(1, $x, 1)"],
)
def test_range_yields_undefined_without_a_usable_step(expression: str) -> None:
    assert run(expression) is UNDEFINED


def test_range_checks_argument_types_and_size() -> None:
    assert failure("$range('0', 4, 1)") == (
        "The JSONata expression '$range('0', 4, 1)' specified for the field 'Output' "
        "threw an error during evaluation. "
        'T0410: Argument 1 of function "range" does not match function signature'
    )
    assert len(run("$range(1, 360145, 1)")) == 360145
    assert failure("$range(1, 360146, 1)").endswith(
        "threw an error during evaluation: Expression evaluation memory limit exceeded: "
        "Check for excessive memory usage"
    )


@pytest.mark.parametrize(
    ("algorithm", "hashlib_name"),
    [
        ("MD5", "md5"),
        ("SHA-1", "sha1"),
        ("SHA-256", "sha256"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
    ],
)
def test_hash_supports_the_five_algorithms(algorithm: str, hashlib_name: str) -> None:
    expected = hashlib.new(hashlib_name, "input data ✓".encode()).hexdigest()
    assert run(f"$hash('input data ✓', '{algorithm}')") == expected


def test_hash_known_digest_and_edge_cases() -> None:
    assert run("$hash('input data', 'SHA-256')") == (
        "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"
    )
    assert run("$hash('x')") is UNDEFINED
    assert run("$hash($missing, 'MD5')") is UNDEFINED
    assert "The hash algorithm 'sha-256' is not supported" in failure("$hash('x', 'sha-256')")
    assert failure("$hash(1, 'MD5')").endswith(
        'T0410: Argument 1 of function "hash" does not match function signature'
    )


def test_random_draws_from_the_given_rng() -> None:
    value = run("$random()", rng=random.Random(3))
    assert value == random.Random(3).random()
    assert 0 <= value < 1


def test_seeded_random_is_reproducible_and_independent_of_rng() -> None:
    first = run("$random(42)", rng=random.Random(1))
    second = run("$random(42)", rng=random.Random(2))
    assert first == second
    assert 0 <= first < 1
    assert run("$random(43)") != first
    assert run("$random(42.0)") == first
    assert "T0410" in failure("$random('seed')")


def test_uuid_is_a_version_4_uuid_drawn_from_rng() -> None:
    value = run("$uuid()", rng=random.Random(5))
    parsed = uuid.UUID(value)
    assert parsed.version == 4 and str(parsed) == value
    assert run("$uuid()", rng=random.Random(5)) == value
    assert run("$uuid()", rng=random.Random(6)) != value


def test_one_evaluation_draws_each_random_value_separately() -> None:
    first, second = run("[$uuid(), $uuid()]", rng=random.Random(9))
    assert first != second


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2.5, null, true]}', {"a": [1, 2.5, None, True]}),
        ('"HelloWorld"', "HelloWorld"),
        ("-0", 0),
        ("1", 1),
        ("null", None),
    ],
)
def test_parse(text: str, expected: Any) -> None:
    assert run("$parse($states.input.text)", states({"text": text})) == expected


def test_parse_refuses_invalid_json() -> None:
    assert "Unable to parse the JSON string" in failure("$parse('{nope')")
    assert "Unable to parse the JSON string" in failure("$parse('NaN')")
    assert run("$parse($missing)") is UNDEFINED


def test_eval_is_not_available() -> None:
    assert failure("$eval('1 + 1')") == (
        "The JSONata expression '$eval('1 + 1')' specified for the field 'Output' threw an error "
        "during evaluation. T1006: Attempted to invoke a non-function"
    )


def test_now_and_millis_answer_the_given_time() -> None:
    assert run("$now()") == "2024-11-22T10:30:15.123Z"
    assert run("$millis()") == 1732271415123
    assert run("$now('[Y0001]-[M01]-[D01]')") == "2024-11-22"
    assert run("$now() = $now()") is True


def test_now_treats_a_naive_time_as_utc_and_converts_aware_ones() -> None:
    naive = datetime(2024, 1, 1, 0, 0, 0)
    assert (
        evaluate("$now()", {}, random.Random(0), field="Output", now=naive)
        == "2024-01-01T00:00:00.000Z"
    )
    plus_two = datetime(2024, 1, 1, 2, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert (
        evaluate("$millis()", {}, random.Random(0), field="Output", now=plus_two) == 1704067200000
    )


def test_now_without_a_time_is_a_caller_mistake() -> None:
    with pytest.raises(ValueError, match="pass now="):
        evaluate("$now()", {}, random.Random(0), field="Output")
    assert evaluate("1 + 1", {}, random.Random(0), field="Output") == 2


def test_jsonata_built_ins_still_work() -> None:
    bindings = states({"names": ["b", "a"], "price": 4.5})
    assert run("$join($sort($states.input.names), ',')", bindings) == "a,b"
    assert run("$map([1, 2], function($v) { $v * 10 })") == [10, 20]
    assert run("$formatNumber($states.input.price, '#0.00')", bindings) == "4.50"
    assert run("$contains('hello$world', /^hello\\$/)") is True


# --- error messages ------------------------------------------------------------------------


def test_unknown_function_message_matches_aws() -> None:
    cause = failure(
        "$randomSeeded($states.input.FunctionInput.fst)", states({"FunctionInput": "fst"})
    )
    assert cause == (
        "The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' "
        "specified for the field 'Output' threw an error during evaluation. "
        "T1006: Attempted to invoke a non-function"
    )


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("'a' + 1", '. T2001: The left side of the "+" operator must evaluate to a number'),
        ("$sum(['a'])", '. T0412: Argument 1 of function "sum" must be an array of "numbers"'),
        ("1 / 0", ". D1001: Number out of range"),
        ("a b", '. S0201: Syntax error: "b"'),
        (
            "$replace('abc', '', 'x')",
            ". D3010: Second argument of replace function cannot be an empty string",
        ),
        ("$number('x')", ": could not convert string to float: 'x'"),
    ],
)
def test_evaluation_errors_name_expression_field_and_jsonata_code(
    expression: str, detail: str
) -> None:
    assert failure(expression) == (
        f"The JSONata expression '{expression}' specified for the field 'Output' "
        f"threw an error during evaluation{detail}"
    )


def test_field_name_is_used_verbatim() -> None:
    with pytest.raises(StatesError) as caught:
        evaluate("$x()", {}, random.Random(0), field="Choices[1]/Condition")
    assert "specified for the field 'Choices[1]/Condition' threw" in caught.value.cause


# --- resolve ---------------------------------------------------------------------------------


def test_resolve_evaluates_nested_expressions_and_keeps_literals_and_keys() -> None:
    template = {
        "constant_null": None,
        "constant_float": 0.1,
        "constant_not_jsonata": " {% states.input %} ",
        "constant_path": "$.input_value",
        "{% $states.input.input_value %}": "key not evaluated",
        "constant_jp_input.$": "$",
        "list": [None, "{% $states.input.input_value %}", {"k": "{% true %}"}],
        "sum": "{% $sum($states.input.input_values) + $one %}",
    }
    bindings = {"states": {"input": {"input_value": "s", "input_values": [1, 2, 3]}}, "one": 1}
    original = copy.deepcopy(template)
    assert resolve(template, bindings, random.Random(0), field="Output") == {
        "constant_null": None,
        "constant_float": 0.1,
        "constant_not_jsonata": " {% states.input %} ",
        "constant_path": "$.input_value",
        "{% $states.input.input_value %}": "key not evaluated",
        "constant_jp_input.$": "$",
        "list": [None, "s", {"k": True}],
        "sum": 7,
    }
    assert template == original


@pytest.mark.parametrize("template", [None, 0, 0.1, "string literal", [], {}, True])
def test_resolve_keeps_non_expression_fields(template: Any) -> None:
    assert resolve(template, {}, random.Random(0), field="Output") == template


def test_resolve_returns_a_copy_of_literal_containers() -> None:
    template = {"a": [1, {"b": 2}]}
    result = resolve(template, {}, random.Random(0), field="Output")
    result["a"][1]["b"] = 3
    assert template == {"a": [1, {"b": 2}]}


def test_resolve_whole_field_undefined_message_matches_aws() -> None:
    with pytest.raises(StatesError) as caught:
        resolve(
            "{% $doesNotExist %}", {"states": {"input": {}}}, random.Random(0), field="Arguments"
        )
    assert caught.value.error == "States.QueryEvaluationError"
    assert caught.value.cause == (
        "The JSONata expression '$doesNotExist' specified for the field 'Arguments' "
        "returned nothing (undefined)."
    )


@pytest.mark.parametrize(
    ("template", "field", "expression", "where"),
    [
        (
            {"FunctionName": "{% $doesNotExist %}"},
            "Arguments",
            "$doesNotExist",
            "Arguments/FunctionName",
        ),
        ({"result": "{% $doesNotExist %}"}, "Assign", "$doesNotExist", "Assign/result"),
        (
            {"a": {"b": ["x", "{% $states.input.absent %}"]}},
            "Output",
            "$states.input.absent",
            "Output/a/b[1]",
        ),
        (["{% $nothing %}"], "Catch[0]/Output", "$nothing", "Catch[0]/Output[0]"),
    ],
)
def test_resolve_fails_a_nested_undefined_value_naming_its_place(
    template: Any, field: str, expression: str, where: str
) -> None:
    with pytest.raises(StatesError) as caught:
        resolve(template, {"states": {"input": {}}}, random.Random(0), field=field)
    assert caught.value.cause == (
        f"The JSONata expression '{expression}' specified for the field '{where}' "
        "returned nothing (undefined)."
    )


def test_resolve_keeps_json_null_results() -> None:
    result = resolve(
        {"v": "{% $states.input.bar %}"}, states({"bar": None}), random.Random(0), field="Output"
    )
    assert result == {"v": None}


@pytest.mark.parametrize(
    ("value", "type_name", "shown"),
    [
        (True, "boolean", "true"),
        (1, "number", "1"),
        (None, "null", "null"),
        ("a", "string", '"a"'),
        ({"k": 1}, "object", '{"k":1}'),
    ],
)
def test_resolve_checks_the_expected_type_of_a_whole_field(
    value: Any, type_name: str, shown: str
) -> None:
    with pytest.raises(StatesError) as caught:
        resolve(
            "{% $ItemsVar %}",
            {"ItemsVar": value},
            random.Random(0),
            field="Items",
            expected="array",
        )
    assert caught.value.cause == (
        "The JSONata expression '$ItemsVar' specified for the field 'Items' "
        "returned an unexpected result type. "
        f"Expected 'array', but was '{type_name}' for value: {shown}"
    )


def test_resolve_accepts_the_expected_type() -> None:
    assert resolve("{% [] %}", {}, random.Random(0), field="Items", expected="array") == []
    assert resolve([1], {}, random.Random(0), field="Items", expected="array") == [1]
    assert (
        resolve("{% $v := 1 %}", {}, random.Random(0), field="MaxConcurrency", expected="number")
        == 1
    )


def test_resolve_reports_evaluation_errors_with_the_nested_field() -> None:
    with pytest.raises(StatesError) as caught:
        resolve({"FunctionResult": "{% $randomSeeded(1) %}"}, {}, random.Random(0), field="Output")
    assert caught.value.cause == (
        "The JSONata expression '$randomSeeded(1)' specified for the field 'Output/FunctionResult' "
        "threw an error during evaluation. T1006: Attempted to invoke a non-function"
    )


def test_seeded_rng_replays_a_template_exactly() -> None:
    template = {
        "id": "{% $uuid() %}",
        "draws": ["{% $random() %}", "{% $random() %}"],
        "fixed": "{% $random(1) %}",
    }

    def once(seed: int) -> Any:
        return resolve(template, {}, random.Random(seed), field="Output")

    assert once(11) == once(11)
    assert once(11)["id"] != once(12)["id"]
    assert once(11)["draws"][0] != once(11)["draws"][1]
    assert once(11)["fixed"] == once(12)["fixed"]


# --- threads ---------------------------------------------------------------------------------


def test_concurrent_evaluations_do_not_interfere() -> None:
    expression = (
        "{'n': $states.input.n, 'doubled': $map($states.input.items, function($v) { $v * $k }),"
        " 'at': $millis(), 'u': $uuid(),"
        " 'p': ($cut := $substring(?, 0, 3); $cut($string($states.input.n)))}"
    )
    workers = 6
    rounds = 40
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for round_ in range(rounds):
                n = worker * 1000 + round_
                bindings = {"states": {"input": {"n": n, "items": [1, 2, n]}}, "k": worker + 1}
                now = NOW + timedelta(milliseconds=n)
                result = evaluate(expression, bindings, random.Random(n), field="Output", now=now)
                expected_uuid = str(uuid.UUID(int=random.Random(n).getrandbits(128), version=4))
                assert result == {
                    "n": n,
                    "doubled": [worker + 1, 2 * (worker + 1), n * (worker + 1)],
                    "at": 1732271415123 + n,
                    "u": expected_uuid,
                    "p": str(n)[:3],
                }
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(workers)]
    interval = sys.getswitchinterval()
    # Switch threads as often as possible so that evaluations really interleave.
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []


# --- conformance: Pass/Succeed/Fail machines recorded on AWS -----------------------------------

_CONFORMANCE = (
    Path(os.environ.get("SLUICEWAY_CONFORMANCE_DIR", "/work/shared/conformance")) / "asl.jsonl"
)
_BARE_WORDS = {
    "date",
    "timestamp",
    "RequestId",
    "x-amzn-RequestId",
    "X-Amzn-Trace-Id",
    "start-time",
    "entered-time",
    "snf_role_arn",
    "RandomNumberGenerated",
    "generated-uuid",
}
_TOKEN = re.compile(r"<[^<>]+>")
_SIMPLE_TYPES = {"Pass", "Succeed", "Fail"}


class _UnsupportedError(Exception):
    """The tiny driver below does not implement what the case needs."""


def _state_types(definition: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for state in definition.get("States", {}).values():
        found.add(state["Type"])
        for branch in state.get("Branches", []):
            found |= _state_types(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                found |= _state_types(state[key])
    return found


def _jsonata_cases() -> list[dict[str, Any]]:
    if not _CONFORMANCE.exists():
        return []
    cases = [
        json.loads(line)
        for line in _CONFORMANCE.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [
        case
        for case in cases
        if '"QueryLanguage": "JSONata"' in json.dumps(case["definition"])
        and _state_types(case["definition"]) <= _SIMPLE_TYPES
    ]


def _matches(expected: Any, actual: Any, words: set[str]) -> bool:
    if isinstance(expected, str):
        if expected in words:
            return True
        if _TOKEN.search(expected):
            pattern = ".+".join(re.escape(part) for part in _TOKEN.split(expected))
            return isinstance(actual, str) and re.fullmatch(pattern, actual, re.DOTALL) is not None
        return bool(expected == actual)
    if expected is None or isinstance(expected, bool):
        return actual is expected
    if isinstance(expected, (int, float)):
        return (
            isinstance(actual, (int, float)) and not isinstance(actual, bool) and actual == expected
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(_matches(value, actual[key], words) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_matches(e, a, words) for e, a in zip(expected, actual, strict=True))
        )
    return False


def _path(path: str, data: Any) -> Any:
    if path == "$":
        return data
    if not path.startswith("$.") or any(c in path for c in "[]*@?"):
        raise _UnsupportedError(path)
    for name in path[2:].split("."):
        if not isinstance(data, dict) or name not in data:
            raise _UnsupportedError(f"{path} matches nothing")
        data = data[name]
    return data


def _payload(template: Any, data: Any) -> Any:
    if isinstance(template, dict):
        built: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                built[key[:-2]] = _path(value, data)
            else:
                built[key] = _payload(value, data)
        return built
    if isinstance(template, list):
        return [_payload(item, data) for item in template]
    return template


def _context(case: dict[str, Any], state_name: str) -> dict[str, Any]:
    machine = "arn:aws:states:us-east-1:111111111111:stateMachine:machine"
    return {
        "Execution": {
            "Id": "arn:aws:states:us-east-1:111111111111:execution:machine:run-1",
            "Input": case["input"],
            "StartTime": "2024-11-22T10:30:15.123Z",
            "Name": "run-1",
            "RoleArn": "arn:aws:iam::111111111111:role/sluiceway",
            "RedriveCount": 0,
        },
        "StateMachine": {"Id": machine, "Name": "machine"},
        "State": {"Name": state_name, "EnteredTime": "2024-11-22T10:30:15.123Z"},
    }


def _field(
    state: dict[str, Any], key: str, default: Any, bindings: dict[str, Any], rng: random.Random
) -> Any:
    if key not in state:
        return default
    return resolve(state[key], bindings, rng, field=key, now=NOW)


def _run_case(case: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    """Run a Pass/Succeed/Fail machine; JSONata states go through resolve()."""
    definition = case["definition"]
    top_language = definition.get("QueryLanguage", "JSONPath")
    variables: dict[str, Any] = {}
    rows: list[list[Any]] = []
    data = case["input"]
    name = definition["StartAt"]
    event_id = 1
    rng = random.Random(0)
    while True:
        state = definition["States"][name]
        event_id += 1
        entered = event_id
        rows.append([name, data, None])
        language = state.get("QueryLanguage", top_language)
        try:
            if language == "JSONata":
                bindings = {"states": {"input": data, "context": _context(case, name)}, **variables}

                if state["Type"] == "Fail":
                    error = _field(state, "Error", None, bindings, rng)
                    cause = _field(state, "Cause", None, bindings, rng)
                    return {"status": "FAILED", "error": error, "cause": cause}, rows
                output = _field(state, "Output", data, bindings, rng)
                assigned = _field(state, "Assign", {}, bindings, rng)
            else:
                unsupported = {
                    "InputPath",
                    "OutputPath",
                    "ResultPath",
                    "ResultSelector",
                } & state.keys()
                if any(state[key] != "$" for key in unsupported):
                    raise _UnsupportedError(sorted(unsupported))
                if state["Type"] == "Fail":
                    return {
                        "status": "FAILED",
                        "error": state.get("Error"),
                        "cause": state.get("Cause"),
                    }, rows
                output = _payload(state["Parameters"], data) if "Parameters" in state else data
                output = state.get("Result", output)
                assigned = _payload(state.get("Assign", {}), output)
        except StatesError as exc:
            prefix = (
                f"An error occurred while executing the state '{name}' "
                f"(entered at the event id #{entered}). "
            )
            return {"status": "FAILED", "error": exc.error, "cause": prefix + exc.cause}, rows
        variables.update(assigned)
        event_id += 1
        rows[-1][2] = output
        data = output
        if state["Type"] == "Succeed" or state.get("End"):
            return {"status": "SUCCEEDED", "output": output}, rows
        name = state["Next"]


def _passes(case: dict[str, Any]) -> bool:
    words = _BARE_WORDS | {p for p in case.get("placeholders", []) if not p.startswith("<")}
    try:
        result, rows = _run_case(case)
    except _UnsupportedError:
        return False
    expected = case["expected"]
    if result["status"] != expected["status"]:
        return False
    if expected["status"] == "SUCCEEDED" and not _matches(
        expected["output"], result["output"], words
    ):
        return False
    if expected["status"] == "FAILED" and not (
        _matches(expected["error"], result["error"], words)
        and _matches(expected["cause"], result["cause"], words)
    ):
        return False
    return case["states"] is None or _matches(case["states"], rows, words)


def test_conformance_pass_succeed_fail_machines_in_jsonata_mode() -> None:
    cases = _jsonata_cases()
    if not cases:
        pytest.skip(f"conformance data not found at {_CONFORMANCE}")
    failed = [case["id"] for case in cases if not _passes(case)]
    passed = len(cases) - len(failed)
    print(f"JSONata Pass/Succeed/Fail conformance: {passed}/{len(cases)} passed")
    assert len(cases) >= 30
    assert failed == []


# --- bounded evaluation ------------------------------------------------------------------
# A definition or input must never hang the orchestrator. These tests assert that runaway
# evaluations end with States.QueryEvaluationError; none depends on how fast the machine is
# (each one would run for hours, or forever, without the bound).


def test_a_regex_that_backtracks_catastrophically_ends_with_an_error() -> None:
    # (a|a)* on 40 a's and a mismatch: 2**40 paths for a backtracking engine.
    with pytest.raises(StatesError) as caught:
        run("$match('" + "a" * 40 + "!', /^(a|a)*$/)")
    assert caught.value.error == QUERY_EVALUATION_ERROR
    assert "The regular expression /^(a|a)*$/ did not finish within 1 seconds" in caught.value.cause


def test_nested_quantifiers_are_matched_without_backtracking_blow_up() -> None:
    # The classic (a+)+ case: answered at once (no match), well within any limit.
    assert run("$match('" + "a" * 36 + "!', /^(a+)+$/)") is UNDEFINED
    assert run("$contains('" + "a" * 36 + "!', /^(a+)+$/)") is False


def test_regex_functions_still_behave_as_before() -> None:
    assert run("$replace('abcabc', /(b)(c)/, '$2$1')") == "acbacb"
    assert run("$replace('abc', /(b)/, '$12')") == "ab2c"  # no group 12: group 1, then "2"
    assert run("$replace('abc', /(b)/, '$3')") == "ac"  # no group 3 at all: empty
    assert run("$split('a1b22c', /[0-9]+/)") == ["a", "b", "c"]
    assert run("$match('ABab', /a/i).match") == ["A", "a"]
    assert run("$contains('line1\\nline2', /^line2$/m)") is True
    assert run("$replace('aXbXc', /x/i, function($m) { '-' })") == "a-b-c"
    assert run("/b+/('abbbc').match") == "bbb"


def test_an_infinite_tail_recursive_loop_ends_when_its_steps_run_out() -> None:
    with pytest.raises(StatesError) as caught:
        run("($f := function($x) { $x > 0 ? $f($x) : 0 }; $f(1))", step_limit=10_000)
    assert caught.value.error == QUERY_EVALUATION_ERROR
    assert caught.value.cause.endswith(
        "threw an error during evaluation: The evaluation exceeded its budget of 10000 steps. Check for infinite loop"
    )


def test_the_step_budget_is_a_count_not_a_clock() -> None:
    expression = "$count($map([1..1000], function($v) { $v }))"
    assert run(expression, step_limit=1_100) == 1000
    with pytest.raises(StatesError, match="budget of 900 steps"):
        run(expression, step_limit=900)


def test_an_invalid_regex_is_a_syntax_error_not_a_crash() -> None:
    problem = syntax_error("$match('a', /a{2,1}/)")
    assert problem is not None and problem.startswith("Invalid regular expression: /a{2,1}/: min repeat greater than max repeat")
    # jsonata-python's tokenizer fails on this one with an IndexError of its own.
    problem = syntax_error("$match('a', /*a/)")
    assert problem is not None and problem.startswith("The expression could not be parsed")


@pytest.mark.parametrize(
    "expression",
    [
        "[" * 20_000 + "]" * 20_000,
        "(" * 20_000 + "1" + ")" * 20_000,
        "+".join(["1"] * 20_000),
        "$string(" * 20_000 + "1" + ")" * 20_000,
    ],
    ids=["brackets", "parentheses", "operator-chain", "calls"],
)
def test_a_deeply_nested_expression_is_refused_cleanly(expression: str) -> None:
    problem = syntax_error(expression)
    assert problem == "The expression is nested too deeply to be parsed"
    with pytest.raises(StatesError) as caught:
        run(expression)
    assert caught.value.error == QUERY_EVALUATION_ERROR

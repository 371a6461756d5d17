"""Hostile definitions and inputs: the engine refuses or fails them, it never crashes or hangs.

Hypothesis builds definitions that are mostly well formed, so that they parse and run, with
hostile values in their fields: random JSON, huge numbers, wrong types, deep nesting, big
arrays, broken paths, intrinsics and JSONata. ``parser.parse`` must return a machine or raise
DefinitionError; a machine must then run, through the pure interpreter, to a terminal status
within a bounded number of steps, with no Python exception escaping.

Derandomized with a fixed number of examples: the same cases run every time, in seconds.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sluiceway.asl import interpreter, parser
from sluiceway.asl.commands import (
    Event,
    InvokeTask,
    ReadItems,
    StartTimer,
    TaskFailed,
    TaskHeartbeat,
    TaskSucceeded,
    TimerFired,
    WriteResults,
)
from sluiceway.asl.model import StateMachine
from sluiceway.errors import DefinitionError

START = datetime(2024, 1, 1, tzinfo=UTC)
CONFORMANCE = Path(__file__).resolve().parents[2] / "fixtures" / "conformance" / "asl.jsonl"
MAX_EVENTS_FED = 200
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
NAMES = ["A", "B", "C", "D"]


def nested(depth: int, leaf: Any = 1, *, as_object: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if as_object else [value]
    return value


HUGE_NUMBERS = [10**30, -(10**30), 10**400, 1e300, -1e300, 1e-300, 2**63, 2**31, -(2**31) - 1, 99_999_999, 100_000_000, 0, -1, 0.5, 1.5]

DEEP = st.sampled_from([5, 50, 199, 200, 201, 1_000, 20_000]).flatmap(
    lambda depth: st.booleans().map(lambda as_object: nested(depth, as_object=as_object))
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.sampled_from(HUGE_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)

JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "n", "s", "Items", ""]), children, max_size=4)
    ),
    max_leaves=12,
)

BIG_ARRAYS = st.sampled_from([list(range(3_000)), [[i] for i in range(1_000)], ["x" * 100] * 500])

PATHS = st.sampled_from(
    [
        "$",
        "$.a",
        "$.n",
        "$.s",
        "$.Items",
        "$.a[0]",
        "$.a[-1]",
        "$[0]",
        "$[*]",
        "$..a",
        "$.a[?(@.b > 1)]",
        "$[?(@ =~ /^(a|a)*b$/)]",
        "$$.Execution.Input",
        "$$.Map.Item.Value",
        "$$.State.EnteredTime",
        "$v",
        "$v.a",
        "$.",
        "$[",
        "$[?(",
        "$a b",
        "not a path",
        "$" + ".a" * 250,
        "$" + "[0]" * 250,
        "$[?(" * 300 + "@.a" + ")]" * 300,
        "$[?(" + "(" * 20_000 + "@.a" + ")" * 20_000 + ")]",
        "$[?(" + "!" * 20_000 + "@.a)]",
    ]
)

INTRINSICS = st.sampled_from(
    [
        "States.Array(1, 2)",
        "States.Array(" * 10 + ")" * 10,
        "States.Array(" * 11 + ")" * 11,
        "States.Array(" * 20_000 + ")" * 20_000,
        "States.MathAdd(1e300, 1)",
        "States.MathAdd($.n, 1)",
        "States.MathRandom(1, 10)",
        "States.MathRandom(1e300, 1e301)",
        "States.ArrayRange(0, 1e300, 1)",
        "States.ArrayRange(0, $.n, 1)",
        "States.ArrayRange(0, 999, 1)",
        "States.ArrayGetItem($.a, 1e300)",
        "States.ArrayPartition($.a, 1e300)",
        "States.ArrayLength($.a)",
        "States.StringToJson($.s)",
        "States.JsonToString($)",
        "States.Format('{}-{}', $.n, $.s)",
        "States.Hash($.s, 'SHA-256')",
        "States.Base64Decode($.s)",
        "States.StringSplit($.s, ',')",
        "States.JsonMerge($.a, $.b, false)",
        "States.UUID()",
        "States.Nope(1)",
        "States.Array(",
    ]
)

JSONATA = st.sampled_from(
    [
        "{% $states.input %}",
        "{% $states.input.n %}",
        "{% $states.input.Items %}",
        "{% $states.result %}",
        "{% $states.context.Execution.Input %}",
        "{% $sum %}",
        "{% $string %}",
        "{% /abc/ %}",
        "{% $missing %}",
        "{% true %}",
        "{% 'yes' %}",
        "{% 1e300 %}",
        "{% 1e400 %}",
        "{% -5 %}",
        "{% 10 %}",
        "{% [1, 2, 3] %}",
        "{% $range(0, 5, 1) %}",
        "{% [1..3000] %}",
        "{% $reduce([1..300], function($acc, $i) { {'a': $acc} }, {}) %}",
        "{% $reduce([1..5000], function($acc, $i) { {'a': $acc} }, {}) %}",
        "{% $match('aaaa!', /^(a+)+$/) %}",
        "{% $replace($string($states.input), /a/, 'b') %}",
        "{% $parse($states.input.s) %}",
        "{% $number('x') %}",
        "{% 1/0 %}",
        "{% $pad('x', 10) %}",
        "{% $eval('1') %}",
        "{% $now() %}",
        "{% $uuid() %}",
        "{% ($f := function($n) { $n <= 0 ? 0 : $f($n - 1) }; $f(5000)) %}",
        "{% " + "[" * 20_000 + "]" * 20_000 + " %}",
        "{% " + "+".join(["1"] * 20_000) + " %}",
        "{% $match('a', /a{2,1}/) %}",
        "{% $match('a', /*a/) %}",
        "{% a b %}",
        "{% %}",
    ]
)

HOSTILE = st.one_of(JSON, DEEP, BIG_ARRAYS, PATHS, INTRINSICS, JSONATA, st.sampled_from(NAMES), st.sampled_from(HUGE_NUMBERS))

# What each field usually holds, per query language; a third of the time it gets HOSTILE instead.
TEMPLATES = st.dictionaries(st.sampled_from(["a", "n"]), JSON, max_size=2) | st.dictionaries(
    st.sampled_from(["b.$", "c.$"]), PATHS | INTRINSICS, min_size=1, max_size=2
)
JSONATA_TEMPLATES = JSONATA | st.dictionaries(st.sampled_from(["a", "n", "s"]), JSONATA | JSON, max_size=3)
USUAL: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "JSONPath": {
        "Result": JSON,
        "Parameters": TEMPLATES,
        "ResultSelector": TEMPLATES,
        "ItemSelector": TEMPLATES,
        "Assign": st.dictionaries(st.sampled_from(["v", "w"]), JSON, max_size=2)
        | st.dictionaries(st.sampled_from(["v.$"]), PATHS | INTRINSICS, min_size=1),
        "ResultPath": st.sampled_from(["$", "$.r", "$.a.b", None]),
        "InputPath": st.sampled_from(["$", "$.a", "$$.Execution.Input", None]),
        "OutputPath": st.sampled_from(["$", "$.r", None]),
        "ItemsPath": st.sampled_from(["$", "$.Items", "$.a"]),
        "SecondsPath": st.just("$.n"),
        "TimestampPath": st.just("$.s"),
        "TimeoutSecondsPath": st.just("$.n"),
        "HeartbeatSecondsPath": st.just("$.n"),
        "MaxConcurrencyPath": st.just("$.n"),
        "ToleratedFailureCountPath": st.just("$.n"),
        "ToleratedFailurePercentagePath": st.just("$.n"),
        "ErrorPath": PATHS | INTRINSICS,
        "CausePath": PATHS | INTRINSICS,
    },
    "JSONata": {
        "Output": JSONATA_TEMPLATES,
        "Arguments": JSONATA_TEMPLATES,
        "Assign": st.dictionaries(st.sampled_from(["v", "w"]), JSONATA | JSON, max_size=2),
        "Items": JSONATA | st.lists(JSON, max_size=3),
        "ItemSelector": JSONATA_TEMPLATES,
        "Seconds": JSONATA,
        "Timestamp": JSONATA,
        "TimeoutSeconds": JSONATA,
        "HeartbeatSeconds": JSONATA,
        "MaxConcurrency": JSONATA,
        "Error": JSONATA,
        "Cause": JSONATA,
    },
}
USUAL_ANY: dict[str, st.SearchStrategy[Any]] = {
    "Seconds": st.sampled_from([0, 1, 5, 99_999_999]),
    "Timestamp": st.sampled_from(["2024-01-01T00:00:10Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+23:59", "not a time"]),
    "TimeoutSeconds": st.sampled_from([1, 60, 99_999_999]),
    "HeartbeatSeconds": st.sampled_from([1, 30]),
    "MaxConcurrency": st.sampled_from([0, 1, 2]),
    "ToleratedFailureCount": st.sampled_from([0, 1, -1]),
    "ToleratedFailurePercentage": st.sampled_from([0, 50, 100, 101]),
    "Error": st.sampled_from(["Boom", "States.TaskFailed"]),
    "Cause": st.sampled_from(["why", ""]),
    "Label": st.just("label"),
    "Credentials": st.just({"RoleArn": "arn:aws:iam::1:role/r"}),
    "ItemBatcher": st.sampled_from([{"MaxItemsPerBatch": 2}, {"MaxInputBytesPerBatch": 100, "BatchInput": {"b": 1}}, {}]),
    "ItemReader": st.just({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON", "MaxItems": 5}}),
    "ResultWriter": st.just({"Resource": "arn:aws:states:::s3:putObject", "WriterConfig": {"OutputType": "JSON"}}),
}
CONDITIONS = st.sampled_from(["{% $states.input.n > 1 %}", "{% true %}", "{% false %}", "{% $sum %}", "{% 'yes' %}", True])


def field_value(field: str, language: str) -> st.SearchStrategy[Any]:
    usual = USUAL[language].get(field, USUAL_ANY.get(field, JSON))
    # Hypothesis leans towards small draws: the usual value is the small one.
    return st.integers(0, 2).flatmap(lambda pick: HOSTILE if pick == 2 else usual)


# The fields each state type may have, per query language.
COMMON_PATHS = ["InputPath", "OutputPath"]
STATE_FIELDS: dict[str, dict[str, list[str]]] = {
    "JSONPath": {
        "Pass": ["Result", "Parameters", "ResultPath", "Assign", *COMMON_PATHS],
        "Task": [
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Assign",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Wait": ["Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign", *COMMON_PATHS],
        "Choice": ["Assign", *COMMON_PATHS],
        "Succeed": COMMON_PATHS,
        "Fail": ["Error", "Cause", "ErrorPath", "CausePath"],
        "Parallel": ["Parameters", "ResultSelector", "ResultPath", "Assign"],
        "Map": [
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "ResultPath",
            "Label",
        ],
    },
    "JSONata": {
        "Pass": ["Output", "Assign"],
        "Task": ["Arguments", "Output", "Assign", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"],
        "Wait": ["Seconds", "Timestamp", "Output", "Assign"],
        "Choice": ["Output", "Assign"],
        "Succeed": ["Output"],
        "Fail": ["Error", "Cause"],
        "Parallel": ["Arguments", "Output", "Assign"],
        "Map": [
            "Items",
            "ItemSelector",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "ItemReader",
            "ItemBatcher",
            "Output",
            "Label",
        ],
    },
}
WAIT_FIELDS = {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"}


@st.composite
def retriers(draw: st.DrawFn) -> list[Any]:
    entries = []
    for _ in range(draw(st.integers(0, 2))):
        entry: dict[str, Any] = {"ErrorEquals": draw(st.sampled_from([["States.ALL"], ["Boom"], ["States.TaskFailed"], [], "x"]))}
        for field in ("IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"):
            if draw(st.booleans()):
                entry[field] = draw(
                    st.sampled_from([1, 2, 3, 0.5, "FULL", "NONE", 1e300, 99_999_999, 31_622_400]) | st.sampled_from(HUGE_NUMBERS) | SCALARS
                )
        entries.append(entry)
    return entries


@st.composite
def catchers(draw: st.DrawFn, names: list[str], language: str) -> list[Any]:
    entries = []
    for _ in range(draw(st.integers(0, 2))):
        entry: dict[str, Any] = {
            "ErrorEquals": draw(st.sampled_from([["States.ALL"], ["Boom"], ["States.Runtime"]])),
            "Next": draw(st.sampled_from(names)),
        }
        if language == "JSONPath" and draw(st.booleans()):
            entry["ResultPath"] = draw(st.sampled_from(["$.error", "$", None]) | HOSTILE)
        if language == "JSONata" and draw(st.booleans()):
            entry["Output"] = draw(JSONATA_TEMPLATES | HOSTILE)
        entries.append(entry)
    return entries


@st.composite
def machines(draw: st.DrawFn, language: str | None = None, depth: int = 0) -> dict[str, Any]:
    top = language is None
    if language is None:
        language = draw(st.sampled_from(["JSONPath", "JSONata"]))
    names = NAMES[: draw(st.integers(1, len(NAMES)))]
    states: dict[str, Any] = {}
    kinds = list(STATE_FIELDS[language]) if depth < 1 else ["Pass", "Task", "Wait", "Choice", "Succeed", "Fail"]
    for index, name in enumerate(names):
        last = index + 1 == len(names)
        # A chain A -> B -> ...: only the last state may end it, so that every state is reachable.
        kind = draw(st.sampled_from(kinds if last else [k for k in kinds if k not in ("Succeed", "Fail")]))
        following = names[index + 1] if not last else names[0]
        state: dict[str, Any] = {"Type": kind}
        if kind not in ("Choice", "Succeed", "Fail"):
            if last:
                state["End"] = True
            else:
                state["Next"] = following
        if kind == "Task":
            state["Resource"] = draw(
                st.sampled_from(
                    [
                        "arn:aws:states:::lambda:invoke",
                        "arn:aws:lambda:us-east-1:1:function:f",
                        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    ]
                )
            )
            state["Retry"] = draw(retriers())
            state["Catch"] = draw(catchers(names, language))
        if kind == "Choice":
            if language == "JSONata":
                rules = [{"Condition": draw(CONDITIONS | HOSTILE), "Next": following}]
            else:
                rules = [
                    draw(
                        st.sampled_from(
                            [
                                {"Variable": "$.n", "NumericLessThan": 3, "Next": following},
                                {"Variable": "$.s", "StringMatches": "*a*a*a*a*a*a*b", "Next": following},
                                {"Not": {"Variable": "$.a", "IsPresent": True}, "Next": following},
                                {"Variable": "$.a[?(@ =~ /^(a|a)*b$/)]", "IsPresent": True, "Next": following},
                            ]
                        )
                    )
                ]
            state["Choices"] = rules
            if draw(st.booleans()):
                state["Default"] = names[-1]
        if kind in ("Parallel", "Map"):
            branch = draw(machines(language, depth + 1))
            if kind == "Parallel":
                state["Branches"] = [branch]
            else:
                if draw(st.booleans()):
                    branch["ProcessorConfig"] = {"Mode": draw(st.sampled_from(["INLINE", "DISTRIBUTED"])), "ExecutionType": "STANDARD"}
                state["ItemProcessor"] = branch
        if kind == "Fail":
            state["Error"] = "Boom"
        if kind == "Wait":
            wait_field = draw(st.sampled_from(sorted(WAIT_FIELDS & set(STATE_FIELDS[language]["Wait"]))))
            state[wait_field] = draw(field_value(wait_field, language))
        for field in draw(st.lists(st.sampled_from(STATE_FIELDS[language][kind]), max_size=2, unique=True)):
            if kind == "Wait" and field in WAIT_FIELDS:
                continue
            state[field] = draw(field_value(field, language))
        if draw(st.integers(0, 19)) == 19:  # now and then, a field that belongs elsewhere or nowhere
            state[draw(st.sampled_from(["Next", "End", "Type", "Retry", "Catch", "Branches", "Choices", "Default", "Bogus"]))] = draw(
                HOSTILE
            )
        states[name] = state
    doc: dict[str, Any] = {"StartAt": names[0], "States": states}
    if top:
        doc["QueryLanguage"] = language
        if draw(st.integers(0, 4)) == 4:
            doc["TimeoutSeconds"] = draw(st.sampled_from([60, 1, *HUGE_NUMBERS]))
    return doc


def task_answer(command: InvokeTask | ReadItems | WriteResults, turn: int, outputs: list[Any]) -> TaskSucceeded | TaskFailed:
    if isinstance(command, ReadItems):
        return TaskSucceeded(command.token, outputs[turn % len(outputs)] if turn % 3 else [1, 2, 3])
    if turn % 4 == 3:
        return TaskFailed(command.token, "Boom", "it broke")
    return TaskSucceeded(command.token, outputs[turn % len(outputs)])


def run_to_the_end(machine: StateMachine, input_: Any, outputs: list[Any]) -> str:
    """Drive start/step as the runtime does, answering tasks and firing timers; return the status.

    Now and then a heartbeat arrives first, and a failed execution is redriven once.
    """
    step = interpreter.start(
        machine,
        input_,
        execution_arn="arn:aws:states:us-east-1:111111111111:execution:M:e",
        execution_name="e",
        state_machine_arn="arn:aws:states:us-east-1:111111111111:stateMachine:M",
        state_machine_name="M",
        now=START,
    )
    state = step.state
    pending = list(step.commands)
    now = START
    redriven = False
    for turn in range(MAX_EVENTS_FED):
        if state["status"] == "FAILED" and not redriven:
            redriven = True
            try:
                step = interpreter.redrive(machine, state, now)
            except ValueError:  # documented: nothing to redrive from
                break
            state, pending = step.state, list(step.commands)
        if state["status"] != "RUNNING" or not pending:
            break
        interpreter.pending_commands(machine, state)  # what a restarted runtime would re-issue
        tasks = [c for c in pending if not isinstance(c, StartTimer)]
        if tasks and turn % 5 == 4:
            event: Event = TaskHeartbeat(tasks[0].token)
        elif tasks:
            command = tasks[0]
            pending.remove(command)
            event = task_answer(command, turn, outputs)
        else:
            timer = min((c for c in pending if isinstance(c, StartTimer)), key=lambda c: c.due)
            pending.remove(timer)
            now = max(now, timer.due)
            event = TimerFired(timer.token)
        step = interpreter.step(machine, state, event, now)
        state = step.state
        pending.extend(step.commands)
    return str(state["status"])


# Derandomized and without an example database: every run tries the same examples.
FUZZ = settings(derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))


@settings(FUZZ, max_examples=120)
@given(doc=machines(), input_=HOSTILE, outputs=st.lists(HOSTILE, min_size=1, max_size=3))
def test_hostile_definitions_are_refused_or_run_to_an_end(doc: dict[str, Any], input_: Any, outputs: list[Any]) -> None:
    try:
        machine = parser.parse(doc)
    except DefinitionError:
        event("refused")
        return
    status = run_to_the_end(machine, input_, outputs)
    event(f"ran to {status}")
    assert status in TERMINAL | {"RUNNING"}


@settings(FUZZ, max_examples=100)
@given(
    doc=HOSTILE | st.dictionaries(st.sampled_from(["StartAt", "States", "QueryLanguage", "TimeoutSeconds", "Comment", "Version"]), HOSTILE)
)
def test_any_json_is_a_machine_or_a_definition_error(doc: Any) -> None:
    with contextlib.suppress(DefinitionError):
        assert isinstance(parser.parse(doc), StateMachine)


def _recorded_cases() -> list[dict[str, Any]]:
    with CONFORMANCE.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _locations(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _locations(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _locations(item, (*at, index))
    return found


@st.composite
def recorded_machines_with_a_hostile_field(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """A definition AWS ran, with one or two of its values replaced by hostile ones."""
    case = draw(st.sampled_from(_recorded_cases()))
    doc = json.loads(json.dumps(case["definition"]))
    places = _locations(doc)[1:]
    for at in sorted(set(draw(st.lists(st.sampled_from(places), min_size=1, max_size=2))), key=len, reverse=True):
        node = doc
        for key in at[:-1]:
            node = node[key]
        node[at[-1]] = draw(HOSTILE)
    return doc, draw(st.just(case["input"]) | HOSTILE)


@settings(FUZZ, max_examples=100)
@given(case=recorded_machines_with_a_hostile_field(), outputs=st.lists(HOSTILE, min_size=1, max_size=3))
def test_recorded_definitions_with_hostile_values_are_refused_or_run_to_an_end(
    case: tuple[dict[str, Any], Any], outputs: list[Any]
) -> None:
    doc, input_ = case
    try:
        machine = parser.parse(doc)
    except DefinitionError:
        event("refused")
        return
    status = run_to_the_end(machine, input_, outputs)
    event(f"ran to {status}")
    assert status in TERMINAL | {"RUNNING"}

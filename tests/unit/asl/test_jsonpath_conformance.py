"""Replay AWS-recorded executions of Choice-operator and intrinsic-function machines.

The recordings (``asl.jsonl``, recorded against AWS by the LocalStack project, Apache-2.0) hold
whole executions; the cases here use only Pass, Choice, Succeed and Fail states in JSONPath mode,
so a tiny driver built from ``paths``, ``intrinsics`` and ``choice`` can run them. The real
interpreter runs every case elsewhere; this driver is a fixture, not an interpreter.

The data is read from ``$SLUICEWAY_CONFORMANCE_DIR/asl.jsonl`` or
``tests/fixtures/conformance/asl.jsonl``.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from sluiceway.asl import choice, intrinsics
from sluiceway.asl.dataflow import put
from sluiceway.asl.templates import resolve
from sluiceway.errors import StatesError
from sluiceway.jsonpath import Scope, select

AREAS = ("choiceoperators", "intrinsicfunctions")
SIMPLE_STATES = {"Pass", "Choice", "Succeed", "Fail"}
REQUIRED_PASS_RATE = 0.98


def _data_file() -> Path:
    configured = os.environ.get("SLUICEWAY_CONFORMANCE_DIR")
    if configured:
        return Path(configured) / "asl.jsonl"
    return Path(__file__).resolve().parents[2] / "fixtures" / "conformance" / "asl.jsonl"


def _load() -> list[dict[str, Any]]:
    path = _data_file()
    if not path.is_file():
        pytest.skip(f"conformance data not found at {path}")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --- the driver ---------------------------------------------------------------------------------


def _context(case_input: Any, state: str) -> dict[str, Any]:
    execution = "arn:aws:states:us-east-1:111111111111:execution:conformance-machine:run-1"
    return {
        "Execution": {
            "Id": execution,
            "Input": case_input,
            "Name": "run-1",
            "RoleArn": "arn:aws:iam::111111111111:role/conformance",
            "StartTime": "2024-01-01T00:00:00.000Z",
        },
        "StateMachine": {
            "Id": "arn:aws:states:us-east-1:111111111111:stateMachine:conformance-machine",
            "Name": "conformance-machine",
        },
        "State": {"Name": state, "EnteredTime": "2024-01-01T00:00:00.000Z"},
    }


def _run(definition: Mapping[str, Any], case_input: Any) -> dict[str, Any]:
    """Run a Pass/Choice/Succeed/Fail machine; returns the ``expected``-shaped outcome."""
    rng = random.Random(7)
    data = case_input
    name = definition["StartAt"]
    for step in range(1000):
        state = definition["States"][name]
        context = _context(case_input, name)
        try:
            kind = state["Type"]
            raw = Scope(data, context)
            effective = (
                select(state.get("InputPath", "$"), raw) if state.get("InputPath", "$") else {}
            )
            scope = Scope(effective, context)
            if kind == "Fail":
                return {
                    "status": "FAILED",
                    "error": _fail_field(state, "Error", scope, rng),
                    "cause": _fail_field(state, "Cause", scope, rng),
                }
            if kind == "Pass":
                if "Parameters" in state:
                    effective = resolve(state["Parameters"], scope, rng=rng)
                result = state.get("Result", effective)
                data = put(data, state.get("ResultPath", "$"), result)
            else:
                data = effective
            if kind == "Choice":
                rules = [
                    choice.parse_rule(r, location=f"/States/{name}/Choices/{i}")
                    for i, r in enumerate(state["Choices"])
                ]
                match = choice.first_match(rules, scope)
                following = match.next if match else state.get("Default")
                if following is None:
                    return {"status": "FAILED", "error": "States.NoChoiceMatched", "cause": None}
            output_path = state.get("OutputPath", "$")
            data = select(output_path, Scope(data, context)) if output_path else {}
        except StatesError as exc:
            prefix = f"An error occurred while executing the state '{name}' "
            prefix += f"(entered at the event id #{2 + 2 * step}). "
            return {"status": "FAILED", "error": exc.error, "cause": prefix + exc.cause}
        if kind == "Choice":
            name = following
        elif kind == "Succeed" or state.get("End"):
            return {"status": "SUCCEEDED", "output": data}
        else:
            name = state["Next"]
    raise AssertionError("the machine did not stop")


def _fail_field(state: Mapping[str, Any], key: str, scope: Scope, rng: random.Random) -> Any:
    if key in state:
        return state[key]
    path = state.get(f"{key}Path")
    if path is None:
        return None
    if path.startswith("States."):
        return intrinsics.evaluate(path, scope, rng, field=f"{key}Path")
    return select(path, scope, field=f"{key}Path")


# --- comparing with the recordings --------------------------------------------------------------


def _matches(expected: Any, actual: Any, placeholders: set[str]) -> bool:
    if isinstance(expected, str) and expected in placeholders and not expected.startswith("<"):
        return True  # a bare-word placeholder stands for any value
    if isinstance(expected, str) and "<" in expected and placeholders:
        if not isinstance(actual, str):
            return False
        pattern = re.escape(expected)
        for token in placeholders:
            if token.startswith("<"):
                pattern = pattern.replace(re.escape(token), ".+")
        return re.fullmatch(pattern, actual, re.S) is not None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        # Strict about int vs float: AWS's 4 is not 4.0.
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            _matches(expected[k], actual[k], placeholders) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            _matches(e, a, placeholders) for e, a in zip(expected, actual, strict=True)
        )
    return type(expected) is type(actual) and expected == actual


def _state_types(states: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for state in states.values():
        yield state
        for branch in state.get("Branches", []):
            yield from _state_types(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _state_types(state[key]["States"])


def _runnable(case: Mapping[str, Any]) -> bool:
    definition = case["definition"]
    if definition.get("QueryLanguage") == "JSONata":
        return False
    return all(
        s.get("Type") in SIMPLE_STATES and "Assign" not in s and "QueryLanguage" not in s
        for s in _state_types(definition["States"])
    )


def _outcome_mismatch(case: Mapping[str, Any], actual: Mapping[str, Any]) -> str | None:
    expected = case["expected"]
    placeholders = set(case.get("placeholders") or [])
    if expected["status"] != actual["status"]:
        return f"status {actual['status']} ({actual}) != {expected['status']}"
    keys = ("output",) if expected["status"] == "SUCCEEDED" else ("error", "cause")
    for key in keys:
        if not _matches(expected.get(key), actual.get(key), placeholders):
            return f"{key}: got {actual.get(key)!r}, expected {expected.get(key)!r}"
    return None


def test_choice_and_intrinsic_recordings_replay_within_the_pass_rate() -> None:
    cases = [c for c in _load() if c["area"] in AREAS]
    runnable = [c for c in cases if _runnable(c)]
    skipped = len(cases) - len(runnable)
    failures: list[str] = []
    for case in runnable:
        try:
            problem = _outcome_mismatch(case, _run(case["definition"], case["input"]))
        except Exception as exc:  # a crash is a failure of that case, reported with the rest
            problem = f"raised {type(exc).__name__}: {exc}"
        if problem:
            failures.append(f"{case['id']}: {problem}")
    passed = len(runnable) - len(failures)
    rate = passed / len(runnable)
    report = f"{passed}/{len(runnable)} passed ({rate:.1%}), {skipped} skipped (not JSONPath-only)"
    # The subset must stay meaningful: both areas hold ~300 cases, most runnable here.
    assert len(runnable) >= 250, report
    assert rate >= REQUIRED_PASS_RATE, report + "\n" + "\n".join(failures)
    print(report, *failures, sep="\n")


def test_driver_reports_a_wrong_output_as_a_mismatch() -> None:
    case = {
        "expected": {"status": "SUCCEEDED", "output": {"n": 4}},
        "placeholders": [],
    }
    assert _outcome_mismatch(case, {"status": "SUCCEEDED", "output": {"n": 4}}) is None
    assert _outcome_mismatch(case, {"status": "SUCCEEDED", "output": {"n": 4.0}}) is not None
    assert _outcome_mismatch(case, {"status": "SUCCEEDED", "output": {"n": 5}}) is not None


def test_placeholders_are_wildcards_and_nothing_else() -> None:
    placeholders = {"<uuid:1>", "RandomNumberGenerated"}
    assert _matches("id-<uuid:1>", "id-1234", placeholders)
    assert not _matches("id-<uuid:1>", "other-1234", placeholders)
    assert _matches("RandomNumberGenerated", 17, placeholders)
    assert not _matches("Value", 17, placeholders)

"""Every AWS-recorded execution in the conformance data, run by the real interpreter.

Tasks are answered from each case's recorded ``mocks`` (the MockConfigFile idea);
a task the recording never called is answered with an error, so a wrong
transition shows up as a failure rather than passing by accident.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.asl.simulator import simulate
from sluiceway.errors import DefinitionError

DATA = Path(__file__).resolve().parents[2] / "fixtures" / "conformance" / "asl.jsonl"
REQUIRED_PASS_RATE = 0.98


def load_cases() -> list[dict[str, Any]]:
    with DATA.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def wildcard_match(expected: Any, actual: Any, placeholders: set[str]) -> bool:
    """Compare with the README's rules: placeholders are wildcards, numbers by value, objects unordered."""
    if isinstance(expected, str):
        if expected in placeholders and not expected.startswith("<"):
            return True
        if not isinstance(actual, str):
            return False
        if "<" not in expected:
            return expected == actual
        pattern = re.escape(expected)
        for token in sorted(placeholders, key=len, reverse=True):
            if token.startswith("<"):
                pattern = pattern.replace(re.escape(token), ".+?")
        if re.fullmatch(pattern, actual, re.S):
            return True
        # <region>/<partition> in expected vs concrete values in ours
        return re.fullmatch(pattern.replace(re.escape("<region>"), ".+?"), actual, re.S) is not None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(wildcard_match(expected[k], actual[k], placeholders) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(wildcard_match(e, a, placeholders) for e, a in zip(expected, actual, strict=True))
    return bool(expected == actual)


def text_or_json_match(expected: Any, actual: Any, placeholders: set[str]) -> bool:
    if expected is None:
        return actual is None or actual == ""
    if isinstance(expected, dict | list):
        try:
            actual = json.loads(actual) if isinstance(actual, str) else actual
        except ValueError:
            return False
    return wildcard_match(expected, actual, placeholders)


class MockAnswers:
    """Answers tasks from the recorded per-state responses, in call order."""

    def __init__(self, mocks: dict[str, list[dict[str, Any]]]) -> None:
        self.queues = defaultdict(list, {k: list(v) for k, v in mocks.items()})

    def __call__(self, command: InvokeTask) -> TaskSucceeded | TaskFailed:
        queue = self.queues[command.state_name]
        if not queue:
            return TaskFailed(command.token, "Sluiceway.UnexpectedTask", f"no recorded response for {command.state_name}")
        answer = queue.pop(0)
        if "Return" in answer:
            return TaskSucceeded(command.token, answer["Return"])
        throw = answer["Throw"]
        return TaskFailed(command.token, throw.get("Error"), throw.get("Cause"))


#: Bare-word placeholders the README lists; they replace whole values wherever they occur.
BARE_WORDS = {
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


def run_case(case: dict[str, Any]) -> str | None:
    """Run one case; return None when it agrees with AWS, else why not."""
    placeholders = set(case.get("placeholders") or []) | BARE_WORDS
    expected = case["expected"]
    try:
        machine = parser.parse(case["definition"])
    except DefinitionError as exc:
        return f"definition refused: {exc.issues[:3]}"
    result = simulate(
        machine,
        case["input"],
        MockAnswers(case.get("mocks") or {}),
        start=datetime(2024, 1, 1, tzinfo=UTC),
        execution_name="conformance",
        state_machine_name="ConformanceMachine",
    )
    if result.status != expected["status"]:
        return f"status {result.status} (error={result.error!r}, cause={str(result.cause)[:300]!r}) != {expected['status']}"
    if expected["status"] == "SUCCEEDED":
        if not wildcard_match(expected["output"], result.output, placeholders):
            return f"output {json.dumps(result.output)[:300]} != {json.dumps(expected['output'])[:300]}"
        return None
    if not text_or_json_match(expected.get("error"), result.error, placeholders):
        return f"error {result.error!r} != {expected.get('error')!r}"
    if not text_or_json_match(expected.get("cause"), result.cause, placeholders):
        return f"cause {str(result.cause)[:300]!r} != {str(expected.get('cause'))[:300]!r}"
    return None


def test_asl_conformance_pass_rate() -> None:
    cases = load_cases()
    failures: dict[str, str] = {}
    for case in cases:
        try:
            why = run_case(case)
        except Exception as exc:  # a crash is a disagreement, reported with the rest
            why = f"crashed: {type(exc).__name__}: {exc}"
        if why is not None:
            failures[case["id"]] = why
    passed = len(cases) - len(failures)
    rate = passed / len(cases)
    report = "\n".join(f"- {cid}: {why}" for cid, why in sorted(failures.items()))
    print(f"\nASL conformance: {passed}/{len(cases)} = {rate:.1%}\n{report}")
    assert rate >= REQUIRED_PASS_RATE, f"ASL conformance {passed}/{len(cases)} = {rate:.1%}; failing:\n{report}"


@pytest.mark.parametrize(
    "case_id", ["tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.py::TestBaseScenarios::test_catch_states_runtime"]
)
def test_known_case_runs(case_id: str) -> None:
    case = next((c for c in load_cases() if c["id"] == case_id), None)
    assert case is not None
    assert run_case(case) is None

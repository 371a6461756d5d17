"""ValidateStateMachineDefinition answers recorded from AWS, against our validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sluiceway.asl import parser

DATA = Path(__file__).resolve().parents[2] / "fixtures" / "conformance" / "asl_validation.jsonl"
CASES = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c["id"].rsplit("::", 1)[-1] for c in CASES])
def test_validation_matches_aws(case: dict[str, Any]) -> None:
    doc = json.loads(case["definition_text"])
    diagnostics = [d.to_json() for d in parser.validate(doc)]
    expected = case["expected"]
    assert ("FAIL" if diagnostics else "OK") == expected["result"]
    assert [(d["code"], d["location"], d["message"]) for d in diagnostics] == [
        (d["code"], d["location"], d["message"]) for d in expected["diagnostics"]
    ]


def test_every_problem_is_reported_at_once() -> None:
    doc = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "x", "Next": "Missing", "Catch": [{"ErrorEquals": ["States.ALL", "X"], "Next": "A"}]},
            "B": {"Type": "Pass", "End": True, "Arguments": {}},
            "C": {"Type": "Bogus"},
        },
    }
    locations = [d.location for d in parser.validate(doc)]
    assert "/States/A/Next" in locations
    assert "/States/A/Catch/0/ErrorEquals" in locations
    assert "/States/B" in locations  # unreachable, and Arguments in JSONPath mode
    assert "/States/C/Type" in locations


def test_bad_paths_templates_and_jsonata_are_located() -> None:
    doc = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "InputPath": "$.a[", "Parameters": {"x.$": "not a path"}, "ResultPath": "$.a[*]", "Next": "B"},
            "B": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input. %}", "End": True},
        },
    }
    locations = {d.location for d in parser.validate(doc)}
    assert {"/States/A/InputPath", "/States/A/Parameters/x.$", "/States/A/ResultPath", "/States/B/Output"} <= locations

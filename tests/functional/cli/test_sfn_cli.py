"""``sluiceway sfn``: run with mocks and skipped waits, validate, history."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sluiceway.cli.main import app

runner = CliRunner()

DEFINITION = {
    "StartAt": "Fetch",
    "States": {
        "Fetch": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "Fetcher", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 300, "MaxAttempts": 2}],
            "ResultSelector": {"value.$": "$.Payload.value"},
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 86400, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}

MOCKS = {
    "StateMachines": {"fetch": {"TestCases": {"FlakyThenOk": {"Fetch": "FlakyOnce"}, "AlwaysBroken": {"Fetch": "Broken"}}}},
    "MockedResponses": {
        "FlakyOnce": {
            "0": {"Throw": {"Error": "Flaky", "Cause": "try again"}},
            "1": {"Return": {"Payload": {"value": 42}, "StatusCode": 200}},
        },
        "Broken": {"0-2": {"Throw": {"Error": "Flaky", "Cause": "still broken"}}},
    },
}


def write(tmp_path: Path) -> tuple[Path, Path]:
    definition = tmp_path / "fetch.asl.json"
    definition.write_text(json.dumps(DEFINITION))
    mocks = tmp_path / "mocks.json"
    mocks.write_text(json.dumps(MOCKS))
    return definition, mocks


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_with_mock_retries_and_skipped_waits(tmp_path: Path) -> None:
    definition, mocks = write(tmp_path)
    code, out, err = invoke(
        "sfn",
        "run",
        str(definition),
        "--input",
        '{"id": 1}',
        "--mock-config",
        str(mocks),
        "--test-case",
        "FlakyThenOk",
        "--skip-waits",
        "--name",
        "flaky-1",
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "SUCCEEDED"
    assert result["output"] == {"value": 42}
    assert result["executionArn"].endswith(":execution:fetch:flaky-1")

    code, out, err = invoke("sfn", "history", "flaky-1", "--data-dir", str(tmp_path / "data"))
    assert code == 0, err
    types = [e["type"] for e in json.loads(out)["events"]]
    assert types.count("TaskFailed") == 1 and types.count("TaskSucceeded") == 1
    assert "WaitStateExited" in types


def test_run_reports_failure_but_exits_zero(tmp_path: Path) -> None:
    definition, mocks = write(tmp_path)
    code, out, err = invoke(
        "sfn",
        "run",
        str(definition),
        "--mock-config",
        str(mocks),
        "--test-case",
        "AlwaysBroken",
        "--skip-waits",
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert code == 0, err
    result = json.loads(out)
    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "Flaky", "still broken")


def test_invalid_definition_exits_nonzero_with_locations(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Pass", "End": True}}}))
    code, out, err = invoke("sfn", "run", str(bad), "--data-dir", str(tmp_path / "data"))
    assert code == 2
    assert "/States/A/Next" in err and "Nowhere" in err
    code, out, _ = invoke("sfn", "validate", str(bad))
    assert code == 2
    report = json.loads(out)
    assert report["result"] == "FAIL"
    assert {d["location"] for d in report["diagnostics"]} == {"/States/A/Next", "/States/B"}


def test_unknown_test_case_is_a_clear_error(tmp_path: Path) -> None:
    definition, mocks = write(tmp_path)
    code, _, err = invoke("sfn", "run", str(definition), "--mock-config", str(mocks), "--test-case", "Nope")
    assert code == 2
    assert "no test case 'Nope'" in err


def test_deeply_nested_definitions_are_a_clean_error(tmp_path: Path) -> None:
    # Too deep for Python's JSON parser, then deep enough to parse but over the nesting limit.
    for depth in (20_000, 500):
        deep = tmp_path / f"deep{depth}.json"
        deep.write_text('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": ' + "[" * depth + "]" * depth + ', "End": true}}}')
        code, out, err = invoke("sfn", "validate", str(deep))
        assert code == 2, err
        assert "Traceback" not in out + err
        assert "nested" in out + err
        code, out, err = invoke("sfn", "run", str(deep), "--data-dir", str(tmp_path / "data"))
        assert code == 2, err
        assert "Traceback" not in out + err
        assert "nested" in err


def test_deeply_nested_input_is_a_clean_error(tmp_path: Path) -> None:
    definition = tmp_path / "pass.json"
    definition.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}))
    code, out, err = invoke("sfn", "run", str(definition), "--input", "[" * 20_000 + "]" * 20_000, "--data-dir", str(tmp_path / "data"))
    assert code == 2
    assert "Traceback" not in out + err
    assert "nested too deeply" in err
    code, out, err = invoke("sfn", "run", str(definition), "--input", "[" * 500 + "]" * 500, "--data-dir", str(tmp_path / "data"))
    assert code == 0, err
    result = json.loads(out)
    assert (result["status"], result["error"]) == ("FAILED", "States.DataLimitExceeded")

"""An execution's input is the string StartExecution was given: DescribeExecution, StartSyncExecution and
the ExecutionStarted event return it unchanged (spaces, key order, number spelling), after a redrive and a
restart too; outputs are Step Functions' own compact JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/test"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
MISSING_FUNCTION = {
    "StartAt": "Call",
    "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "no-such"}, "End": True}
    },
}
GIVEN = '{ "kind": "single",\n  "b": 1.50, "a": [1e2, -0, 2.0E-1], "note": "caf\\u00e9 \u00fc" }'
"""Whitespace, keys out of order, numbers as json.dumps would never spell them, escaped and raw non-ASCII."""


@pytest.fixture(scope="module")
def sfn(aws: Callable[..., Any]) -> Any:
    # StartSyncExecution carries botocore's "sync-" host prefix: off for a local endpoint.
    return aws("stepfunctions", inject_host_prefix=False)


def _machine(sfn: Any, name: str, definition: dict[str, Any], **extra: Any) -> str:
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE, **extra)["stateMachineArn"])


def _ended(sfn: Any, arn: str, timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.02)


def _started_input(sfn: Any, arn: str) -> str:
    first = sfn.get_execution_history(executionArn=arn, maxResults=1)["events"][0]
    assert first["type"] == "ExecutionStarted"
    return str(first["executionStartedEventDetails"]["input"])


def test_describe_and_history_return_the_input_as_given(sfn: Any) -> None:
    arn = _machine(sfn, "text-pass", PASS)
    execution = sfn.start_execution(stateMachineArn=arn, name="given", input=GIVEN)["executionArn"]
    done = _ended(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert done["input"] == GIVEN
    assert _started_input(sfn, execution) == GIVEN
    # The output is made by Step Functions: compact, whatever the input's spelling was.
    assert done["output"] == json.dumps(json.loads(GIVEN), separators=(",", ":"), ensure_ascii=False)


def test_an_input_left_out_is_an_empty_object(sfn: Any) -> None:
    arn = _machine(sfn, "text-default", PASS)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert _ended(sfn, execution)["input"] == "{}"
    assert _started_input(sfn, execution) == "{}"


def test_an_input_given_as_a_value_is_compact_json(sfn: Any, stack: Stack) -> None:
    _machine(sfn, "text-value", PASS)
    # Internal starts (event rules, uploads, the CLI) hand the orchestrator a value, not text.
    record = stack.orchestrator.start_execution("text-value", {"kind": "single", "n": [1, 2]}, name="from-a-value")
    assert _ended(sfn, record.arn)["input"] == '{"kind":"single","n":[1,2]}'
    assert _started_input(sfn, record.arn) == '{"kind":"single","n":[1,2]}'


def test_a_redriven_execution_keeps_its_input(sfn: Any) -> None:
    arn = _machine(sfn, "text-redrive", MISSING_FUNCTION)
    execution = sfn.start_execution(stateMachineArn=arn, name="fails", input=GIVEN)["executionArn"]
    assert _ended(sfn, execution)["status"] == "FAILED"
    sfn.redrive_execution(executionArn=execution)
    deadline = time.monotonic() + 20
    while (described := sfn.describe_execution(executionArn=execution))["redriveCount"] != 1 or described["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the redrive did not end"
        time.sleep(0.02)
    assert described["status"] == "FAILED" and described["input"] == GIVEN
    assert _started_input(sfn, execution) == GIVEN


def test_start_sync_execution_returns_the_input_as_given(sfn: Any) -> None:
    arn = _machine(sfn, "text-express", PASS, type="EXPRESS")
    done = sfn.start_sync_execution(stateMachineArn=arn, input=GIVEN)
    assert done["status"] == "SUCCEEDED"
    assert done["input"] == GIVEN
    assert done["output"] == json.dumps(json.loads(GIVEN), separators=(",", ":"), ensure_ascii=False)


def test_the_same_name_and_input_is_the_same_running_execution(sfn: Any) -> None:
    arn = _machine(sfn, "text-wait", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    first = sfn.start_execution(stateMachineArn=arn, name="once", input=GIVEN)
    again = sfn.start_execution(stateMachineArn=arn, name="once", input=GIVEN)
    assert again["executionArn"] == first["executionArn"] and again["startDate"] == first["startDate"]
    assert sfn.describe_execution(executionArn=first["executionArn"])["input"] == GIVEN
    sfn.stop_execution(executionArn=first["executionArn"])


def test_the_input_as_given_survives_a_restart(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)

    def described_after(start: Callable[[Any], str]) -> tuple[str, dict[str, Any]]:
        stack = build_stack(settings, invoker_mode="thread")
        stack.start("input text restart test")
        try:
            served = Endpoint(stack, host="127.0.0.1", port=0)
            served.start()
            try:
                session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
                client = session.client("stepfunctions", endpoint_url=served.url, config=Config(retries={"max_attempts": 1}))
                execution = start(client)
                return execution, _ended(client, execution)
            finally:
                served.close()
        finally:
            stack.close()

    def first_start(client: Any) -> str:
        machine = _machine(client, "text-durable", PASS)
        return str(client.start_execution(stateMachineArn=machine, name="kept", input=GIVEN)["executionArn"])

    execution, before = described_after(first_start)
    assert before["input"] == GIVEN
    _, after = described_after(lambda _client: execution)
    assert after["input"] == GIVEN and after["output"] == before["output"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_an_input_with_a_constant_json_has_not_is_refused(sfn: Any, constant: str) -> None:
    # Python's decoder would take them; Step Functions reads strict JSON.
    arn = _machine(sfn, f"strict-json-{constant.strip('-').lower()}-{constant.startswith('-')}", PASS)
    with pytest.raises(sfn.exceptions.InvalidExecutionInput) as refused:
        sfn.start_execution(stateMachineArn=arn, input=f'{{"x": {constant}}}')
    assert refused.value.response["Error"]["Message"].startswith("Invalid State Machine Execution Input: ")

"""Step Functions through boto3: state machines, executions, history, task tokens, TestState."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack

HANDLERS = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "lambda_handlers"
ROLE = "arn:aws:iam::111111111111:role/test"
ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def sfn(aws: Callable[..., Any], stack: Stack) -> Any:
    stack.invoker.register(FunctionSpec("SfnEcho", f"{HANDLERS}.echo", timeout_s=10))
    stack.invoker.register(FunctionSpec("SfnFail", f"{HANDLERS}.fail", timeout_s=10))
    # StartSyncExecution and TestState carry botocore's "sync-" host prefix: off for a local endpoint.
    return aws("stepfunctions", inject_host_prefix=False)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _machine(sfn: Any, name: str, definition: dict[str, Any], **extra: Any) -> str:
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE, **extra)["stateMachineArn"])


def _wait(sfn: Any, arn: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.02)


ECHO_TASK = {
    "StartAt": "Call",
    "States": {
        "Call": {"Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:SfnEcho", "End": True},
    },
}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "End": True}}}


def test_create_describe_update_list_delete(sfn: Any) -> None:
    arn = _machine(sfn, "sm-crud", PASS, tags=[{"key": "team", "value": "data"}])
    assert arn == f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:sm-crud"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["name"] == "sm-crud" and described["status"] == "ACTIVE" and described["type"] == "STANDARD"
    assert json.loads(described["definition"]) == PASS and described["roleArn"] == ROLE
    # The same request again is idempotent; another definition is StateMachineAlreadyExists.
    again = sfn.create_state_machine(name="sm-crud", definition=json.dumps(PASS), roleArn=ROLE)
    assert again["stateMachineArn"] == arn and again["creationDate"] == described["creationDate"]
    with pytest.raises(ClientError) as exc:
        _machine(sfn, "sm-crud", ECHO_TASK)
    assert _code(exc) == "StateMachineAlreadyExists" and arn in str(exc.value)
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(ECHO_TASK))
    assert updated["updateDate"] and updated["revisionId"]
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == ECHO_TASK
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "data"}]
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "dev"}])
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    names = [
        m["name"]
        for m in sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 1}).build_full_result()["stateMachines"]
    ]
    assert "sm-crud" in names and "DataProcessingWorkflow" in names  # the application's own workflow too
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert _code(exc) == "StateMachineDoesNotExist"
    sfn.delete_state_machine(stateMachineArn=arn)  # deleting again succeeds, as on AWS


def test_definitions_are_validated_as_aws_does(sfn: Any) -> None:
    bad = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}
    with pytest.raises(ClientError) as exc:
        _machine(sfn, "sm-bad", bad)
    assert _code(exc) == "InvalidDefinition"
    assert exc.value.response["Error"]["Message"].startswith("Invalid State Machine Definition: '")
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="sm-bad", definition="{not json", roleArn=ROLE)
    assert "INVALID_JSON_DESCRIPTION" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        _machine(sfn, "bad name", PASS)
    assert _code(exc) == "InvalidName"
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="sm-role", definition=json.dumps(PASS), roleArn="not-an-arn")
    assert _code(exc) == "InvalidArn"
    failed = sfn.validate_state_machine_definition(definition=json.dumps(bad))
    assert failed["result"] == "FAIL" and failed["diagnostics"][0]["severity"] == "ERROR" and failed["diagnostics"][0]["location"]
    ok = sfn.validate_state_machine_definition(definition=json.dumps(PASS))
    assert (ok["result"], ok["diagnostics"], ok["truncated"]) == ("OK", [], False)


def test_a_lambda_task_runs_and_its_history_has_aws_event_types(sfn: Any) -> None:
    arn = _machine(sfn, "sm-echo", ECHO_TASK)
    started = sfn.start_execution(stateMachineArn=arn, name="run-1", input=json.dumps({"n": 1}))
    assert started["executionArn"] == f"arn:aws:states:us-east-1:{ACCOUNT}:execution:sm-echo:run-1"
    done = _wait(sfn, started["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"echo": {"n": 1}, "function": "SfnEcho"}
    assert json.loads(done["input"]) == {"n": 1} and done["stopDate"] >= done["startDate"]
    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, 8))
    # Pages, backwards, without data.
    first = sfn.get_execution_history(executionArn=started["executionArn"], maxResults=3, reverseOrder=True)
    assert [e["type"] for e in first["events"]] == ["ExecutionSucceeded", "TaskStateExited", "LambdaFunctionSucceeded"]
    rest = sfn.get_execution_history(executionArn=started["executionArn"], maxResults=10, reverseOrder=True, nextToken=first["nextToken"])
    assert len(rest["events"]) == 4 and "nextToken" not in rest
    bare = sfn.get_execution_history(executionArn=started["executionArn"], includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    # Same name and input while... ended: ExecutionAlreadyExists, as on AWS.
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="run-1", input=json.dumps({"n": 1}))
    assert _code(exc) == "ExecutionAlreadyExists"
    for_execution = sfn.describe_state_machine_for_execution(executionArn=started["executionArn"])
    assert for_execution["name"] == "sm-echo"


def test_list_executions_filters_and_pages(sfn: Any) -> None:
    arn = _machine(sfn, "sm-list", PASS)
    arns = [sfn.start_execution(stateMachineArn=arn, name=f"e{i}")["executionArn"] for i in range(3)]
    for execution in arns:
        assert _wait(sfn, execution)["status"] == "SUCCEEDED"
    pages = list(sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, PaginationConfig={"PageSize": 2}))
    assert [len(p["executions"]) for p in pages] == [2, 1]
    listed = [e["executionArn"] for p in pages for e in p["executions"]]
    assert sorted(listed) == sorted(arns)
    assert sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"] == []
    assert len(sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]) == 3


def test_errors_name_what_is_missing(sfn: Any) -> None:
    missing = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:nope:nope"
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn=missing)
    assert _code(exc) == "ExecutionDoesNotExist" and missing in str(exc.value)
    with pytest.raises(ClientError) as exc:
        sfn.describe_execution(executionArn="not-an-arn")
    assert _code(exc) == "InvalidArn"
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:nope")
    assert _code(exc) == "StateMachineDoesNotExist"
    arn = _machine(sfn, "sm-input", PASS)
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input="{oops")
    assert _code(exc) == "InvalidExecutionInput"


def test_wait_for_task_token_completes_with_send_task_success(sfn: Any) -> None:
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "SfnEcho", "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    arn = _machine(sfn, "sm-token", definition)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    token = None
    deadline = time.monotonic() + 10
    while token is None and time.monotonic() < deadline:
        for event in sfn.get_execution_history(executionArn=execution)["events"]:
            if event["type"] == "TaskScheduled":
                token = json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
        time.sleep(0.02)
    assert token
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token + "x", output="{}")
    assert _code(exc) == "InvalidToken"
    with pytest.raises(ClientError) as exc:
        sfn.send_task_success(taskToken=token, output="{nope")
    assert _code(exc) == "InvalidOutput"
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    done = _wait(sfn, execution)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"approved": True}
    with pytest.raises(ClientError) as exc:
        sfn.send_task_failure(taskToken=token, error="Late")
    assert _code(exc) == "TaskTimedOut"


def test_stop_and_redrive(sfn: Any) -> None:
    waiting = _machine(sfn, "sm-wait", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    execution = sfn.start_execution(stateMachineArn=waiting)["executionArn"]
    stopped = sfn.stop_execution(executionArn=execution, error="Manual", cause="test")
    assert stopped["stopDate"]
    described = sfn.describe_execution(executionArn=execution)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Manual", "test")
    failing = _machine(
        sfn,
        "sm-fail",
        {
            "StartAt": "F",
            "States": {"F": {"Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:SfnFail", "End": True}},
        },
    )
    run = sfn.start_execution(stateMachineArn=failing, input=json.dumps({"why": "x"}))["executionArn"]
    failed = _wait(sfn, run)
    assert failed["status"] == "FAILED" and failed["error"] == "ValueError" and failed["redriveStatus"] == "REDRIVABLE"
    assert sfn.redrive_execution(executionArn=run)["redriveDate"]
    again = _wait(sfn, run)
    assert again["status"] == "FAILED" and again["redriveCount"] == 1 and again["redriveDate"]
    assert "ExecutionRedriven" in [e["type"] for e in sfn.get_execution_history(executionArn=run)["events"]]
    done = _machine(sfn, "sm-done", PASS)
    ok = sfn.start_execution(stateMachineArn=done)["executionArn"]
    _wait(sfn, ok)
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=ok)
    assert _code(exc) == "ExecutionNotRedrivable"


def test_start_sync_execution_of_an_express_machine(sfn: Any) -> None:
    arn = _machine(sfn, "sm-express", ECHO_TASK, type="EXPRESS")
    answer = sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps({"q": 2}))
    assert answer["status"] == "SUCCEEDED" and json.loads(answer["output"]) == {"echo": {"q": 2}, "function": "SfnEcho"}
    assert answer["stopDate"] >= answer["startDate"]
    standard = _machine(sfn, "sm-standard", PASS)
    with pytest.raises(ClientError) as exc:
        sfn.start_sync_execution(stateMachineArn=standard)
    assert _code(exc) == "StateMachineTypeNotSupported"


def test_test_state_runs_one_state(sfn: Any) -> None:
    passed = sfn.test_state(
        definition=json.dumps({"Type": "Pass", "Parameters": {"v.$": "$.a"}, "Next": "After"}),
        input=json.dumps({"a": 7}),
        inspectionLevel="DEBUG",
    )
    assert passed["status"] == "SUCCEEDED" and json.loads(passed["output"]) == {"v": 7} and passed["nextState"] == "After"
    assert json.loads(passed["inspectionData"]["input"]) == {"a": 7}
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"}
    assert sfn.test_state(definition=json.dumps(choice), input='{"n": 5}')["nextState"] == "Big"
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "SfnEcho", "Payload.$": "$"},
        "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
        "End": True,
    }
    retriable = sfn.test_state(definition=json.dumps(task), mock={"errorOutput": {"error": "Boom", "cause": "c"}})
    assert retriable["status"] == "RETRIABLE" and retriable["error"] == "Boom"
    caught = sfn.test_state(definition=json.dumps(task), mock={"errorOutput": {"error": "Other", "cause": "c"}})
    assert caught["status"] == "CAUGHT_ERROR" and caught["nextState"] == "Handle" and caught["error"] == "Other"
    mocked = sfn.test_state(definition=json.dumps(task), mock={"result": json.dumps({"Payload": 1})})
    assert mocked["status"] == "SUCCEEDED" and json.loads(mocked["output"]) == {"Payload": 1}
    real = sfn.test_state(definition=json.dumps({**task, "Retry": [], "Catch": []}), input='{"k": 1}')
    assert real["status"] == "SUCCEEDED" and json.loads(real["output"])["Payload"] == {"echo": {"k": 1}, "function": "SfnEcho"}
    failed = sfn.test_state(definition=json.dumps({"Type": "Fail", "Error": "E", "Cause": "C"}))
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "E", "C")


def test_the_applications_executions_are_listed(sfn: Any, stack: Stack) -> None:
    workflow = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:DataProcessingWorkflow"
    described = sfn.describe_state_machine(stateMachineArn=workflow)
    assert described["name"] == "DataProcessingWorkflow" and json.loads(described["definition"])["StartAt"]
    record = stack.orchestrator.start_execution("DataProcessingWorkflow", {"bucket": "nope", "key": "missing.csv"}, name="from-cli")
    listed = sfn.list_executions(stateMachineArn=workflow)["executions"]
    assert record.arn in [e["executionArn"] for e in listed]
    assert sfn.describe_execution(executionArn=record.arn)["name"] == "from-cli"
    with pytest.raises(ClientError) as exc:
        sfn.delete_state_machine(stateMachineArn=workflow)
    assert _code(exc) == "ValidationException"

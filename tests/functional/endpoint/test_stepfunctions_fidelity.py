"""Step Functions through boto3, held to what AWS answers (LocalStack's recordings against AWS, the API reference):
child executions' input, ListExecutions' order and filters, redrive, and the errors' codes and words."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.runtime.stack import Stack

ROLE = "arn:aws:iam::111111111111:role/test"
ACCOUNT = "111111111111"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
WAIT_THEN_PASS = {
    "StartAt": "W",
    "States": {"W": {"Type": "Wait", "Seconds": 600, "Next": "P"}, "P": {"Type": "Pass", "End": True}},
}
VALUES = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "always"}}}


@pytest.fixture(scope="module")
def sfn(aws: Callable[..., Any]) -> Any:
    return aws("stepfunctions")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def _machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"])


def _until(sfn: Any, arn: str, done: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if done(described):
            return described
        assert time.monotonic() < deadline, f"execution never got there: {described['status']}"
        time.sleep(0.02)


def _ended(sfn: Any, arn: str) -> dict[str, Any]:
    return _until(sfn, arn, lambda d: d["status"] != "RUNNING")


def _entered(sfn: Any, arn: str, state: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        events = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=5)["events"]
        if any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in events):
            return
        assert time.monotonic() < deadline, f"never entered {state}"
        time.sleep(0.02)


# -- states:startExecution: the child's input --------------------------------------------------


def _parent(child_arn: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Child",
        "States": {
            "Child": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": child_arn, **parameters},
                "End": True,
            }
        },
    }


@pytest.mark.parametrize(
    ("case", "parameters", "expected"),
    [
        # A string is StartExecution's input as written: spaces and key order kept.
        ("text", {"Input": '{ "b" : 2,  "a": [1, 2.50] }'}, '{ "b" : 2,  "a": [1, 2.50] }'),
        # Any other value is serialised as compact JSON.
        ("object", {"Input": {"b": 2, "a": ["é", None]}}, '{"b":2,"a":["é",null]}'),
        ("path", {"Input.$": "$.payload"}, '{"k":"v"}'),
        # No Input starts the child with {} (StartExecution's default).
        ("none", {}, "{}"),
    ],
)
def test_a_child_is_described_with_the_input_text_aws_gives_it(sfn: Any, case: str, parameters: dict[str, Any], expected: str) -> None:
    child = _machine(sfn, f"fid-child-{case}", PASS)
    parent = _machine(sfn, f"fid-parent-{case}", _parent(child, {**parameters, "Name": f"kid-{case}"}))
    run = sfn.start_execution(stateMachineArn=parent, input=json.dumps({"payload": {"k": "v"}}))["executionArn"]
    done = _ended(sfn, run)
    assert done["status"] == "SUCCEEDED", done
    kid = sfn.describe_execution(executionArn=f"arn:aws:states:us-east-1:{ACCOUNT}:execution:fid-child-{case}:kid-{case}")
    assert kid["input"] == expected
    started = sfn.get_execution_history(executionArn=kid["executionArn"])["events"][0]
    assert started["executionStartedEventDetails"]["input"] == expected
    # .sync answers with DescribeExecution's fields: the same input text, the output as compact JSON.
    answer = json.loads(done["output"])
    assert answer["Input"] == expected and answer["Output"] == kid["output"]


def test_a_child_input_that_is_not_json_fails_the_task_with_aws_error(sfn: Any) -> None:
    child = _machine(sfn, "fid-child-bad", PASS)
    parent = _machine(sfn, "fid-parent-bad", _parent(child, {"Input": "not some json"}))
    done = _ended(sfn, sfn.start_execution(stateMachineArn=parent)["executionArn"])
    assert done["status"] == "FAILED" and done["error"] == "StepFunctions.InvalidExecutionInputException"
    # The cause is the AWS SDK's description of the refused StartExecution call.
    assert done["cause"].startswith(
        "Invalid State Machine Execution Input: 'Unrecognized token 'not': was expecting (JSON String, Number, Array, Object"
        " or token 'null', 'true' or 'false')' (Service: AWSStepFunctions; Status Code: 400; Error Code: InvalidExecutionInput;"
    )


def test_a_child_of_a_machine_that_does_not_exist_fails_with_aws_error(sfn: Any) -> None:
    missing = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:fid-child-missing"
    parent = _machine(sfn, "fid-parent-missing", _parent(missing, {}))
    done = _ended(sfn, sfn.start_execution(stateMachineArn=parent)["executionArn"])
    assert (done["status"], done["error"]) == ("FAILED", "StepFunctions.StateMachineDoesNotExistException")
    assert done["cause"].startswith(
        f"State Machine Does Not Exist: '{missing}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;"
    )


# -- ListExecutions ------------------------------------------------------------------------------


def test_list_executions_puts_ended_ones_at_their_stop_date(sfn: Any) -> None:
    arn = _machine(sfn, "fid-order", WAIT_THEN_PASS)
    first = sfn.start_execution(stateMachineArn=arn, name="first")["executionArn"]
    second = sfn.start_execution(stateMachineArn=arn, name="second")["executionArn"]
    listed = [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
    assert listed == ["second", "first"]  # both running: the latest start first
    # Stopped after `second` started, `first` sorts by its stop date: before `second`.
    sfn.stop_execution(executionArn=first)
    pages = list(sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, PaginationConfig={"PageSize": 1}))
    assert [e["name"] for p in pages for e in p["executions"]] == ["first", "second"]
    sfn.stop_execution(executionArn=second)


def test_list_executions_filters_on_redrives(sfn: Any) -> None:
    arn = _machine(sfn, "fid-redrive-filter", FAIL)
    redriven = sfn.start_execution(stateMachineArn=arn, name="redriven")["executionArn"]
    plain = sfn.start_execution(stateMachineArn=arn, name="plain")["executionArn"]
    _ended(sfn, redriven)
    _ended(sfn, plain)
    sfn.redrive_execution(executionArn=redriven)
    _until(sfn, redriven, lambda d: d["status"] == "FAILED" and d["redriveCount"] == 1)
    only = sfn.list_executions(stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert [e["name"] for e in only] == ["redriven"]
    assert only[0]["redriveCount"] == 1 and only[0]["redriveDate"]
    assert [e["name"] for e in sfn.list_executions(stateMachineArn=arn, redriveFilter="NOT_REDRIVEN")["executions"]] == ["plain"]
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn, redriveFilter="redriven")
    assert _error(exc)[0] == "ValidationException"


def test_list_executions_refuses_what_aws_refuses(sfn: Any) -> None:
    arn = _machine(sfn, "fid-list-errors", PASS)
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn, statusFilter="succeeded")
    assert _error(exc) == (
        "ValidationException",
        "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint:"
        " Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]",
    )
    # PENDING_REDRIVE is a Map Run's children's status: not with a state machine ARN.
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn, statusFilter="PENDING_REDRIVE")
    assert _error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn, maxResults=1001)
    assert _error(exc) == (
        "ValidationException",
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint:"
        " Member must have value less than or equal to 1000",
    )
    missing = arn.replace("fid-list-errors", "fid-no-such-machine")
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=missing)
    assert _error(exc) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{missing}'")
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn="invalid_state_machine_arn")
    assert _error(exc) == ("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: invalid_state_machine_arn'")


# -- redrive -----------------------------------------------------------------------------------


def test_an_execution_stopped_in_a_wait_state_is_redriven_from_it(sfn: Any) -> None:
    arn = _machine(sfn, "fid-redrive-wait", WAIT_THEN_PASS)
    run = sfn.start_execution(stateMachineArn=arn, input='{"n": 1}')["executionArn"]
    _entered(sfn, run, "W")
    sfn.stop_execution(executionArn=run, error="Manual", cause="by hand")
    stopped = _ended(sfn, run)
    # AWS redrives FAILED, TIMED_OUT and ABORTED executions alike.
    assert stopped["status"] == "ABORTED" and stopped["redriveStatus"] == "REDRIVABLE"
    assert "redriveStatusReason" not in stopped
    assert sfn.redrive_execution(executionArn=run)["redriveDate"]
    again = _until(sfn, run, lambda d: d["status"] == "RUNNING")
    assert again["redriveCount"] == 1 and again["redriveStatus"] == "NOT_REDRIVABLE"
    assert again["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven"
    events = sfn.get_execution_history(executionArn=run)["events"]
    redriven = [e["type"] for e in events][[e["type"] for e in events].index("ExecutionRedriven") :]
    assert redriven[:2] == ["ExecutionRedriven", "WaitStateEntered"]
    assert json.loads(events[-1]["stateEnteredEventDetails"]["input"]) == {"n": 1}
    sfn.stop_execution(executionArn=run)


def test_a_succeeded_execution_is_not_redrivable(sfn: Any) -> None:
    arn = _machine(sfn, "fid-redrive-done", PASS)
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    done = _ended(sfn, run)
    assert (done["redriveStatus"], done["redriveStatusReason"]) == ("NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven")
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=run)
    code, message = _error(exc)
    assert code == "ExecutionNotRedrivable" and message.startswith("Execution is SUCCEEDED and cannot be redriven")


# -- errors, in AWS's words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "not some json",
            "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
        ),
        ("{'not': 'json'", "Unexpected character (''' (code 39)): was expecting double-quote to start field name"),
        ("", "Invalid execution input."),
    ],
)
def test_start_execution_refuses_input_that_is_not_json_as_aws_does(sfn: Any, text: str, reason: str) -> None:
    arn = _machine(sfn, "fid-input", PASS)
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, input=text)
    assert _error(exc) == ("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{reason}'")


@pytest.mark.parametrize("text", ["2", '"some text"', "null"])
def test_start_execution_takes_any_json_value(sfn: Any, text: str) -> None:
    arn = _machine(sfn, "fid-input-values", PASS)
    run = sfn.start_execution(stateMachineArn=arn, input=text)["executionArn"]
    done = _ended(sfn, run)
    assert done["status"] == "SUCCEEDED" and done["input"] == text and json.loads(done["output"]) == json.loads(text)


def test_a_name_taken_with_another_input_is_execution_already_exists(sfn: Any) -> None:
    arn = _machine(sfn, "fid-idempotent", WAIT_THEN_PASS)
    first = sfn.start_execution(stateMachineArn=arn, name="once", input='{"a": 1}')
    # The same name and input while it runs: the same execution.
    assert sfn.start_execution(stateMachineArn=arn, name="once", input='{"a": 1}')["executionArn"] == first["executionArn"]
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=arn, name="once", input='{"body" : "different-data"}')
    assert _error(exc) == ("ExecutionAlreadyExists", f"Execution Already Exists: '{first['executionArn']}'")
    # StopExecution answers a stop date, and again once the execution has ended.
    assert sfn.stop_execution(executionArn=first["executionArn"])["stopDate"]
    assert sfn.stop_execution(executionArn=first["executionArn"])["stopDate"]


def test_unknown_and_malformed_arns_are_worded_as_aws_words_them(sfn: Any) -> None:
    arn = _machine(sfn, "fid-arns", PASS)
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    _ended(sfn, run)
    unknown = run[:-4] + "0000"
    for call in (sfn.describe_execution, sfn.get_execution_history):
        with pytest.raises(ClientError) as exc:
            call(executionArn=unknown)
        assert _error(exc) == ("ExecutionDoesNotExist", f"Execution Does Not Exist: '{unknown}'")
        with pytest.raises(ClientError) as exc:
            call(executionArn="invalid_state_machine_arn")
        assert _error(exc) == ("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: invalid_state_machine_arn'")
    missing = arn.replace("fid-arns", "fid-arns-gone")
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=missing)
    assert _error(exc) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{missing}'")
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn="not_a_valid_arn")
    assert _error(exc) == ("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'")
    sfn.delete_state_machine(stateMachineArn=missing)  # deleting what does not exist succeeds


def test_state_machine_errors(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="fid-invalid", definition=json.dumps({"StartAt": "A"}), roleArn=ROLE)
    assert _error(exc) == (
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'",
    )
    arn = _machine(sfn, "fid-dup", PASS)
    # The same definition written otherwise is another definition: StateMachineAlreadyExists.
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="fid-dup", definition=json.dumps(PASS, indent=2), roleArn=ROLE)
    assert _error(exc) == ("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=arn)
    assert _error(exc) == (
        "MissingRequiredParameter",
        "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
    )
    with pytest.raises(ClientError) as exc:
        sfn.list_state_machines(maxResults=1001)
    assert _error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sfn.list_state_machines(nextToken="x" * 1025)
    assert _error(exc) == (
        "ValidationException",
        f"1 validation error detected: Value '{'x' * 1025}' at 'nextToken' failed to satisfy constraint:"
        " Member must have length less than or equal to 1024",
    )
    # ListExecutions' tokens are longer: up to 3096 characters.
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn, nextToken="x" * 3096)
    assert _error(exc)[0] == "InvalidToken"
    with pytest.raises(ClientError) as exc:
        sfn.list_executions(stateMachineArn=arn, nextToken="x" * 3097)
    assert _error(exc)[1].endswith("Member must have length less than or equal to 3096")


def test_an_update_that_changes_nothing_keeps_the_revision(sfn: Any) -> None:
    arn = _machine(sfn, "fid-same-update", PASS)
    other_role = "arn:aws:iam::111111111111:role/other"
    first = sfn.update_state_machine(stateMachineArn=arn, roleArn=other_role)
    again = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(PASS), roleArn=other_role)
    assert again["revisionId"] == first["revisionId"]
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert (described["revisionId"], described["roleArn"]) == (first["revisionId"], other_role)
    changed = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(WAIT_THEN_PASS))
    assert changed["revisionId"] != first["revisionId"]


def test_tags_of_a_version_arn_are_resource_not_found(sfn: Any) -> None:
    arn = _machine(sfn, "fid-tags", PASS)
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "key1", "value": "value1"}, {"key": "key1", "value": "value1"}])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "key1", "value": "value1"}]
    with pytest.raises(ClientError) as exc:
        sfn.tag_resource(resourceArn=f"{arn}:1", tags=[{"key": "key1", "value": "value1"}])
    assert _error(exc) == ("ResourceNotFound", f"Resource not found: '{arn}:1'")


def test_validate_state_machine_definition_answers_as_aws_does(aws: Callable[..., Any]) -> None:
    sfn = aws("stepfunctions", parameter_validation=False)  # botocore refuses the empty definition itself

    def diagnostics(definition: str, **extra: Any) -> list[dict[str, Any]]:
        return list(sfn.validate_state_machine_definition(definition=definition, **extra)["diagnostics"])

    empty = {"code": "SCHEMA_VALIDATION_FAILED", "message": "Definition must be a valid JSON object", "severity": "ERROR"}
    assert diagnostics("") == [empty]
    location = '[Source: (String)"not a definition"; line: 1, column: 4]'
    assert diagnostics("not a definition") == [
        {
            "code": "INVALID_JSON_DESCRIPTION",
            "location": location,
            "message": f"Unrecognized token 'not': was expecting {VALUES}\n at {location}",
            "severity": "ERROR",
        }
    ]
    callback = {
        "StartAt": "SendMessageWithWait",
        "States": {
            "SendMessageWithWait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/111111111111/q", "MessageBody.$": "$$.Task.Token"},
                "End": True,
            }
        },
    }
    assert diagnostics(json.dumps(callback)) == []
    assert diagnostics(json.dumps(callback), type="EXPRESS") == [
        {
            "code": "SCHEMA_VALIDATION_FAILED",
            "location": "/States/SendMessageWithWait/Resource",
            "message": "Express state machine does not support '.waitForTaskToken' service integration ",
            "severity": "ERROR",
        }
    ]


def test_an_express_machine_may_not_wait_for_a_task_token(sfn: Any) -> None:
    callback = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:111111111111:t", "Message.$": "$$.Task.Token"},
                "End": True,
            }
        },
    }
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="fid-express-callback", definition=json.dumps(callback), roleArn=ROLE, type="EXPRESS")
    code, message = _error(exc)
    assert code == "InvalidDefinition"
    assert "Express state machine does not support '.waitForTaskToken' service integration  at /States/Ask/Resource" in message
    express = str(
        sfn.create_state_machine(name="fid-express", definition=json.dumps(PASS), roleArn=ROLE, type="EXPRESS")["stateMachineArn"]
    )
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=express, definition=json.dumps(callback))
    assert _error(exc)[0] == "InvalidDefinition"


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("arn:aws:states:::states:startExecution.sync", "Express state machine does not support '.sync' service integration at"),
        ("arn:aws:states:us-east-1:111111111111:activity:a", "Express state machine does not support Activity ARN at"),
    ],
)
def test_an_express_machine_may_not_run_sync_tasks_or_activities(sfn: Any, resource: str, message: str) -> None:
    task = {"Type": "Task", "Resource": resource, "End": True}
    if "startExecution" in resource:
        task["Parameters"] = {"StateMachineArn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:x"}
    definition = {"StartAt": "T", "States": {"T": task}}
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="fid-express-refused", definition=json.dumps(definition), roleArn=ROLE, type="EXPRESS")
    assert _error(exc) == (
        "InvalidDefinition",
        f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {message} /States/T/Resource'",
    )


def test_an_express_execution_arn_is_not_described(sfn: Any) -> None:
    arn = f"arn:aws:states:us-east-1:{ACCOUNT}:express:fid-express:run:5e6a2c1e-0000-4000-8000-000000000000"
    for call in (sfn.describe_execution, sfn.stop_execution, sfn.get_execution_history):
        with pytest.raises(ClientError) as exc:
            call(executionArn=arn)
        assert _error(exc) == ("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'")


def test_an_execution_stopped_over_14_days_ago_is_not_redrivable(sfn: Any, stack: Stack) -> None:
    arn = _machine(sfn, "fid-redrive-old", FAIL)
    run = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert _ended(sfn, run)["redriveStatus"] == "REDRIVABLE"
    # As if it had failed 15 days ago: the redrivable period starts when the execution stops.
    long_ago = (datetime.now(UTC) - timedelta(days=15)).isoformat()
    with stack.local.executions.db.transaction() as conn:
        conn.execute("UPDATE executions SET stopped_at=? WHERE arn=?", (long_ago, run))
    described = sfn.describe_execution(executionArn=run)
    assert (described["redriveStatus"], described["redriveStatusReason"]) == ("NOT_REDRIVABLE", "Execution redrivable period exceeded")
    with pytest.raises(ClientError) as exc:
        sfn.redrive_execution(executionArn=run)
    assert _error(exc)[0] == "ExecutionNotRedrivable"

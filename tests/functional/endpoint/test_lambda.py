"""Lambda through boto3: Invoke (RequestResponse, Event, DryRun, Tail), EventInvokeConfigs, GetFunction, ListFunctions."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.async_invocations import SqliteAsyncInvocations
from sluiceway.backends.local.logs import SqliteLogStore
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack

HANDLERS = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "lambda_handlers"
ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def lam(aws: Callable[..., Any], stack: Stack) -> Iterator[Any]:
    for name, handler in (("LamEcho", "echo"), ("LamFail", "fail"), ("LamChatty", "chatty")):
        stack.invoker.register(FunctionSpec(name, f"{HANDLERS}.{handler}", timeout_s=10, memory_mb=256))
    if stack.invoker.logs is None:  # until the stack's wiring gives the invoker its log store
        store = SqliteLogStore(Path(stack.settings.data_dir) / "logs.db", lambda: int(time.time() * 1000))
        stack.invoker.attach_logs(store)
    yield aws("lambda")


def test_invoke_request_response(lam: Any) -> None:
    answer = lam.invoke(FunctionName="LamEcho", Payload=json.dumps({"a": 1}))
    assert answer["StatusCode"] == 200 and answer["ExecutedVersion"] == "$LATEST" and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"echo": {"a": 1}, "function": "LamEcho"}
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    # A partial ARN, a full ARN and $LATEST name the same function; no payload is {}.
    for name in (f"{ACCOUNT}:function:LamEcho", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:LamEcho:$LATEST"):
        assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == {"echo": {}, "function": "LamEcho"}


def test_a_raising_function_is_unhandled_with_lambdas_error_document(lam: Any) -> None:
    answer = lam.invoke(FunctionName="LamFail", Payload=json.dumps({"why": "because"}))
    assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "bad input: because"
    assert error["requestId"] == answer["ResponseMetadata"]["RequestId"]
    assert any("raise ValueError" in line for line in error["stackTrace"])


def test_log_type_tail_returns_the_invocations_log(lam: Any) -> None:
    answer = lam.invoke(FunctionName="LamChatty", Payload=json.dumps({"marker": "tail-1"}), LogType="Tail")
    text = base64.b64decode(answer["LogResult"]).decode()
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert text.startswith(f"START RequestId: {request_id} Version: $LATEST")
    assert "hello from LamChatty marker=tail-1" in text and "to stderr marker=tail-1" in text
    assert f"END RequestId: {request_id}" in text
    assert f"REPORT RequestId: {request_id}\tDuration: " in text and "Memory Size: 256 MB" in text


def _logged(stack: Stack, group: str, text: str, timeout_s: float = 10) -> list[str]:
    """The log lines of ``group`` once one holds ``text`` (polled until then)."""
    logs = stack.invoker.logs
    assert logs is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        messages = [e.message for e in logs.scan(group)] if logs.has_group(group) else []
        if any(text in m for m in messages):
            return messages
        time.sleep(0.02)
    pytest.fail(f"{text!r} never reached {group}")


def test_event_and_dry_run(lam: Any, stack: Stack) -> None:
    assert lam.invoke(FunctionName="LamEcho", InvocationType="DryRun")["StatusCode"] == 204
    queued = lam.invoke(FunctionName="LamChatty", InvocationType="Event", Payload=json.dumps({"marker": "async-1"}))
    assert queued["StatusCode"] == 202 and queued["Payload"].read() == b""
    messages = _logged(stack, "/aws/lambda/LamChatty", "marker=async-1")
    # The function runs with the request id the 202 carried, as on Lambda.
    assert f"START RequestId: {queued['ResponseMetadata']['RequestId']} Version: $LATEST" in "".join(messages)


def test_an_event_invocation_is_committed_before_the_202(lam: Any, stack: Stack) -> None:
    stack.async_invocations.close()  # nothing runs it: what answers 202 must already be on disk
    try:
        queued = lam.invoke(FunctionName="LamChatty", InvocationType="Event", Payload=json.dumps({"marker": "async-2"}))
        request_id = queued["ResponseMetadata"]["RequestId"]
        assert queued["StatusCode"] == 202
        # Another process opening the data dir now (a restart after a crash) finds it.
        other = Database(stack.local.db.path)
        try:
            [waiting] = [p for p in SqliteAsyncInvocations(other, stack.local.clock).pending() if p.request_id == request_id]
        finally:
            other.close()
        assert (waiting.function, waiting.payload, waiting.attempts) == ("LamChatty", {"marker": "async-2"}, 0)
    finally:
        stack.async_invocations.start()
    _logged(stack, "/aws/lambda/LamChatty", "marker=async-2")


def test_a_failed_event_invocation_waits_a_minute_for_its_retry(lam: Any, stack: Stack) -> None:
    queued = lam.invoke(FunctionName="LamFail", InvocationType="Event", Payload=json.dumps({"why": "async-3"}))
    request_id = queued["ResponseMetadata"]["RequestId"]
    _logged(stack, "/aws/lambda/LamFail", "bad input: async-3")
    deadline = time.monotonic() + 10
    row = None
    while time.monotonic() < deadline:
        row = (
            stack.local.db.connection()
            .execute(
                "SELECT attempts, next_attempt_at, last_error, status FROM lambda_async_invocations WHERE request_id = ?", (request_id,)
            )
            .fetchone()
        )
        if row is not None and row[0] == 1 and row[3] == "pending" and row[2] is not None:
            break
        time.sleep(0.02)
    assert row is not None and (row[0], row[2], row[3]) == (1, "ValueError: bad input: async-3", "pending"), row
    assert 40 <= row[1] - time.time() <= 60  # a minute after the failure, which was moments ago


def test_event_invoke_configs(lam: Any) -> None:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:LamEcho"
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:lam-failures"
    put = lam.put_function_event_invoke_config(
        FunctionName="LamEcho", MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    assert put["FunctionArn"] == f"{arn}:$LATEST" and put["MaximumRetryAttempts"] == 1 and "MaximumEventAgeInSeconds" not in put
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": queue_arn}}
    # Update changes what it names and keeps the rest; Put replaces the whole configuration.
    updated = lam.update_function_event_invoke_config(FunctionName=arn, MaximumEventAgeInSeconds=3600)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 3600)
    assert updated["DestinationConfig"]["OnFailure"] == {"Destination": queue_arn}
    assert updated["LastModified"] >= put["LastModified"]
    got = lam.get_function_event_invoke_config(FunctionName="LamEcho")
    assert {k: got[k] for k in ("FunctionArn", "MaximumRetryAttempts", "MaximumEventAgeInSeconds")} == {
        "FunctionArn": f"{arn}:$LATEST",
        "MaximumRetryAttempts": 1,
        "MaximumEventAgeInSeconds": 3600,
    }
    replaced = lam.put_function_event_invoke_config(FunctionName="LamEcho", MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in replaced and replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    listed = lam.list_function_event_invoke_configs(FunctionName="LamEcho")["FunctionEventInvokeConfigs"]
    assert [(c["FunctionArn"], c["MaximumEventAgeInSeconds"]) for c in listed] == [(f"{arn}:$LATEST", 60)]
    lam.delete_function_event_invoke_config(FunctionName="LamEcho")
    with pytest.raises(ClientError) as exc:
        lam.get_function_event_invoke_config(FunctionName="LamEcho")
    error = exc.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ResourceNotFoundException",
        f"The function {arn}:$LATEST doesn't have an EventInvokeConfig",
    )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert lam.list_function_event_invoke_configs(FunctionName="LamEcho")["FunctionEventInvokeConfigs"] == []


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        (
            {"FunctionName": "LamEcho"},
            "InvalidParameterValueException",
            "You must specify at least one of error handling or destination setting.",
        ),
        (
            {"FunctionName": "LamEcho", "MaximumRetryAttempts": 3},
            "ValidationException",
            "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint:"
            " Member must have value less than or equal to 2",
        ),
        (
            {"FunctionName": "LamEcho", "MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 21601},
            "ValidationException",
            "2 validation errors detected: Value '5' at 'maximumRetryAttempts' failed to satisfy constraint:"
            " Member must have value less than or equal to 2; Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy"
            " constraint: Member must have value less than or equal to 21600",
        ),
        ({"FunctionName": "Nope", "MaximumRetryAttempts": 1}, "ResourceNotFoundException", "The function doesn't exist."),
        (
            {"FunctionName": "LamEcho", "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::bucket"}}},
            "InvalidParameterValueException",
            "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:s3:::bucket),"
            " onFailure=null) is invalid.",
        ),
        (
            {
                "FunctionName": "LamEcho",
                "DestinationConfig": {"OnFailure": {"Destination": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:LamEcho"}},
            },
            "InvalidParameterValueException",
            "You can't specify the function as a destination for itself.",
        ),
        (
            {
                "FunctionName": "LamEcho",
                "DestinationConfig": {"OnFailure": {"Destination": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:Nope"}},
            },
            "InvalidParameterValueException",
            f"The destination ARN arn:aws:lambda:us-east-1:{ACCOUNT}:function:Nope is invalid.",
        ),
    ],
)
def test_event_invoke_config_refusals(lam: Any, call: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(ClientError) as exc:
        lam.put_function_event_invoke_config(**call)
    assert (exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]) == (code, message)


def test_update_and_delete_of_a_missing_config(lam: Any) -> None:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:LamChatty"
    with pytest.raises(ClientError) as exc:
        lam.update_function_event_invoke_config(FunctionName="LamChatty", MaximumRetryAttempts=0)
    assert exc.value.response["Error"]["Message"] == f"The function {arn}:$LATEST doesn't have an EventInvokeConfig"
    with pytest.raises(ClientError) as exc:
        lam.delete_function_event_invoke_config(FunctionName="LamChatty")
    assert exc.value.response["Error"]["Message"] == f"The function {arn} doesn't have an EventInvokeConfig"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_failed_event_invocation_goes_to_its_on_failure_destination(aws: Callable[..., Any], lam: Any) -> None:
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName="lam-dead-letters")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.put_function_event_invoke_config(
        FunctionName="LamFail", MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    try:
        queued = lam.invoke(FunctionName="LamFail", InvocationType="Event", Payload=json.dumps({"why": "to-the-queue"}))
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10).get("Messages", [])
    finally:
        lam.delete_function_event_invoke_config(FunctionName="LamFail")
    [message] = messages
    record = json.loads(message["Body"])
    assert record["requestContext"] == {
        "requestId": queued["ResponseMetadata"]["RequestId"],
        "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:LamFail:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"why": "to-the-queue"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorMessage"] == "bad input: to-the-queue"


def test_unknown_and_malformed_names(lam: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="Nope")
    error = exc.value.response["Error"]
    assert error["Code"] == "ResourceNotFoundException" and exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Message"] == f"Function not found: arn:aws:lambda:us-east-1:{ACCOUNT}:function:Nope"
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="LamEcho", Qualifier="7")
    assert exc.value.response["Error"]["Message"].endswith("function:LamEcho:7")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName="LamEcho", Payload=b"{not json")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestContentException"
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName="arn:aws:lambda:us-east-1:222222222222:function:LamEcho")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_get_and_list_functions(lam: Any) -> None:
    function = lam.get_function(FunctionName="LamEcho")["Configuration"]
    assert function["FunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:LamEcho"
    assert (function["Handler"], function["Timeout"], function["MemorySize"]) == (f"{HANDLERS}.echo", 10, 256)
    assert function["Runtime"].startswith("python3.") and function["State"] == "Active"
    assert lam.get_function_configuration(FunctionName="LamEcho")["FunctionName"] == "LamEcho"
    pages = list(lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}))
    names = [f["FunctionName"] for p in pages for f in p["Functions"]]
    assert {"LamEcho", "LamFail", "LamChatty", "ValidateData"} <= set(names) and len(names) == len(set(names))
    assert all(len(p["Functions"]) <= 2 for p in pages) and len(pages) > 1

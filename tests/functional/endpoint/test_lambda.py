"""Lambda through boto3: Invoke (RequestResponse, Event, DryRun, Tail), GetFunction, ListFunctions."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

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


def test_event_and_dry_run(lam: Any, stack: Stack) -> None:
    assert lam.invoke(FunctionName="LamEcho", InvocationType="DryRun")["StatusCode"] == 204
    queued = lam.invoke(FunctionName="LamChatty", InvocationType="Event", Payload=json.dumps({"marker": "async-1"}))
    assert queued["StatusCode"] == 202 and queued["Payload"].read() == b""
    logs = stack.invoker.logs
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = logs.scan("/aws/lambda/LamChatty") if logs.has_group("/aws/lambda/LamChatty") else []
        if any("marker=async-1" in e.message for e in events):
            break
        time.sleep(0.02)
    else:
        pytest.fail("the event invocation never ran")


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

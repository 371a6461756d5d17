"""CloudWatch Logs through boto3: groups, streams, events, filters, and functions' own logs."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def logs(aws: Callable[..., Any], stack: Stack) -> Iterator[Any]:
    stack.invoker.register(FunctionSpec("LogsChatty", f"{HANDLERS}.chatty", timeout_s=10))
    stack.invoker.register(FunctionSpec("LogsFail", f"{HANDLERS}.fail", timeout_s=10))
    if stack.invoker.logs is None:  # until the stack's wiring gives the invoker its log store
        stack.invoker.attach_logs(SqliteLogStore(Path(stack.settings.data_dir) / "logs.db", lambda: int(time.time() * 1000)))
    yield aws("logs")


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _now() -> int:
    return int(time.time() * 1000)


def test_groups_and_streams(logs: Any) -> None:
    logs.create_log_group(logGroupName="/app/one")
    logs.create_log_group(logGroupName="/app/two")
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="/app/one")
    assert _code(exc) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="bad name!")
    assert _code(exc) == "InvalidParameterException"
    groups = logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/app/one", "/app/two"]
    assert groups[0]["arn"] == "arn:aws:logs:us-east-1:111111111111:log-group:/app/one:*"
    paged = list(logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/app/", PaginationConfig={"PageSize": 1}))
    assert [len(p["logGroups"]) for p in paged] == [1, 1]
    logs.create_log_stream(logGroupName="/app/one", logStreamName="b")
    logs.create_log_stream(logGroupName="/app/one", logStreamName="a")
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName="/app/nope", logStreamName="a")
    assert _code(exc) == "ResourceNotFoundException" and exc.value.response["Error"]["Message"] == "The specified log group does not exist."
    now = _now()
    logs.put_log_events(logGroupName="/app/one", logStreamName="b", logEvents=[{"timestamp": now, "message": "x"}])
    by_name = logs.describe_log_streams(logGroupName="/app/one")["logStreams"]
    assert [s["logStreamName"] for s in by_name] == ["a", "b"]
    latest = logs.describe_log_streams(logGroupName="/app/one", orderBy="LastEventTime", descending=True)["logStreams"]
    assert latest[0]["logStreamName"] == "b" and latest[0]["lastEventTimestamp"] == now
    logs.delete_log_group(logGroupName="/app/two")
    with pytest.raises(ClientError) as exc:
        logs.delete_log_group(logGroupName="/app/two")
    assert _code(exc) == "ResourceNotFoundException"


def test_get_log_events_reads_forward_and_backward(logs: Any) -> None:
    logs.create_log_group(logGroupName="/app/read")
    logs.create_log_stream(logGroupName="/app/read", logStreamName="s")
    base = _now() - 10_000
    logs.put_log_events(
        logGroupName="/app/read", logStreamName="s", logEvents=[{"timestamp": base + i, "message": f"m{i}"} for i in range(5)]
    )
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(
            logGroupName="/app/read",
            logStreamName="s",
            logEvents=[{"timestamp": base + 2, "message": "x"}, {"timestamp": base, "message": "y"}],
        )
    assert _code(exc) == "InvalidParameterException"
    # By default the newest events; startFromHead the oldest.
    tail = logs.get_log_events(logGroupName="/app/read", logStreamName="s", limit=2)
    assert [e["message"] for e in tail["events"]] == ["m3", "m4"]
    head = logs.get_log_events(logGroupName="/app/read", logStreamName="s", limit=2, startFromHead=True)
    assert [e["message"] for e in head["events"]] == ["m0", "m1"]
    forward = logs.get_log_events(logGroupName="/app/read", logStreamName="s", limit=2, nextToken=head["nextForwardToken"])
    assert [e["message"] for e in forward["events"]] == ["m2", "m3"]
    backward = logs.get_log_events(logGroupName="/app/read", logStreamName="s", limit=2, nextToken=tail["nextBackwardToken"])
    assert [e["message"] for e in backward["events"]] == ["m1", "m2"]
    end = logs.get_log_events(logGroupName="/app/read", logStreamName="s", nextToken=tail["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == tail["nextForwardToken"]  # the same token: the end
    window = logs.get_log_events(logGroupName="/app/read", logStreamName="s", startTime=base + 1, endTime=base + 3, startFromHead=True)
    assert [e["message"] for e in window["events"]] == ["m1", "m2"]


def test_filter_patterns(logs: Any) -> None:
    logs.create_log_group(logGroupName="/app/filter")
    logs.create_log_stream(logGroupName="/app/filter", logStreamName="s1")
    logs.create_log_stream(logGroupName="/app/filter", logStreamName="s2")
    now = _now() - 5_000
    lines = [
        ("s1", "ERROR disk full"),
        ("s1", "WARN slow request"),
        ("s2", "INFO Exception in thread main"),
        ("s2", json.dumps({"level": "ERROR", "latency": 250, "user": {"id": "u-1"}})),
        ("s2", json.dumps({"level": "INFO", "latency": 20})),
    ]
    for i, (stream, message) in enumerate(lines):
        logs.put_log_events(logGroupName="/app/filter", logStreamName=stream, logEvents=[{"timestamp": now + i, "message": message}])

    def found(pattern: str, **extra: Any) -> list[str]:
        return [e["message"] for e in logs.filter_log_events(logGroupName="/app/filter", filterPattern=pattern, **extra)["events"]]

    assert found("ERROR") == ["ERROR disk full", lines[3][1]]
    assert found("ERROR disk") == ["ERROR disk full"]
    assert found('"Exception in thread"') == ["INFO Exception in thread main"]
    assert found("?WARN ?disk") == ["ERROR disk full", "WARN slow request"]
    assert found("ERROR -disk") == [lines[3][1]]
    assert found('{ $.level = "ERROR" }') == [lines[3][1]]
    assert found("{ $.latency > 100 && $.user.id = u-* }") == [lines[3][1]]
    assert found('{ $.latency < 100 || $.level = "NOPE" }') == [lines[4][1]]
    assert found("", logStreamNames=["s1"]) == ["ERROR disk full", "WARN slow request"]
    assert found("", startTime=now + 1, endTime=now + 2) == ["WARN slow request", "INFO Exception in thread main"]
    pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName="/app/filter", PaginationConfig={"PageSize": 2}))
    assert [len(p["events"]) for p in pages] == [2, 2, 1]
    with pytest.raises(ClientError) as exc:
        found("{ $.level = ")
    assert _code(exc) == "InvalidParameterException"


def test_a_functions_output_lands_in_its_log_group(logs: Any, aws: Callable[..., Any]) -> None:
    lam = aws("lambda")
    answer = lam.invoke(FunctionName="LogsChatty", Payload=json.dumps({"marker": "m-77"}))
    request_id = answer["ResponseMetadata"]["RequestId"]
    failed = lam.invoke(FunctionName="LogsFail", Payload=json.dumps({"why": "w-88"}))
    assert failed["FunctionError"] == "Unhandled"
    found = logs.filter_log_events(logGroupName="/aws/lambda/LogsChatty", filterPattern=f'"{request_id}"')["events"]
    messages = [e["message"] for e in found]
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST\n"
    assert messages[-2] == f"END RequestId: {request_id}\n" and messages[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "Billed Duration: " in messages[-1] and "Max Memory Used: " in messages[-1]
    hello = logs.filter_log_events(logGroupName="/aws/lambda/LogsChatty", filterPattern='"marker=m-77"')["events"]
    texts = [e["message"] for e in hello]
    assert "hello from LogsChatty marker=m-77\n" in texts
    assert any(t.startswith("[ERROR]\t") and t.rstrip().endswith("something bad marker=m-77") for t in texts)
    stream = hello[0]["logStreamName"]
    assert stream.count("/") == 3 and "[$LATEST]" in stream
    groups = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/Logs")["logGroups"]]
    assert groups == ["/aws/lambda/LogsChatty", "/aws/lambda/LogsFail"]
    error = logs.filter_log_events(logGroupName="/aws/lambda/LogsFail", filterPattern='"[ERROR] ValueError: bad input: w-88"')
    assert len(error["events"]) == 1 and "Traceback (most recent call last):" in error["events"][0]["message"]

"""Functions in worker processes: the environment that lets unchanged boto3 code reach the endpoint, and log capture."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local.logs import SqliteLogStore
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

HANDLERS = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "lambda_handlers"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose functions run in a worker process, as `sluiceway up` runs them."""
    data_dir: Path = tmp_path_factory.mktemp("endpoint-process") / "data"
    built = build_stack(Settings.load(data_dir=data_dir, workers=1), invoker_mode="process")
    for name, handler in (("ProcEnv", "environment"), ("ProcCaller", "caller"), ("ProcChatty", "chatty"), ("ProcFail", "fail")):
        built.invoker.register(FunctionSpec(name, f"{HANDLERS}.{handler}", timeout_s=20, memory_mb=256))
    if built.invoker.logs is None:  # until the stack's wiring gives the invoker its log store
        built.invoker.attach_logs(SqliteLogStore(data_dir / "logs.db", lambda: int(time.time() * 1000)))
    built.start("endpoint process tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def endpoint(stack: Stack) -> Iterator[Endpoint]:
    served = Endpoint(stack, host="127.0.0.1", port=0)
    served.start()
    stack.invoker.use_endpoint(served.url)
    try:
        yield served
    finally:
        served.close()


def test_functions_get_lambdas_environment_and_the_endpoint(aws: Callable[..., Any], endpoint: Endpoint) -> None:
    lam = aws("lambda")
    env = json.loads(lam.invoke(FunctionName="ProcEnv")["Payload"].read())
    assert env["AWS_ENDPOINT_URL"] == endpoint.url
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "ProcEnv" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/ProcEnv" and "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_DISABLE_HOST_PREFIX_INJECTION"] == "true"
    # Unchanged boto3 code in the handler reaches the endpoint.
    assert json.loads(lam.invoke(FunctionName="ProcCaller")["Payload"].read()) == "111111111111"


def test_a_workers_output_lands_in_cloudwatch_logs(aws: Callable[..., Any]) -> None:
    lam, logs = aws("lambda"), aws("logs")
    answer = lam.invoke(FunctionName="ProcChatty", Payload=json.dumps({"marker": "p-5"}))
    request_id = answer["ResponseMetadata"]["RequestId"]
    events = logs.filter_log_events(logGroupName="/aws/lambda/ProcChatty", filterPattern='"p-5"')["events"]
    texts = [e["message"] for e in events]
    assert "hello from ProcChatty marker=p-5\n" in texts and "to stderr marker=p-5\n" in texts
    assert any(t.startswith("[ERROR]\t") and f"\t{request_id}\t" in t for t in texts)
    report = logs.filter_log_events(logGroupName="/aws/lambda/ProcChatty", filterPattern=f'"REPORT RequestId: {request_id}"')["events"]
    assert len(report) == 1 and "Init Duration: " in report[0]["message"]  # the worker's first call: a cold start
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/ProcChatty")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [events[0]["logStreamName"]]
    tail = lam.invoke(FunctionName="ProcFail", Payload=json.dumps({"why": "p-6"}), LogType="Tail")
    text = base64.b64decode(tail["LogResult"]).decode()
    assert "[ERROR] ValueError: bad input: p-6" in text and "REPORT RequestId:" in text


def test_a_new_endpoint_reaches_workers_already_running(aws: Callable[..., Any], stack: Stack, endpoint: Endpoint) -> None:
    lam = aws("lambda")
    lam.invoke(FunctionName="ProcEnv")  # the worker runs (and idles) with the endpoint's URL
    before = stack.invoker.worker_pids()
    stack.invoker.use_endpoint("http://127.0.0.1:1")
    try:
        env = json.loads(lam.invoke(FunctionName="ProcEnv")["Payload"].read())
        assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
        assert set(stack.invoker.worker_pids()).isdisjoint(before)  # replaced, not patched
    finally:
        stack.invoker.use_endpoint(endpoint.url)

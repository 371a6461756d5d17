"""The management API's routes for the console, on a running endpoint with real data.

The csv-workflow example is deployed onto the stack and run on its sample file: its functions
write real logs, the stack's feeds turn them and the executions into AWS/Lambda and AWS/States
metrics, and its run leaves result files and a rejects file in S3. Every figure the API answers
is checked against what boto3 reads from the same endpoint.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from management_api_helpers import API, Pool, make_user, sign_in

from sluiceway.api.app import create_app
from sluiceway.api.aws import Aws, AwsCallError
from sluiceway.api.routes import dashboard, functions, pipeline, resources
from sluiceway.api.routes._series import Window
from sluiceway.cfn.deployer import deploy
from sluiceway.cli.new import copy_example
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

SAMPLE_KEY = "sales/2025-01-15.csv"


def call(endpoint: Endpoint, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{endpoint.url}{API}{path}", headers=headers, timeout=60)


def until(check: Callable[[], Any], what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(endpoint: Endpoint) -> Endpoint:
    """The endpoint, its API serving the console's routes (added here until the app's own list has them)."""
    # A route not served is a 404 before any check of the caller; a served one refuses the anonymous caller.
    if call(endpoint, "/dashboard").status_code == 404:
        api: Any = endpoint.shared.get("management-api", lambda: None)  # the endpoint's AsgiApp, made above
        app = api.app
        for module in (functions, resources, dashboard, pipeline):
            app.include_router(module.router)
    assert call(endpoint, "/dashboard").status_code == 401
    assert call(endpoint, "/queues/any/messages").status_code == 401  # the queues router, included by the app itself
    return endpoint


@pytest.fixture(scope="module")
def tokens(served: Endpoint, aws: Callable[..., Any], pool: Pool) -> dict[str, str]:
    return {role: sign_in(aws, pool.client_id, make_user(aws, pool.pool_id, role))["AccessToken"] for role in ("viewer", "operator")}


@dataclass(frozen=True)
class Deployed:
    outputs: dict[str, str]
    execution: dict[str, Any]
    resources_before: Any


@pytest.fixture(scope="module")
def deployed(
    served: Endpoint, stack: Stack, tokens: dict[str, str], aws: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Deployed:
    """csv-workflow deployed and run once on its sample; what /resources answered before it."""
    before = call(served, "/resources", tokens["viewer"]).json()
    root: Path = tmp_path_factory.mktemp("console-app")
    copy_example("csv-workflow", root / "app")
    outputs = deploy(served, root / "app" / "template.yaml", "csv-workflow", {}, cache_dir=root / "cache").outputs
    sample = (root / "app" / "data" / "sales-2025-01-15.csv").read_bytes()
    aws("s3").put_object(Bucket=outputs["InputBucketName"], Key=SAMPLE_KEY, Body=sample)
    sfn = aws("stepfunctions")

    def finished() -> dict[str, Any] | None:
        listed = sfn.list_executions(stateMachineArn=outputs["StateMachineArn"])["executions"]
        return dict(listed[0]) if listed and listed[0]["status"] != "RUNNING" else None

    execution = until(finished, "the sample's run")
    assert execution["status"] == "SUCCEEDED", sfn.describe_execution(executionArn=execution["executionArn"])
    assert stack.alarms is not None
    stack.alarms.turn()  # feeds the run's metrics now rather than at the next turn of the stack's own
    return Deployed(outputs, execution, before)


def _name_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _machine(aws: Callable[..., Any], definition: dict[str, Any]) -> str:
    arn: str = aws("stepfunctions").create_state_machine(
        name=f"console-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn="arn:aws:iam::000000000000:role/sfn"
    )["stateMachineArn"]
    return arn


def _run(aws: Callable[..., Any], machine: str, status: str = "SUCCEEDED") -> str:
    sfn = aws("stepfunctions")
    arn: str = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    until(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", "the execution")
    assert sfn.describe_execution(executionArn=arn)["status"] == status
    return arn


def _served_api(endpoint: Endpoint) -> FastAPI:
    app: FastAPI = endpoint.shared.get("management-api", lambda: None).app  # the endpoint's AsgiApp, made by `served`
    return app


class _Recording:
    """The endpoint's AWS as the API reaches it, noting each call: what a route asked AWS for."""

    def __init__(self, inner: Aws) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((service, operation, params))
        return self.inner.call(service, operation, params)

    def presign_put(self, bucket: str, key: str, expires_s: int, *, content_type: str | None = None) -> str:
        return self.inner.presign_put(bucket, key, expires_s, content_type=content_type)

    def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        return self.inner.presign_get(bucket, key, expires_s)


class _S3Refusing(_Recording):
    """The endpoint's AWS, but S3 answers ``error`` to these operations on one bucket, as AWS answers a role without s3:GetObject."""

    def __init__(self, inner: Aws, bucket: str, operations: set[str], error: AwsCallError) -> None:
        super().__init__(inner)
        self.bucket, self.operations, self.error = bucket, operations, error

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if service == "s3" and operation in self.operations and params.get("Bucket") == self.bucket:
            # A HEAD answer has no body: botocore names its error by the status ("403").
            code = str(self.error.status) if operation == "HeadObject" else self.error.code
            raise AwsCallError(code, self.error.message, self.error.status)
        return super().call(service, operation, params)


@dataclass(frozen=True)
class _Through:
    """The management API over another :class:`Aws`, called in-process; its callers known as the endpoint's API knows them."""

    app: FastAPI

    def get(self, path: str, token: str) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await client.get(f"{API}{path}", headers={"Authorization": f"Bearer {token}"})

        return asyncio.run(send())


def _through(endpoint: Endpoint, aws: Aws, **options: Any) -> _Through:
    return _Through(create_app(aws, _served_api(endpoint).state.authenticator, **options))


# ---------------------------------------------------------------------------- who may call


ROUTES = [
    ("/functions", "viewer"),
    ("/functions/no-such-function", "viewer"),
    ("/resources", "viewer"),
    ("/dashboard", "viewer"),
    ("/executions/arn:aws:states:us-east-1:000000000000:execution:nothing:nobody/pipeline", "viewer"),
    ("/queues/no-such-queue/messages", "operator"),
    ("/queues/no-such-queue/dead-letter-sources", "viewer"),
]


@pytest.mark.parametrize(("path", "needs"), ROUTES, ids=[p for p, _ in ROUTES])
def test_who_may_call_each_console_route(served: Endpoint, tokens: dict[str, str], path: str, needs: str) -> None:
    anonymous = call(served, path)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["error"] == "Unauthorized"
    for role in ("viewer", "operator"):
        answer = call(served, path, tokens[role])
        if role == "viewer" and needs == "operator":
            assert answer.status_code == 403 and answer.json()["error"] == "Forbidden", answer.text
        else:
            assert answer.status_code not in (401, 403, 500), (role, answer.text)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard?minutes=4",
        "/dashboard?minutes=1441",
        "/dashboard?minutes=soon",
        "/functions?minutes=0",
        "/functions?maxResults=51",
        "/functions/has.a.dot",
        "/functions/ValidateData?limit=501",
        "/queues/no-such-queue/messages?max=11",
    ],
)
def test_bad_values_are_422_problems(served: Endpoint, tokens: dict[str, str], path: str) -> None:
    answer = call(served, path, tokens["operator"])
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["error"] == "ValidationError" and problem["message"] and problem["detail"]


# ---------------------------------------------------------------------------- functions


def _report_lines(aws: Callable[..., Any], name: str) -> list[dict[str, Any]]:
    pages = aws("logs").get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{name}")
    return [e for page in pages for e in page["events"]]


def test_functions_carry_their_configuration_and_the_metrics_of_their_invocations(
    served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any], deployed: Deployed
) -> None:
    answer = call(served, "/functions?minutes=60", tokens["viewer"])
    assert answer.status_code == 200, answer.text
    listed = {f["functionName"]: f for f in answer.json()["functions"]}
    configured = {f["FunctionName"]: f for f in aws("lambda").list_functions()["Functions"]}
    assert set(listed) == set(configured)
    validate = next(name for name in listed if name.startswith("csv-workflow-ValidateDataFunction-"))
    shown, truth = listed[validate], configured[validate]
    assert (shown["runtime"], shown["handler"], shown["memorySize"], shown["timeout"], shown["lastModified"]) == (
        truth["Runtime"],
        truth["Handler"],
        truth["MemorySize"],
        truth["Timeout"],
        truth["LastModified"],
    )
    reports = [e for e in _report_lines(aws, validate) if e["message"].startswith("REPORT RequestId: ")]
    durations = [float(e["message"].split("\tDuration: ")[1].split(" ms")[0]) for e in reports]
    metrics = shown["metrics"]
    assert metrics["invocations"] == len(reports) >= 1
    assert (metrics["errors"], metrics["throttles"]) == (0, 0)
    assert metrics["durationMaximum"] == pytest.approx(max(durations))
    assert metrics["durationAverage"] == pytest.approx(sum(durations) / len(durations))
    idle = next(name for name in listed if name.startswith("csv-workflow-ErrorHandlerFunction-"))
    assert listed[idle]["metrics"] == {"invocations": 0, "errors": 0, "throttles": 0, "durationAverage": None, "durationMaximum": None}

    first = call(served, "/functions?maxResults=1", tokens["viewer"]).json()
    assert len(first["functions"]) == 1 and first["nextToken"]
    second = call(served, f"/functions?maxResults=1&nextToken={first['nextToken']}", tokens["viewer"]).json()
    assert second["functions"][0]["functionName"] != first["functions"][0]["functionName"]


def test_one_function_has_per_minute_series_and_its_newest_log_lines(
    served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any], deployed: Deployed
) -> None:
    name = next(f["FunctionName"] for f in aws("lambda").list_functions()["Functions"] if "AggregateDataFunction" in f["FunctionName"])
    answer = call(served, f"/functions/{name}?minutes=10&limit=3", tokens["viewer"])
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    window = detail["window"]
    assert window["minutes"] == 10 and window["period"] == 60
    for chart in detail["series"].values():
        stamps = [datetime.fromisoformat(t) for t in chart["timestamps"]]
        assert len(stamps) == len(chart["values"]) == 10
        assert all(s.second == 0 and s.microsecond == 0 for s in stamps)
        assert all((b - a).total_seconds() == 60 for a, b in zip(stamps, stamps[1:], strict=False))
    invocations = detail["series"]["invocations"]["values"]
    assert sum(v or 0 for v in invocations) == detail["metrics"]["invocations"] >= 1
    passed = invocations[:-1]
    assert all(v is not None for v in passed)  # a passed minute without data is 0, never missing
    assert any(v is None for v in detail["series"]["durationAverage"]["values"])  # a minute without invocations has no duration

    every = _report_lines(aws, name)
    assert detail["logGroupName"] == f"/aws/lambda/{name}"
    assert [line["message"] for line in detail["logEvents"]] == [e["message"] for e in every[-3:]]
    assert detail["logEvents"][-1]["message"].startswith("REPORT RequestId: ")
    stamps = [line["timestamp"] for line in detail["logEvents"]]
    assert stamps == sorted(stamps)

    missing = call(served, "/functions/no-such-function", tokens["viewer"])
    assert missing.status_code == 404 and missing.json()["error"] == "ResourceNotFoundException"


def test_a_function_never_invoked_has_no_log_lines(served: Endpoint, tokens: dict[str, str], deployed: Deployed) -> None:
    listed = call(served, "/functions", tokens["viewer"]).json()["functions"]
    idle = next(f["functionName"] for f in listed if f["functionName"].startswith("csv-workflow-ErrorHandlerFunction-"))
    detail = call(served, f"/functions/{idle}", tokens["viewer"]).json()
    assert detail["logEvents"] == [] and detail["metrics"]["invocations"] == 0


# ---------------------------------------------------------------------------- resources


def test_resources_are_the_stacks_outputs_and_resources(
    served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any], deployed: Deployed
) -> None:
    assert deployed.resources_before == {"stacks": []}
    answer = call(served, "/resources", tokens["viewer"])
    assert answer.status_code == 200, answer.text
    (app,) = answer.json()["stacks"]
    assert (app["stackName"], app["stackStatus"]) == ("csv-workflow", "CREATE_COMPLETE")
    assert {o["outputKey"]: o["outputValue"] for o in app["outputs"]} == deployed.outputs
    truth = aws("cloudformation").list_stack_resources(StackName="csv-workflow")["StackResourceSummaries"]
    assert {(r["logicalResourceId"], r["physicalResourceId"], r["resourceType"], r["resourceStatus"]) for r in app["resources"]} == {
        (r["LogicalResourceId"], r.get("PhysicalResourceId"), r["ResourceType"], r["ResourceStatus"]) for r in truth
    }
    machine = next(r for r in app["resources"] if r["logicalResourceId"] == "DataProcessingWorkflow")
    assert machine["resourceType"] == "AWS::StepFunctions::StateMachine"
    assert machine["physicalResourceId"] == deployed.outputs["StateMachineArn"]


def test_resources_read_only_the_stacks_the_app_names(served: Endpoint, tokens: dict[str, str], deployed: Deployed) -> None:
    """On AWS the API is told its stack: it describes that one by name and lists no other."""
    recording = _Recording(_served_api(served).state.aws)
    answer = _through(served, recording, stacks=lambda: ["csv-workflow"]).get("/resources", tokens["viewer"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == call(served, "/resources", tokens["viewer"]).json()
    (app,) = answer.json()["stacks"]
    asked = [(operation, params.get("StackName")) for service, operation, params in recording.calls if service == "cloudformation"]
    assert asked[0] == ("DescribeStacks", "csv-workflow")
    assert {operation for operation, _ in asked} == {"DescribeStacks", "ListStackResources"}
    assert {name for _, name in asked} <= {"csv-workflow", app["stackId"]}

    gone = _through(served, recording, stacks=lambda: ["no-such-stack"]).get("/resources", tokens["viewer"])
    assert gone.status_code == 200 and gone.json() == {"stacks": []}


# ---------------------------------------------------------------------------- pipeline runs


def _get(aws: Callable[..., Any], bucket: str, key: str) -> bytes:
    return bytes(aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def test_a_pipeline_run_has_its_rows_files_and_rejects(
    served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any], deployed: Deployed
) -> None:
    arn = deployed.execution["executionArn"]
    answer = call(served, f"/executions/{arn}/pipeline", tokens["viewer"])
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["status"] == "SUCCEEDED"
    # The execution's output names the files; the counts are the aggregation's, found in the history.
    assert run["rows"] == {"read": 7, "valid": 5, "rejected": 2, "source": "AggregateData"}
    output = json.loads(aws("stepfunctions").describe_execution(executionArn=arn)["output"])
    files = {f["member"]: f for f in run["files"]}
    bucket = deployed.outputs["OutputBucketName"]
    assert files["output"]["key"] == output["output"].removeprefix(f"s3://{bucket}/")
    assert files["rejects"]["key"] == output["rejects"].removeprefix(f"s3://{bucket}/")
    assert files["result.csv"]["key"].endswith("/results.csv")
    assert not any(f["key"].startswith("_work/") for f in run["files"])  # cleaned up by the run: no dead link
    for file in run["files"]:
        assert file["bucket"] == bucket and file["download"]["expiresIn"] == 300
        body = _get(aws, bucket, file["key"])
        assert file["size"] == len(body)
        assert httpx.get(file["download"]["url"], timeout=30).content == body
    rejects = _get(aws, bucket, files["rejects"]["key"]).decode()
    assert run["rejects"] == {"bucket": bucket, "key": files["rejects"]["key"], "lines": rejects.splitlines(), "truncated": False}
    assert any("mars" in line for line in run["rejects"]["lines"])


def test_a_large_rejects_file_is_previewed_from_its_start(served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    aws("s3").create_bucket(Bucket="console-rejects")
    lines = ["id,reason"] + [f"{n},{'x' * 400}" for n in range(40)]
    aws("s3").put_object(Bucket="console-rejects", Key="run/rejects.csv", Body="\n".join(lines).encode())
    counts = {"rows_read": 50, "rows_valid": 10, "rejected_rows": "s3://console-rejects/run/rejects.csv"}
    result = {"summary": {"rows_read": 50, "rows_valid": 10, "rows_rejected": 40}, "files": {"rejects": counts["rejected_rows"]}}
    arn = _run(aws, _machine(aws, {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": result, "End": True}}}))
    run = call(served, f"/executions/{arn}/pipeline", tokens["viewer"]).json()
    assert run["rows"] == {"read": 50, "valid": 10, "rejected": 40, "source": "output"}
    assert [f["member"] for f in run["files"]] == ["files.rejects"]
    preview = run["rejects"]
    assert preview["truncated"] is True and len(preview["lines"]) == 20
    assert preview["lines"] == lines[:20]


def test_an_execution_without_rows_or_files_is_not_a_pipeline_run(
    served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]
) -> None:
    arn = _run(aws, _machine(aws, {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"n": 1}, "End": True}}}))
    answer = call(served, f"/executions/{arn}/pipeline", tokens["viewer"])
    assert answer.status_code == 404 and answer.json()["error"] == "NotAPipelineRun"
    missing = call(served, f"/executions/{arn}-none/pipeline", tokens["viewer"])
    assert missing.status_code == 404 and missing.json()["error"] == "ExecutionDoesNotExist"


def _run_naming(aws: Callable[..., Any], bucket: str) -> tuple[str, dict[str, str]]:
    """An execution whose output names a result file in a readable bucket and a rejects file in ``bucket``."""
    s3 = aws("s3")
    for name in ("console-readable", bucket):
        s3.create_bucket(Bucket=name)
    s3.put_object(Bucket="console-readable", Key="run/result.csv", Body=b"id\n1\n")
    s3.put_object(Bucket=bucket, Key="run/rejects.csv", Body=b"id,reason\n2,mars\n")
    files = {"result": "s3://console-readable/run/result.csv", "rejects": f"s3://{bucket}/run/rejects.csv"}
    result = {"summary": {"rows_read": 2, "rows_valid": 1, "rows_rejected": 1}, "files": files}
    return _run(aws, _machine(aws, {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": result, "End": True}}})), files


def test_a_file_the_api_may_not_read_is_left_out_of_the_summary(served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    arn, _ = _run_naming(aws, "console-denied")
    inner = _served_api(served).state.aws
    denied = AwsCallError("AccessDenied", "Access Denied", 403)

    # Neither HeadObject nor GetObject allowed on the bucket: the file is not listed, the rest is.
    unlisted = _through(served, _S3Refusing(inner, "console-denied", {"HeadObject", "GetObject"}, denied))
    answer = unlisted.get(f"/executions/{arn}/pipeline", tokens["viewer"])
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["rows"] == {"read": 2, "valid": 1, "rejected": 1, "source": "output"}
    assert [(f["member"], f["bucket"]) for f in run["files"]] == [("files.result", "console-readable")]
    assert run["rejects"] is None

    # Listed (HeadObject allowed) but not readable (an object under a KMS key the role may not use): no preview.
    unread = _through(served, _S3Refusing(inner, "console-denied", {"GetObject"}, denied))
    run = unread.get(f"/executions/{arn}/pipeline", tokens["viewer"]).json()
    assert [f["member"] for f in run["files"]] == ["files.result", "files.rejects"]
    assert run["rejects"] is None

    # What says nothing of the file (S3 throttling) still fails the call rather than hide a file.
    throttled = _through(served, _S3Refusing(inner, "console-denied", {"HeadObject"}, AwsCallError("SlowDown", "Reduce your rate", 503)))
    failed = throttled.get(f"/executions/{arn}/pipeline", tokens["viewer"])
    assert failed.status_code == 502 and failed.json()["error"] == "503"

    # Readable through the endpoint itself: both files, and the rejects previewed.
    whole = call(served, f"/executions/{arn}/pipeline", tokens["viewer"]).json()
    assert [f["member"] for f in whole["files"]] == ["files.result", "files.rejects"]
    assert whole["rejects"]["lines"] == ["id,reason", "2,mars"]


# ---------------------------------------------------------------------------- dead-letter preview


def _dead_letter_pair(aws: Callable[..., Any], name: str) -> tuple[str, str]:
    sqs = aws("sqs")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    work = sqs.create_queue(
        QueueName=name, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})}
    )["QueueUrl"]
    return str(work), str(dlq)


def _to_the_dead_letter_queue(aws: Callable[..., Any], work: str, dlq: str) -> None:
    sqs = aws("sqs")
    assert sqs.receive_message(QueueUrl=work, VisibilityTimeout=0).get("Messages")
    # The next receive finds the receive count spent and moves the message to the dead-letter queue.
    until(lambda: not sqs.receive_message(QueueUrl=work, VisibilityTimeout=0).get("Messages"), "the move to the DLQ")
    until(
        lambda: sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"] == "1",
        "the DLQ",
    )


def test_a_dead_letter_preview_leaves_the_messages_visible(served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    sqs = aws("sqs")
    work, dlq = _dead_letter_pair(aws, "console-preview")
    body = "é" * 1500  # 3000 bytes of UTF-8: the 2 KiB cut falls between the two bytes of a character
    sent = sqs.send_message(
        QueueUrl=work,
        MessageBody=body,
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    _to_the_dead_letter_queue(aws, work, dlq)

    assert call(served, "/queues/console-preview-dlq/messages", tokens["viewer"]).status_code == 403
    answer = call(served, "/queues/console-preview-dlq/messages?max=10", tokens["operator"])
    assert answer.status_code == 200, answer.text
    (message,) = answer.json()["messages"]
    assert message["messageId"] == sent["MessageId"] and message["md5OfBody"] == sent["MD5OfMessageBody"]
    assert message["bodyTruncated"] is True and message["bodySize"] == 3000
    assert message["body"] == "é" * 1024 and len(message["body"].encode()) == 2048
    assert message["messageAttributes"] == {
        "kind": {"dataType": "String", "stringValue": "order", "binaryValue": None},
        "raw": {"dataType": "Binary", "stringValue": None, "binaryValue": "AAE="},
    }
    assert abs(datetime.fromisoformat(message["sentTimestamp"]) - datetime.now(UTC)).total_seconds() < 120
    assert message["attributes"]["SentTimestamp"].isdigit()
    # Visible still: another consumer receives it at once, and the preview counted as a receive.
    again = call(served, "/queues/console-preview-dlq/messages", tokens["operator"]).json()["messages"]
    assert again[0]["approximateReceiveCount"] == message["approximateReceiveCount"] + 1
    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"] == {
        "ApproximateNumberOfMessages": "1"
    }

    refused = call(served, "/queues/console-preview/messages", tokens["operator"])
    assert refused.status_code == 409 and refused.json()["error"] == "NotADeadLetterQueue"
    missing = call(served, "/queues/no-such-queue/messages", tokens["operator"])
    assert missing.status_code == 404


def test_a_short_body_is_shown_whole(served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    work, dlq = _dead_letter_pair(aws, "console-short")
    aws("sqs").send_message(QueueUrl=work, MessageBody='{"order": 1}')
    _to_the_dead_letter_queue(aws, work, dlq)
    (message,) = call(served, "/queues/console-short-dlq/messages?max=1", tokens["operator"]).json()["messages"]
    assert (message["body"], message["bodyTruncated"], message["bodySize"]) == ('{"order": 1}', False, 12)


def _arn_of(aws: Callable[..., Any], url: str) -> str:
    return str(aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def test_a_rule_targets_dead_letter_queue_is_previewed_too(
    served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any], deployed: Deployed
) -> None:
    sqs, events = aws("sqs"), aws("events")
    target = sqs.create_queue(QueueName="console-rule-target")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="console-rule-dlq")["QueueUrl"]
    # A pattern no event matches: the rule only names the dead-letter queue, it never delivers.
    events.put_rule(Name="console-never", EventPattern=json.dumps({"source": ["console.never"]}))
    events.put_targets(
        Rule="console-never", Targets=[{"Id": "q", "Arn": _arn_of(aws, target), "DeadLetterConfig": {"Arn": _arn_of(aws, dlq)}}]
    )
    undelivered = '{"detail-type": "undelivered"}'
    sqs.send_message(QueueUrl=dlq, MessageBody=undelivered)

    sources = call(served, "/queues/console-rule-dlq/dead-letter-sources", tokens["viewer"])
    assert sources.status_code == 200, sources.text
    assert sources.json() == {"queueName": "console-rule-dlq", "sources": [{"type": "AWS::Events::Rule", "name": "default/console-never"}]}
    answer = call(served, "/queues/console-rule-dlq/messages", tokens["operator"])
    assert answer.status_code == 200, answer.text
    assert [m["body"] for m in answer.json()["messages"]] == [undelivered]

    # The example's TriggerDeadLetterQueue: its rule's target's and its functions', no queue's.
    trigger = _name_of(deployed.outputs["TriggerDeadLetterQueueUrl"])
    senders = call(served, f"/queues/{trigger}/dead-letter-sources", tokens["viewer"]).json()["sources"]
    assert {s["type"] for s in senders} == {"AWS::Events::Rule", "AWS::Lambda::Function"}
    previewed = call(served, f"/queues/{trigger}/messages", tokens["operator"])
    assert previewed.status_code == 200 and previewed.json()["messages"] == [], previewed.text

    # A queue with a redrive policy of its own is refused, even when a rule sends its failures there.
    work, _ = _dead_letter_pair(aws, "console-both")
    events.put_targets(
        Rule="console-never", Targets=[{"Id": "w", "Arn": _arn_of(aws, target), "DeadLetterConfig": {"Arn": _arn_of(aws, work)}}]
    )
    assert call(served, "/queues/console-both/dead-letter-sources", tokens["viewer"]).json()["sources"] != []
    refused = call(served, "/queues/console-both/messages", tokens["operator"])
    assert refused.status_code == 409 and refused.json()["error"] == "NotADeadLetterQueue"
    # And so is a queue nothing sends its failures to.
    assert call(served, "/queues/console-rule-target/dead-letter-sources", tokens["viewer"]).json()["sources"] == []
    refused = call(served, "/queues/console-rule-target/messages", tokens["operator"])
    assert refused.status_code == 409 and refused.json()["error"] == "NotADeadLetterQueue"
    missing = call(served, "/queues/no-such-queue/dead-letter-sources", tokens["viewer"])
    assert missing.status_code == 404


# ---------------------------------------------------------------------------- dashboard


def test_the_dashboard_charts_executions_dead_letter_depths_and_alarms(
    served: Endpoint, stack: Stack, tokens: dict[str, str], aws: Callable[..., Any], deployed: Deployed
) -> None:
    failing = _machine(aws, {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "Console", "Cause": "test"}}})
    _run(aws, failing, "FAILED")
    work, dlq = _dead_letter_pair(aws, "console-depth")
    aws("sqs").send_message(QueueUrl=work, MessageBody="poison")
    _to_the_dead_letter_queue(aws, work, dlq)
    cloudwatch = aws("cloudwatch")
    # Breaching data a minute old: within the last three complete periods for a minute at least, whenever it is evaluated.
    cloudwatch.put_metric_alarm(
        AlarmName="console-alarm", Namespace="Console", MetricName="Errors", Statistic="Sum", Period=60,
        EvaluationPeriods=3, DatapointsToAlarm=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    cloudwatch.put_metric_data(
        Namespace="Console", MetricData=[{"MetricName": "Errors", "Value": 5, "Timestamp": datetime.fromtimestamp(time.time() - 60, UTC)}]
    )
    assert stack.alarms is not None
    stack.alarms.turn()

    answer = call(served, "/dashboard?minutes=5", tokens["viewer"])
    assert answer.status_code == 200, answer.text
    board = answer.json()
    assert board["window"]["minutes"] == 5

    # Every execution this module ran, counted by the AWS/States feed and summed across machines.
    machines = aws("stepfunctions").list_state_machines()["stateMachines"]
    ran = [e for m in machines for e in aws("stepfunctions").list_executions(stateMachineArn=m["stateMachineArn"])["executions"]]
    executions = board["executions"]
    assert sum(v or 0 for v in executions["started"]["values"]) == len(ran)
    assert sum(v or 0 for v in executions["failed"]["values"]) == sum(1 for e in ran if e["status"] == "FAILED") >= 1
    assert sum(v or 0 for v in executions["succeeded"]["values"]) == sum(1 for e in ran if e["status"] == "SUCCEEDED") >= 1
    assert sum(v or 0 for v in executions["timedOut"]["values"]) == 0
    for chart in executions.values():
        assert len(chart["timestamps"]) == len(chart["values"]) == 5
        assert all(v is not None for v in chart["values"][:-1])

    queue = next(q for q in board["deadLetterQueues"] if q["name"] == "console-depth-dlq")
    assert queue["messages"] == 1 and queue["sources"] == [{"type": "AWS::SQS::Queue", "name": "console-depth"}] and queue["url"] == dlq
    # The example's rule sends the events it cannot deliver to a queue of its own, as its functions their failed async invocations.
    trigger = _name_of(deployed.outputs["TriggerDeadLetterQueueUrl"])
    (rule_dlq,) = [q for q in board["deadLetterQueues"] if q["name"] == trigger]
    senders = {
        f["FunctionName"]
        for f in aws("lambda").list_functions()["Functions"]
        if _name_of(f.get("DeadLetterConfig", {}).get("TargetArn", "").replace(":", "/")) == trigger
    }
    assert senders and {s["name"] for s in rule_dlq["sources"] if s["type"] == "AWS::Lambda::Function"} == senders
    assert [s["name"].split("/")[0] for s in rule_dlq["sources"] if s["type"] == "AWS::Events::Rule"] == ["default"]
    assert rule_dlq["messages"] == 0
    assert "console-preview" not in {q["name"] for q in board["deadLetterQueues"]}  # a source, not a target
    truth = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "d",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateNumberOfMessagesVisible",
                        "Dimensions": [{"Name": "QueueName", "Value": "console-depth-dlq"}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=datetime.fromisoformat(board["window"]["start"]),
        EndTime=datetime.fromisoformat(board["window"]["end"]),
    )["MetricDataResults"][0]
    sampled = {t.timestamp(): v for t, v in zip(truth["Timestamps"], truth["Values"], strict=True)}
    for stamp, value in zip(queue["depth"]["timestamps"][:-1], queue["depth"]["values"][:-1], strict=True):
        assert value == sampled.get(datetime.fromisoformat(stamp).timestamp(), 0.0)

    alarms = board["alarms"]
    assert alarms[0]["stateValue"] == "ALARM"
    mine = next(a for a in alarms if a["alarmName"] == "console-alarm")
    assert mine["stateValue"] == "ALARM" and mine["stateReason"].startswith("Threshold Crossed")
    assert board["alarmCounts"]["ALARM"] == sum(1 for a in alarms if a["stateValue"] == "ALARM") >= 1
    assert sum(board["alarmCounts"].values()) == len(alarms)
    assert board["eventLag"] is not None


class _OneAlarm(_Recording):
    """The endpoint's AWS as an account whose only alarm is ``name``: other tests' alarms stay out of the counts."""

    def __init__(self, inner: Aws, name: str) -> None:
        super().__init__(inner)
        self.name = name

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if (service, operation) == ("cloudwatch", "DescribeAlarms"):
            params = {**params, "AlarmNames": [self.name]}
        elif (service, operation) == ("cloudwatch", "DescribeAlarmHistory"):
            params = {**params, "AlarmName": self.name}
        return super().call(service, operation, params)


def _in_minutes(stamps: list[str], begin: datetime, end: datetime) -> list[float]:
    """1 for each minute that ``[begin, end)`` overlaps, else 0."""
    starts = [datetime.fromisoformat(stamp) for stamp in stamps]
    return [1.0 if start < end and begin < start + timedelta(minutes=1) else 0.0 for start in starts]


def test_the_dashboard_charts_alarm_states_per_minute_from_the_alarm_history(
    served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]
) -> None:
    name = f"console-states-{uuid.uuid4().hex[:8]}"
    cloudwatch = aws("cloudwatch")
    # No data and TreatMissingData ignore: the stack's evaluation leaves the states SetAlarmState sets.
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace=f"Console/{name}", MetricName="Errors", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="ignore",
    )  # fmt: skip
    for state in ("OK", "ALARM", "OK"):
        _past_this_millisecond()  # history times are milliseconds: each change gets its own, the span in ALARM a real length
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"console test: {state}")

    recording = _OneAlarm(_served_api(served).state.aws, name)
    answer = _through(served, recording).get("/dashboard?minutes=5", tokens["viewer"])
    assert answer.status_code == 200, answer.text
    board = answer.json()

    history = cloudwatch.describe_alarm_history(AlarmName=name, ScanBy="TimestampAscending")["AlarmHistoryItems"]
    (created,) = [i["Timestamp"] for i in history if i["HistoryItemType"] == "ConfigurationUpdate"]
    changes = [(json.loads(i["HistoryData"]), i["Timestamp"]) for i in history if i["HistoryItemType"] == "StateUpdate"]
    assert [(d["oldState"]["stateValue"], d["newState"]["stateValue"]) for d, _ in changes] == [
        ("INSUFFICIENT_DATA", "OK"),
        ("OK", "ALARM"),
        ("ALARM", "OK"),
    ]
    (_, to_ok), (_, to_alarm), (_, back_to_ok) = changes
    assert to_alarm < back_to_ok  # a real span in ALARM, however short: its minute counts it

    series = board["alarmSeries"]
    stamps = board["executions"]["started"]["timestamps"]
    assert series["alarm"]["timestamps"] == series["insufficientData"]["timestamps"] == stamps
    assert series["alarm"]["values"] == _in_minutes(stamps, to_alarm, back_to_ok)
    assert series["insufficientData"]["values"] == _in_minutes(stamps, created, to_ok)
    assert max(series["alarm"]["values"]) == 1.0
    assert board["alarmCounts"] == {"ALARM": 0, "INSUFFICIENT_DATA": 0, "OK": 1}
    asked = [p for service, operation, p in recording.calls if operation == "DescribeAlarmHistory"]
    assert {p["HistoryItemType"] for p in asked} == {"StateUpdate", "ConfigurationUpdate"}
    assert all(p["StartDate"] == datetime.fromisoformat(board["window"]["start"]) for p in asked)


def _past_this_millisecond() -> None:
    start = time.time_ns() // 1_000_000
    while time.time_ns() // 1_000_000 <= start + 1:
        pass


class _History:
    """DescribeAlarmHistory over a fixed list of items, ``per_page`` items a page (fewer than MaxRecords, as AWS may answer)."""

    def __init__(self, items: list[dict[str, Any]], per_page: int) -> None:
        self.items, self.per_page = items, per_page
        self.calls = 0

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert (service, operation) == ("cloudwatch", "DescribeAlarmHistory")
        self.calls += 1
        chosen = [i for i in self.items if i["HistoryItemType"] == params["HistoryItemType"] and i["Timestamp"] >= params["StartDate"]]
        chosen.sort(key=lambda i: i["Timestamp"], reverse=params["ScanBy"] == "TimestampDescending")
        first = int(params.get("NextToken", 0))
        page: dict[str, Any] = {"AlarmHistoryItems": chosen[first : first + self.per_page]}
        if first + self.per_page < len(chosen):
            page["NextToken"] = str(first + self.per_page)
        return page

    def presign_put(self, bucket: str, key: str, expires_s: int, *, content_type: str | None = None) -> str:
        raise AssertionError("not asked")

    def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        raise AssertionError("not asked")


NOON = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def _state(name: str, minute: float, old: str, new: str) -> dict[str, Any]:
    data = {"version": "1.0", "oldState": {"stateValue": old}, "newState": {"stateValue": new}}
    return {
        "AlarmName": name,
        "Timestamp": NOON + timedelta(minutes=minute),
        "HistoryItemType": "StateUpdate",
        "HistoryData": json.dumps(data),
    }


def _configuration(name: str, minute: float, kind: str) -> dict[str, Any]:
    data = json.dumps({"version": "1.0", "type": kind})
    return {"AlarmName": name, "Timestamp": NOON + timedelta(minutes=minute), "HistoryItemType": "ConfigurationUpdate", "HistoryData": data}


def test_alarm_states_are_walked_back_from_now_through_creations_and_deletions() -> None:
    window = Window.last(10, NOON + timedelta(minutes=9, seconds=30))
    items = [
        # Created at 12:02:10, in ALARM from 12:03:20 to 12:05:00 sharp, OK now.
        _configuration("fresh", 2 + 10 / 60, "Create"),
        _state("fresh", 3 + 20 / 60, "INSUFFICIENT_DATA", "ALARM"),
        _state("fresh", 5, "ALARM", "OK"),
        # In ALARM from 12:01 until deleted at 12:06:30: no longer listed by DescribeAlarms.
        _state("gone", 1, "OK", "ALARM"),
        _configuration("gone", 6.5, "Delete"),
        # Changed nothing but its configuration.
        _configuration("steady", 4, "Update"),
    ]
    alarms = [{"alarmName": "fresh", "stateValue": "OK"}, {"alarmName": "steady", "stateValue": "ALARM"}]
    fake = _History(items, per_page=100)
    series = dashboard._alarm_series(fake, window, alarms)
    assert series["alarm"]["values"] == [1, 2, 2, 3, 3, 2, 2, 1, 1, 1]
    assert series["insufficientData"]["values"] == [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert series["alarm"]["timestamps"] == [NOON + timedelta(minutes=n) for n in range(10)]
    assert fake.calls == 2


def test_a_history_longer_than_the_pages_read_leaves_the_older_minutes_unknown() -> None:
    window = Window.last(10, NOON + timedelta(minutes=9, seconds=30))
    # ALARM at :15 and OK at :45 of every minute: 20 changes, more than the pages read one item a page.
    flapping = [_state("flappy", m + s / 60, old, new) for m in range(10) for s, old, new in ((15, "OK", "ALARM"), (45, "ALARM", "OK"))]
    fake = _History(flapping, per_page=1)
    series = dashboard._alarm_series(fake, window, [{"alarmName": "flappy", "stateValue": "OK"}])
    read = sorted(flapping, key=lambda i: i["Timestamp"], reverse=True)[: dashboard.MAX_HISTORY_PAGES]
    oldest_minute = (read[-1]["Timestamp"] - NOON) // timedelta(minutes=1)
    assert 0 < oldest_minute < 9
    expected = [None if m <= oldest_minute else 1.0 for m in range(10)]
    assert series["alarm"]["values"] == expected
    assert series["insufficientData"]["values"] == [None if m <= oldest_minute else 0.0 for m in range(10)]
    assert fake.calls == dashboard.MAX_HISTORY_PAGES + 1  # the ConfigurationUpdate listing: one empty page


def _latency(aws: Callable[..., Any], window: dict[str, Any]) -> dict[float, float]:
    """AWS/Events IngestionToInvocationStartLatency (no dimensions), Average per minute, as CloudWatch holds it."""
    metric = {"Namespace": "AWS/Events", "MetricName": "IngestionToInvocationStartLatency", "Dimensions": []}
    truth = aws("cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": "lag", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average"}}],
        StartTime=datetime.fromisoformat(window["start"]),
        EndTime=datetime.fromisoformat(window["end"]),
    )["MetricDataResults"][0]
    return {t.timestamp(): float(v) for t, v in zip(truth["Timestamps"], truth["Values"], strict=True)}


def test_the_event_lag_is_cloudwatchs_ingestion_to_invocation_latency(
    served: Endpoint, tokens: dict[str, str], aws: Callable[..., Any], deployed: Deployed
) -> None:
    """The sample's upload reached the example's rule's target: the local bus fed the latency as EventBridge does."""

    def as_cloudwatch_holds_it() -> dict[str, Any] | None:
        board = call(served, "/dashboard?minutes=60", tokens["viewer"]).json()
        lag, sampled = board["eventLag"], _latency(aws, board["window"])
        expected = [sampled.get(datetime.fromisoformat(stamp).timestamp()) for stamp in lag["timestamps"]] if lag else None
        # Read twice, the dashboard then CloudWatch: a data point fed in between is read again.
        return lag if lag is not None and lag["values"] == expected else None

    lag = until(as_cloudwatch_holds_it, "the dashboard's event lag to be CloudWatch's")
    assert len(lag["values"]) == 60 and any(v is not None for v in lag["values"])
    # A minute without an event has no lag: null, never a zero that charts as an instant delivery.
    assert None in lag["values"]

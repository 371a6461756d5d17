"""An example app run as a user runs it: copied out with ``sluiceway new``, then ``sluiceway up --template`` in a subprocess.

The flow is the app harness's (``../shared/apps/check_apps.py``): start the command in its own
session, wait until ``GET /_sluiceway/health`` answers 200, talk to it with boto3 (the stack's
outputs from CloudFormation's DescribeStacks), stop it with SIGINT and kill its process group
when it does not stop in time. Every wait polls against a deadline.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sluiceway.cli.new import copy_example

REGION = "us-east-1"
HEALTH_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
#: `up` as the installed command runs it, from this interpreter (the venv's).
SLUICEWAY = [sys.executable, "-c", "from sluiceway.cli.main import main; main()"]

T = TypeVar("T")


def free_port() -> int:
    # Port 0 is not allowed with --template: outputs that build URLs need the port before the stack starts.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


@dataclass
class RunningApp:
    """An example app running under ``sluiceway up --template``."""

    name: str
    app_dir: Path
    url: str
    stack_name: str
    logs: Path
    outputs: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
        options: dict[str, Any] = {"retries": {"max_attempts": 1}}
        if service == "s3":
            options["s3"] = {"addressing_style": "path"}
        return session.client(service, endpoint_url=self.url, config=Config(**options))

    def until(self, found: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
        """Poll ``found`` until it returns something truthy; fail naming ``what`` and the stack's stderr."""
        deadline = time.monotonic() + timeout
        while True:
            value = found()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.name}: {what} not within {timeout:g}s; stderr:\n{_tail(self.logs / 'stderr.log')}")
            time.sleep(0.1)

    def inbox(self, topic_arn: str) -> str:
        """A queue subscribed to ``topic_arn`` (raw delivery off: SNS's envelope, as an email would carry)."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=f"{self.name}-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        return str(url)

    def log_lines(self, function_name: str) -> list[str]:
        """Every line the function wrote to its log group, ``/aws/lambda/<name>``."""
        pages = self.client("logs").get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function_name}")
        return [event["message"].strip() for page in pages for event in page["events"]]

    def deliver_s3_event(self, function_name: str, record: dict[str, Any]) -> None:
        """Invoke the function with an S3 notification holding ``record``, asynchronously, as S3 does."""
        answer = self.client("lambda").invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps({"Records": [record]}))
        assert answer["StatusCode"] == 202, answer

    def drain(self, queue_url: str, expect: int, what: str, timeout: float = 20.0, settle: float = 1.0) -> list[dict[str, Any]]:
        """Receive (and delete) messages until ``expect`` came, then ``settle`` seconds more to catch extras."""
        sqs = self.client("sqs")
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        settle_until: float | None = None
        while True:
            now = time.monotonic()
            if len(got) >= expect and settle_until is None:
                settle_until = now + settle
            if (settle_until is not None and now >= settle_until) or now >= deadline:
                break
            for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                got.append(message)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        assert len(got) >= expect, f"{self.name}: {what}: {len(got)} message(s) of {expect}: {[m['Body'][:200] for m in got]}"
        return got


def s3_put_record(bucket: str, key: str, *, etag: str, size: int, sequencer: str, version_id: str | None = None) -> dict[str, Any]:
    """The record S3 sends a function for one PutObject (event version 2.1); ``key`` as S3 sends it, URL-encoded."""
    obj: dict[str, Any] = {"key": key, "size": size, "eTag": etag.strip('"'), "sequencer": sequencer}
    if version_id is not None:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "EXAMPLE123456789", "x-amz-id-2": "EXAMPLE/abcdefghijklmnopqrstuvwxyz"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "redelivered",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, logs: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"sluiceway up exited with {proc.returncode} before it was healthy:\n{_tail(logs / 'stderr.log')}")
        try:
            with urllib.request.urlopen(f"{url}/_sluiceway/health", timeout=2) as answer:
                if answer.status == 200:
                    return
                last = f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise AssertionError(f"{url}/_sluiceway/health not 200 within {HEALTH_TIMEOUT_S:g}s (last: {last}):\n{_tail(logs / 'stderr.log')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (Ctrl-C, an orderly stop); the whole process group killed if it is still there after the grace."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_GRACE_S)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only its leftovers (workers) remain in it
    proc.wait(timeout=10)


@contextmanager
def run_example(app: str, root: Path, *, parameters: dict[str, str] | None = None) -> Iterator[RunningApp]:
    """Scaffold example ``app`` into ``root/app`` and run it until the block ends."""
    copy_example(app, root / "app")
    with _run(app, root, f"ex-{app}", parameters) as running:
        yield running


@contextmanager
def run_template(source: Path, root: Path, stack_name: str, *, parameters: dict[str, str] | None = None) -> Iterator[RunningApp]:
    """Copy the app folder ``source`` (its ``template.yaml`` and code) into ``root/app`` and run it until the block ends."""
    shutil.copytree(source, root / "app")
    with _run(stack_name, root, stack_name, parameters) as running:
        yield running


@contextmanager
def _run(app: str, root: Path, stack_name: str, parameters: dict[str, str] | None) -> Iterator[RunningApp]:
    app_dir = root / "app"
    logs = root / "logs"
    logs.mkdir()
    port = free_port()
    command = [*SLUICEWAY, "up", "--template", "template.yaml", "--stack-name", stack_name, "--data-dir", str(root / "data")]
    command += ["--port", str(port)]
    if parameters:
        command += ["--parameter-overrides", " ".join(f"{k}={v}" for k, v in parameters.items())]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and not k.startswith(("SLUICEWAY_", "AWS_"))}
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION})
    url = f"http://127.0.0.1:{port}"
    with open(logs / "stdout.log", "wb") as out, open(logs / "stderr.log", "wb") as err:
        proc = subprocess.Popen(command, cwd=app_dir, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            _wait_healthy(proc, url, logs)
            running = RunningApp(app, app_dir, url, stack_name, logs)
            (stack,) = running.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
            assert stack["StackStatus"] == "CREATE_COMPLETE", stack
            running.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
            yield running
        finally:
            _stop(proc)

"""The AWS CLI (a real peer, in its own virtualenv) drives ``sluiceway up`` through the endpoint.

``aws s3 cp`` of a 20 MB CSV is a multipart upload (the CLI splits above 8 MB); the upload
starts the CSV workflow, and the CLI's read commands then show what the run did: its
execution, the notification in a queue subscribed to the pipeline's topic, the metadata
record, and the functions' log lines.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.data.samples import write_sales_csv

ROOT = Path(__file__).resolve().parents[2]
AWS = ROOT / ".venv-awscli" / "bin" / "aws"

pytestmark = pytest.mark.skipif(
    not AWS.exists() and shutil.which("aws") is None,
    reason="the AWS CLI is not installed (`make test` installs it into .venv-awscli)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cli:
    def __init__(self, url: str, home: Path) -> None:
        self.url = url
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        }

    def __call__(self, *args: str) -> Any:
        command = [str(AWS) if AWS.exists() else "aws", "--endpoint-url", self.url, "--output", "json", *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stderr}"
        if args[0] == "s3":  # the high-level commands print progress lines, not JSON
            return done.stdout
        return json.loads(done.stdout) if done.stdout.strip() else None


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[Cli, Path]]:
    port = _free_port()
    data = tmp_path / "data"
    env = {**os.environ, "SLUICEWAY_WORKERS": "2", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sluiceway.cli.main import main; main()", "up", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    cli = Cli(f"http://127.0.0.1:{port}", tmp_path)
    try:
        _until(lambda: _healthy(port), 60, proc)
        yield cli, data
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _healthy(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sluiceway/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _until(condition: Any, timeout: float, proc: subprocess.Popen[str] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"sluiceway up exited: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_the_aws_cli_uploads_a_20_mb_csv_and_reads_back_what_its_run_did(up: tuple[Cli, Path], tmp_path: Path) -> None:
    aws, _ = up
    queue_url = aws("sqs", "create-queue", "--queue-name", "cli-notifications")["QueueUrl"]
    queue_arn = aws("sqs", "get-queue-attributes", "--queue-url", queue_url, "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
    topics = aws("sns", "list-topics")["Topics"]
    topic_arn = next(t["TopicArn"] for t in topics if t["TopicArn"].endswith(":PipelineNotifications"))
    aws("sns", "subscribe", "--topic-arn", topic_arn, "--protocol", "sqs", "--notification-endpoint", queue_arn)

    csv = tmp_path / "big-sales.csv"
    write_sales_csv(csv, size_mb=20, seed=7)
    assert csv.stat().st_size > 16 * 1024 * 1024  # above the CLI's 8 MB multipart threshold, several parts
    aws("s3", "cp", str(csv), "s3://sluiceway-input/cli/big-sales.csv")
    head = aws("s3api", "head-object", "--bucket", "sluiceway-input", "--key", "cli/big-sales.csv")
    assert head["ContentLength"] == csv.stat().st_size
    assert head["ETag"].strip('"').endswith(f"-{-(-csv.stat().st_size // (8 * 1024 * 1024))}")  # a multipart ETag

    machines = aws("stepfunctions", "list-state-machines")["stateMachines"]
    machine = next(m["stateMachineArn"] for m in machines if m["name"] == "DataProcessingWorkflow")

    def ended() -> Any:
        runs = aws("stepfunctions", "list-executions", "--state-machine-arn", machine)["executions"]
        return [r for r in runs if r["status"] != "RUNNING"]

    run = _until(ended, 300)[0]
    assert run["status"] == "SUCCEEDED", run
    described = aws("stepfunctions", "describe-execution", "--execution-arn", run["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["input"])["detail"]["object"]["key"] == "cli/big-sales.csv"

    def received() -> Any:
        return (aws("sqs", "receive-message", "--queue-url", queue_url, "--wait-time-seconds", "1") or {}).get("Messages")

    message = _until(received, 60)
    envelope = json.loads(message[0]["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic_arn
    assert "big-sales.csv" in envelope["Message"]

    items = aws(
        "dynamodb",
        "query",
        "--table-name",
        "ProcessingMetadata",
        "--key-condition-expression",
        "ExecutionId = :e",
        "--expression-attribute-values",
        json.dumps({":e": {"S": run["executionArn"]}}),
    )["Items"]
    assert len(items) == 1 and items[0]["Status"]["S"] == "SUCCEEDED"
    read, valid, rejected = (int(items[0][name]["N"]) for name in ("RowsRead", "RowsValid", "RowsRejected"))
    assert read == valid + rejected and valid > 250_000

    groups = [g["logGroupName"] for g in aws("logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/")["logGroups"]]
    assert "/aws/lambda/ValidateData" in groups
    events = aws("logs", "filter-log-events", "--log-group-name", "/aws/lambda/ValidateData", "--filter-pattern", "REPORT")["events"]
    assert events and all("Duration" in e["message"] for e in events)

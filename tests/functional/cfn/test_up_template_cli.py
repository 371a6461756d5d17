"""``sluiceway up`` with a template, as a process: health waits for the stack; a restart updates it; `stack describe` shows it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: hello
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Done:
    Type: AWS::SNS::Topic
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: worker.handler
      Runtime: python3.11
      Environment:
        Variables:
          TOPIC: !Ref Done
          GREETING: !Ref Greeting
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
Outputs:
  JobsUrl:
    Value: !Ref Jobs
  TopicArn:
    Value: !Ref Done
  WorkerName:
    Value: !Ref Worker
"""

WORKER = """
import os
import boto3

sns = boto3.client("sns")
print("worker loaded")

def handler(event, context):
    for record in event["Records"]:
        sns.publish(TopicArn=os.environ["TOPIC"], Message=f"{os.environ['GREETING']} {record['body']}")
"""


SLUICEWAY = str(Path(sys.executable).parent / "sluiceway")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health(url: str) -> int:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"{url}/_sluiceway/health", timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


@contextmanager
def up(app: Path, data_dir: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    command = [SLUICEWAY, "up", "--data-dir", str(data_dir), "--port", str(port), *extra]
    env = {**os.environ, "SLUICEWAY_WORKERS": "1"}
    log = data_dir.parent / f"up-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=app, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while health(url) != 200:
            if process.poll() is not None:
                raise AssertionError(f"up exited {process.returncode}: {log.read_text()}")
            assert time.monotonic() < deadline, "no health within 60 s"
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def clients(url: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=url, config=Config(retries={"max_attempts": 1}))


def test_up_runs_the_folders_template_and_a_restart_updates_it(tmp_path: Path) -> None:
    app = tmp_path / "my-app"
    (app / "src").mkdir(parents=True)
    (app / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
    (app / "src" / "worker.py").write_text(textwrap.dedent(WORKER))
    data_dir = tmp_path / "data"
    with up(app, data_dir) as (url, _):  # no --template: ./template.yaml; the stack is named after the folder
        aws = clients(url)
        stack = aws("cloudformation").describe_stacks(StackName="my-app")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        inbox = aws("sqs").create_queue(QueueName="inbox")["QueueUrl"]
        inbox_arn = aws("sqs").get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws("sns").subscribe(TopicArn=outputs["TopicArn"], Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
        aws("sqs").send_message(QueueUrl=outputs["JobsUrl"], MessageBody="world")
        deadline = time.monotonic() + 30
        bodies: list[str] = []
        while not bodies and time.monotonic() < deadline:
            bodies = [m["Body"] for m in aws("sqs").receive_message(QueueUrl=inbox, WaitTimeSeconds=1).get("Messages", [])]
        assert bodies == ["hello world"]
        events = aws("logs").filter_log_events(logGroupName=f"/aws/lambda/{outputs['WorkerName']}")["events"]
        assert any(e["message"].strip() == "worker loaded" for e in events)

    with up(app, data_dir, "--template", "template.yaml", "--stack-name", "my-app", "--parameter-overrides", "Greeting=hi") as (url, _):
        aws = clients(url)
        stack = aws("cloudformation").describe_stacks(StackName="my-app")["Stacks"][0]
        assert stack["StackStatus"] == "UPDATE_COMPLETE"
        assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {"Greeting": "hi"}
        aws("sqs").send_message(QueueUrl=outputs["JobsUrl"], MessageBody="again")
        deadline = time.monotonic() + 30
        bodies = []
        while not bodies and time.monotonic() < deadline:
            bodies = [m["Body"] for m in aws("sqs").receive_message(QueueUrl=inbox, WaitTimeSeconds=1).get("Messages", [])]
        assert bodies == ["hi again"]

    described = subprocess.run(
        [SLUICEWAY, "stack", "describe", "my-app", "--json", "--data-dir", str(data_dir)],
        capture_output=True,
        check=True,
    )
    [document] = json.loads(described.stdout)["Stacks"]
    assert document["StackStatus"] == "UPDATE_COMPLETE"
    assert {r["LogicalResourceId"] for r in document["StackResources"]} >= {"Jobs", "Done", "Worker", "WorkerRole", "WorkerJobs"}


def test_a_template_that_fails_stops_up_with_the_reason(tmp_path: Path) -> None:
    app = tmp_path / "broken"
    app.mkdir()
    (app / "template.yaml").write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Ref Nowhere\n")
    result = subprocess.run(
        [SLUICEWAY, "up", "--data-dir", str(tmp_path / "data"), "--port", str(free_port())],
        cwd=app,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "CREATE_FAILED" in result.stderr.decode() and "Ref to 'Nowhere'" in result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()

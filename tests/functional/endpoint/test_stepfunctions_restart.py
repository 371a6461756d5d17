"""State machines created through the endpoint outlive the stack, and so do their running executions."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, "P": {"Type": "Pass", "Result": "done", "End": True}}}


def _client(url: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client("stepfunctions", endpoint_url=url, config=Config(retries={"max_attempts": 1}))


def test_a_created_machine_and_its_execution_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    first = build_stack(settings, invoker_mode="thread")
    first.start("restart test 1")
    try:
        with_endpoint = Endpoint(first, host="127.0.0.1", port=0)
        with_endpoint.start()
        try:
            sfn = _client(with_endpoint.url)
            arn = sfn.create_state_machine(name="durable", definition=json.dumps(WAIT), roleArn="arn:aws:iam::111111111111:role/r")[
                "stateMachineArn"
            ]
            created = sfn.describe_state_machine(stateMachineArn=arn)["creationDate"]
            execution = sfn.start_execution(stateMachineArn=arn, name="across")["executionArn"]
        finally:
            with_endpoint.close()
    finally:
        first.close(grace_s=0)  # the Wait is still running: it resumes at the next start
    second = build_stack(settings, invoker_mode="thread")
    second.start("restart test 2")
    try:
        with_endpoint = Endpoint(second, host="127.0.0.1", port=0)
        with_endpoint.start()
        try:
            sfn = _client(with_endpoint.url)
            described = sfn.describe_state_machine(stateMachineArn=arn)
            assert described["creationDate"] == created and json.loads(described["definition"]) == WAIT
            deadline = time.monotonic() + 10
            while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.monotonic() < deadline:
                time.sleep(0.05)
            done = sfn.describe_execution(executionArn=execution)
            assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == "done"
        finally:
            with_endpoint.close()
    finally:
        second.close()


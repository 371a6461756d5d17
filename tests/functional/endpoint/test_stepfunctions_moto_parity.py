"""Step Functions behaviours moto's test suite expects of AWS (and AWS's recordings confirm), through boto3."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

ROLE = "arn:aws:iam::111111111111:role/test"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="module")
def sfn(aws: Callable[..., Any]) -> Any:
    return aws("stepfunctions")


def test_a_machine_is_described_with_aws_owned_key_encryption(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="parity-kms", definition=PASS, roleArn=ROLE, publish=True)["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["encryptionConfiguration"] == {"type": "AWS_OWNED_KEY"}
    assert sfn.describe_state_machine(stateMachineArn=f"{arn}:1")["encryptionConfiguration"] == {"type": "AWS_OWNED_KEY"}
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    deadline = time.monotonic() + 20
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    described = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert described["encryptionConfiguration"] == {"type": "AWS_OWNED_KEY"}


def test_only_a_publishing_update_makes_a_version(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="parity-publish", definition=PASS, roleArn=ROLE)["stateMachineArn"]
    published = sfn.update_state_machine(stateMachineArn=arn, tracingConfiguration={"enabled": True}, publish=True)
    assert published["stateMachineVersionArn"] == f"{arn}:1"
    plain = sfn.update_state_machine(stateMachineArn=arn, tracingConfiguration={"enabled": False})
    assert "stateMachineVersionArn" not in plain
    # The version keeps the configuration it was published with.
    assert sfn.describe_state_machine(stateMachineArn=f"{arn}:1")["tracingConfiguration"] == {"enabled": True}
    assert sfn.describe_state_machine(stateMachineArn=arn)["tracingConfiguration"] == {"enabled": False}
    logged = sfn.update_state_machine(
        stateMachineArn=arn, loggingConfiguration={"level": "OFF", "includeExecutionData": True}, publish=True
    )
    assert logged["stateMachineVersionArn"] == f"{arn}:2"

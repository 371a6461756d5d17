"""The function a lambda:invoke task could not find, named as Lambda names it: the reference as given, completed."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.runtime.orchestration.integrations.base import TaskPorts
from sluiceway.runtime.orchestration.integrations.lambda_ import function_arn


@pytest.fixture
def ports() -> Any:
    return TaskPorts(invoker=None, topic=None, region="eu-west-1", account_id="123456789012")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "arn"),
    [
        ("f", "arn:aws:lambda:eu-west-1:123456789012:function:f"),
        ("f:prod", "arn:aws:lambda:eu-west-1:123456789012:function:f:prod"),
        ("function:f", "arn:aws:lambda:eu-west-1:123456789012:function:f"),
        ("999999999999:function:f:7", "arn:aws:lambda:eu-west-1:999999999999:function:f:7"),
        ("arn:aws:lambda:us-east-2:999999999999:function:f:prod", "arn:aws:lambda:us-east-2:999999999999:function:f:prod"),
        ("arn:aws-cn:lambda:cn-north-1:999999999999:function:f", "arn:aws-cn:lambda:cn-north-1:999999999999:function:f"),
    ],
)
def test_a_reference_is_named_as_given_and_completed(ports: Any, given: str, arn: str) -> None:
    assert function_arn(ports, given) == arn

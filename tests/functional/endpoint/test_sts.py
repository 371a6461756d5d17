"""STS through boto3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_get_caller_identity_names_the_stacks_account(aws: Callable[..., Any]) -> None:
    identity = aws("sts").get_caller_identity()
    assert identity["Account"] == "111111111111"
    assert identity["Arn"] == "arn:aws:iam::111111111111:root"
    assert identity["UserId"] == "111111111111"

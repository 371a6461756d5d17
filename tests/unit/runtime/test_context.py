"""The Lambda context object: the Python runtime's attributes, a countdown on a clock."""

from __future__ import annotations

import pytest

from sluiceway.runtime.lambdas.context import (
    CognitoIdentity,
    LambdaContext,
    function_arn,
    log_group_name,
    log_stream_name,
)


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(clock: FakeClock, *, timeout_s: float = 3.0) -> LambdaContext:
    return LambdaContext(
        aws_request_id="req-1",
        function_name="ValidateData",
        invoked_function_arn=function_arn("us-east-1", "111111111111", "ValidateData"),
        memory_limit_in_mb="512",
        log_group_name=log_group_name("ValidateData"),
        log_stream_name=log_stream_name("2024/05/01", "0" * 32),
        deadline=clock.now + timeout_s,
        clock=clock,
    )


def test_remaining_time_counts_down_to_zero_and_stays_there() -> None:
    clock = FakeClock()
    context = make(clock, timeout_s=3.0)

    assert context.get_remaining_time_in_millis() == 3000
    clock.now += 1.2505
    assert context.get_remaining_time_in_millis() == 1749
    clock.now += 1.7495
    assert context.get_remaining_time_in_millis() == 0
    clock.now += 10
    assert context.get_remaining_time_in_millis() == 0


def test_attributes_have_the_lambda_runtimes_values_and_types() -> None:
    context = make(FakeClock())

    assert context.aws_request_id == "req-1"
    assert context.function_version == "$LATEST"
    assert (
        context.invoked_function_arn
        == "arn:aws:lambda:us-east-1:111111111111:function:ValidateData"
    )
    assert (
        context.memory_limit_in_mb == "512"
    )  # a string, as the real runtime reads it from the env
    assert context.log_group_name == "/aws/lambda/ValidateData"
    assert context.log_stream_name == "2024/05/01/[$LATEST]" + "0" * 32
    assert context.client_context is None
    assert context.identity == CognitoIdentity(None, None)  # an object with empty fields, not None
    assert context.identity.cognito_identity_id is None
    assert context.tenant_id is None


def test_a_context_is_immutable() -> None:
    context = make(FakeClock())

    with pytest.raises(AttributeError):
        context.aws_request_id = "other"  # type: ignore[misc]


def test_log_writes_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    make(FakeClock()).log("rows: 42\n")

    assert capsys.readouterr().out == "rows: 42\n"


def test_a_qualified_arn_ends_with_the_qualifier() -> None:
    assert function_arn("eu-west-1", "123456789012", "Aggregate", "live") == (
        "arn:aws:lambda:eu-west-1:123456789012:function:Aggregate:live"
    )

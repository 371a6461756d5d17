"""The version an invocation runs reaches its handler: ``context.function_version`` and ``AWS_LAMBDA_FUNCTION_VERSION``."""

from __future__ import annotations

from sluiceway.ports.functions import Call
from sluiceway.runtime.lambdas.context import FUNCTION_VERSION_ENV, context_for, function_arn
from sluiceway.runtime.lambdas.worker import function_variables

ARN = function_arn("us-east-1", "111111111111", "ValidateData", "live")


def test_the_context_and_the_variable_tell_the_version_the_call_runs() -> None:
    call = Call("req-1", "ValidateData", "index.handler", ARN, 128, 3.0, b"{}", environment={FUNCTION_VERSION_ENV: "2"})
    assert context_for(call, "stream", 0.0).function_version == "2"
    assert function_variables(call, "stream")["AWS_LAMBDA_FUNCTION_VERSION"] == "2"


def test_a_call_without_a_version_runs_latest() -> None:
    call = Call("req-2", "ValidateData", "index.handler", ARN, 128, 3.0, b"{}")
    assert context_for(call, "stream", 0.0).function_version == "$LATEST"
    assert function_variables(call, "stream")["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"

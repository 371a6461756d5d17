"""The ``context`` object a Lambda-style handler receives.

It mirrors the Python Lambda runtime's ``LambdaContext`` attribute for attribute,
including its quirks, so that a handler which works locally works on AWS:
``memory_limit_in_mb`` and ``function_version`` are strings (the real runtime
reads them from environment variables), ``identity`` is an object whose fields
are None rather than None itself, and ``client_context`` is None for a
synchronous invoke without one.

A context is built where the handler runs (inside the worker process, or the
worker thread in thread mode), because its deadline is a monotonic time that
only means something in the process that measures it.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ...ports.functions import Call

__all__ = [
    "FUNCTION_VERSION_ENV",
    "CognitoIdentity",
    "LambdaContext",
    "context_for",
    "function_arn",
    "log_group_name",
    "log_stream_name",
    "new_log_stream",
]


FUNCTION_VERSION_ENV = "AWS_LAMBDA_FUNCTION_VERSION"
"""The variable that tells a handler the version it runs; a call carries it among its variables
(the invoker sets it per invocation: an alias's invocations may run either of its versions)."""


@dataclass(frozen=True)
class CognitoIdentity:
    """The caller's Amazon Cognito identity; both fields are None outside mobile SDK calls."""

    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


@dataclass(frozen=True)
class LambdaContext:
    """What Lambda tells a handler about the invocation and the function.

    Attributes mirror the Python runtime's ``LambdaContext``; the deadline is
    kept as a monotonic time so that wall-clock jumps cannot shorten or lengthen
    the time left.
    """

    aws_request_id: str
    """The invocation's request id."""
    function_name: str
    invoked_function_arn: str
    """The ARN used to invoke the function (it carries the qualifier if the caller gave one)."""
    memory_limit_in_mb: str
    """The function's memory setting, as a string of digits (the Lambda runtime's type)."""
    log_group_name: str
    log_stream_name: str
    deadline: float
    """The monotonic time (``clock()`` units, seconds) at which the invocation times out."""
    function_version: str = "$LATEST"
    identity: CognitoIdentity = field(default_factory=CognitoIdentity)
    client_context: None = None
    tenant_id: str | None = None
    """The invocation's tenant (Invoke's ``TenantId``) for a function with tenant isolation; None otherwise,
    as the Python runtime leaves it."""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    """Where the time comes from; tests pass a fake clock."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out; never negative."""
        remaining = int((self.deadline - self.clock()) * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg: str) -> None:
        """Write ``msg`` to the function's log stream (standard output), as the runtime does."""
        sys.stdout.write(str(msg))


def function_arn(region: str, account_id: str, name: str, qualifier: str | None = None) -> str:
    """The ARN of function ``name``, qualified when ``qualifier`` is given.

    Example:
        >>> function_arn("us-east-1", "111111111111", "ValidateData")
        'arn:aws:lambda:us-east-1:111111111111:function:ValidateData'
    """
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def log_group_name(function_name: str) -> str:
    """The CloudWatch log group Lambda writes a function's logs to."""
    return f"/aws/lambda/{function_name}"


def log_stream_name(day: str, instance_id: str, version: str = "$LATEST") -> str:
    """A log stream name in Lambda's shape: ``2024/05/01/[$LATEST]<instance id>``.

    Args:
        day: the date the execution environment started, formatted ``YYYY/MM/DD``.
        instance_id: identifies the execution environment (one per worker).
        version: the function version.
    """
    return f"{day}/[{version}]{instance_id}"


def new_log_stream() -> str:
    """A log stream name for a new execution environment (a worker process, or a thread pool)."""
    return log_stream_name(time.strftime("%Y/%m/%d", time.gmtime()), uuid.uuid4().hex)


def context_for(call: Call, stream: str, started: float) -> LambdaContext:
    """The context of ``call``, run in log stream ``stream`` from monotonic time ``started``."""
    return LambdaContext(
        aws_request_id=call.request_id,
        function_name=call.function_name,
        invoked_function_arn=call.invoked_arn,
        memory_limit_in_mb=str(call.memory_mb),
        log_group_name=log_group_name(call.function_name),
        log_stream_name=stream,
        deadline=started + call.timeout_s,
        function_version=call.environment.get(FUNCTION_VERSION_ENV) or "$LATEST",
        tenant_id=call.tenant_id,
    )

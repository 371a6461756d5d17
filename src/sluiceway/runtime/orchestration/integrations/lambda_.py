"""Lambda: a Task whose resource is a function's ARN (the result is the function's), and ``lambda:invoke``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ....asl.commands import InvokeTask
from ....ports import Invocation
from ....types import JSON
from ...lambdas.invoker import INVOKE_API_ERRORS
from .base import Integration, TaskError, TaskPorts, lambda_function_name

__all__ = ["INTEGRATIONS", "function_arn", "invoke"]


def function_arn(ports: TaskPorts, given: str) -> str:
    """The ARN Lambda names for a function reference as given: a full ARN as it is, a partial ARN
    (``123456789012:function:f``, ``function:f``) or a name (``f``, ``f:prod``) completed with the
    Region and account, its qualifier kept."""
    if given.startswith("arn:"):
        return given
    parts = given.split(":")
    if len(parts) >= 3 and parts[1] == "function":  # ACCOUNT:function:NAME[:QUALIFIER]
        return f"arn:aws:lambda:{ports.region}:{given}"
    if parts[0] == "function":
        return f"arn:aws:lambda:{ports.region}:{ports.account_id}:{given}"
    return f"arn:aws:lambda:{ports.region}:{ports.account_id}:function:{given}"


def invoke(ports: TaskPorts, command: InvokeTask, given: str, payload: JSON, *, wrap: bool) -> JSON:
    """Run the function ``given`` (a name or an ARN) and return its result (wrapped as ``lambda:invoke``
    returns it when ``wrap``).

    Raises:
        TaskError: the function failed, with Lambda's errorType as the error and its error JSON as the cause.
    """
    name = lambda_function_name(given)
    if not ports.invoker.knows(name):
        # AWS names the function the Invoke call asked for (not the task's resource, which for
        # lambda:invoke is the integration's ARN), in the Java SDK's error text Step Functions relays.
        arn = function_arn(ports, given)
        raise TaskError(
            "Lambda.ResourceNotFoundException",
            f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; "
            f"Error Code: ResourceNotFoundException; Request ID: {uuid.uuid4()}; Proxy: null)",
        )
    timeout = min(command.timeout_s or ports.default_timeout_s, ports.default_timeout_s)
    request_id = str(uuid.uuid4())
    result = ports.invoker.invoke(Invocation(name, payload, request_id, timeout_s=timeout))
    if not result.ok:
        cause = {
            "errorMessage": result.error_message,
            "errorType": result.error_type,
            "requestId": request_id,
            "stackTrace": list(result.stack_trace),
        }
        # Errors of the Invoke API itself (a throttle, a runtime that cannot start) reach Step Functions
        # as Lambda.<code>, which is what retriers match (Lambda.TooManyRequestsException).
        # Decided on the refusal itself: a handler's own ResourceNotFoundException is its own error.
        error = f"Lambda.{result.error_type}" if result.refused and result.error_type in INVOKE_API_ERRORS else str(result.error_type)
        raise TaskError(error, json.dumps(cause))
    if not wrap:
        return result.payload
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": result.payload,
        "SdkHttpMetadata": {"HttpStatusCode": 200},
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def _lambda_invoke(ports: TaskPorts, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
    name = params.get("FunctionName")
    if not isinstance(name, str):
        raise TaskError("States.Runtime", "lambda:invoke needs a FunctionName parameter")
    return invoke(ports, command, name, params.get("Payload"), wrap=True)


INTEGRATIONS = (Integration("lambda:invoke", _lambda_invoke, ("lambda:InvokeFunction",)),)

"""AWS Lambda (rest-json): invoke and describe the stack's registered functions.

Functions are those of the running application (``stack.invoker``); they are named as
Lambda names them: ``ValidateData``, ``111111111111:function:ValidateData`` or the
full ARN, with an optional ``$LATEST`` qualifier (the local stack keeps one version).

``Event`` invocations run on a thread of their own and are retried twice on a function
error, one and two minutes later, as Lambda's asynchronous invocation does; the queue
is in memory, so an event invocation still waiting at a stop is lost (Lambda's is durable).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import platform
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from ...ports import Invocation, InvocationResult
from ...runtime.lambdas.context import log_group_name
from ...runtime.lambdas.invoker import MAX_REQUEST_BYTES, FunctionSpec, LocalFunctionInvoker
from ..context import Context, Operations
from ..errors import AwsError

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("lambda")

MAX_EVENT_BYTES = 262_144
"""The payload limit of an asynchronous (``Event``) invocation."""
ASYNC_RETRY_DELAYS_S = (60.0, 120.0)
"""Lambda retries a failed asynchronous invocation twice: after about one, then two minutes."""
_TYPES = ("Event", "RequestResponse", "DryRun")
_FUNCTION_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)


def _function(ctx: Context, reference: str, qualifier: str | None = None) -> FunctionSpec:
    """The registered function a FunctionName (and Qualifier) names, or Lambda's error."""
    invoker = ctx.stack.invoker
    arn = invoker.arn_of(reference)
    if arn is None:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{reference}' at 'functionName' failed to satisfy constraint:"
            f" Member must satisfy regular expression pattern: {_FUNCTION_PATTERN}",
        )
    name = invoker.resolve(reference)
    in_reference = arn.split(":")[7] if arn.count(":") >= 7 else None
    if qualifier is not None and in_reference is not None and qualifier != in_reference:
        raise AwsError(
            "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."
        )
    wanted = qualifier or in_reference
    if name is None or wanted not in (None, "$LATEST"):
        # The local stack has $LATEST only: a version or alias names nothing.
        base = arn if in_reference is None else arn.rsplit(":", 1)[0]
        shown = f"{base}:{wanted}" if wanted else base
        raise AwsError("ResourceNotFoundException", f"Function not found: {shown}", 404, fields={"Type": "User"})
    return invoker.functions[name]


@OPERATIONS("Invoke")
def invoke(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    kind = params.get("InvocationType") or "RequestResponse"
    if kind not in _TYPES:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy constraint:"
            " Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
        )
    spec = _function(ctx, params["FunctionName"], params.get("Qualifier"))
    if kind == "DryRun":
        return {"StatusCode": 204, "Payload": b""}
    body: bytes = params.get("Payload") or b""
    limit = MAX_EVENT_BYTES if kind == "Event" else MAX_REQUEST_BYTES
    if len(body) > limit:
        raise AwsError(
            "RequestEntityTooLargeException",
            f"{len(body)} byte payload is too large for the {kind} invocation type (limit {limit} bytes)",
            413,
            fields={"Type": "User"},
        )
    try:
        event = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise AwsError(
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {exc}",
            400,
            fields={"Type": "User"},
        ) from None
    invocation = Invocation(spec.name, event, ctx.request_id, timeout_s=spec.timeout_s, memory_mb=spec.memory_mb)
    invoker = ctx.stack.invoker
    if kind == "Event":
        threading.Thread(target=_invoke_async, args=(invoker, invocation, 0), name="sluiceway-lambda-event", daemon=True).start()
        return {"StatusCode": 202, "Payload": b""}
    if params.get("LogType") == "Tail":
        result, log_tail = invoker.invoke_with_log(invocation)
    else:
        result, log_tail = invoker.invoke(invocation), None
    out: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    if log_tail is not None:
        out["LogResult"] = base64.b64encode(log_tail.encode()).decode()
    if result.ok:
        out["Payload"] = json.dumps(result.payload).encode()
        return out
    out["FunctionError"] = "Unhandled"
    out["Payload"] = json.dumps(_error_payload(result)).encode()
    return out


def _error_payload(result: InvocationResult) -> dict[str, Any]:
    """Lambda's error document for a failed invocation (what the Python runtime reports)."""
    error: dict[str, Any] = {"errorMessage": result.error_message or "", "errorType": result.error_type}
    if result.error_type is not None and not result.error_type.startswith(("Sandbox.", "Runtime.ExitError")):
        error["requestId"] = result.request_id
        error["stackTrace"] = list(result.stack_trace)
    return error


def _invoke_async(invoker: LocalFunctionInvoker, invocation: Invocation, attempt: int) -> None:
    try:
        result = invoker.invoke(invocation)
    except RuntimeError:  # the stack stopped meanwhile
        return
    if result.ok:
        return
    if attempt < len(ASYNC_RETRY_DELAYS_S):
        logger.warning(
            "asynchronous invocation failed; retrying",
            extra={"function": invocation.function_name, "request_id": invocation.request_id, "error": result.error_type},
        )
        timer = threading.Timer(ASYNC_RETRY_DELAYS_S[attempt], _invoke_async, args=(invoker, invocation, attempt + 1))
        timer.daemon = True
        timer.start()
        return
    logger.warning(
        "asynchronous invocation failed after its retries",
        extra={"function": invocation.function_name, "request_id": invocation.request_id, "error": result.error_type},
    )


# -- describing functions ---------------------------------------------------------------


def _configuration(ctx: Context, spec: FunctionSpec) -> dict[str, Any]:
    loaded: datetime = ctx.shared.get("lambda.loaded", lambda: datetime.now(UTC))
    digest = base64.b64encode(hashlib.sha256(spec.handler.encode()).digest()).decode()
    return {
        "FunctionName": spec.name,
        "FunctionArn": ctx.stack.settings.arn("lambda", f"function:{spec.name}"),
        "Runtime": f"python{sys.version_info.major}.{sys.version_info.minor}",
        "Role": f"arn:aws:iam::{ctx.stack.settings.account_id}:role/sluiceway",
        "Handler": spec.handler,
        "CodeSize": 0,
        "Description": "",
        "Timeout": max(1, round(spec.timeout_s)),
        "MemorySize": spec.memory_mb,
        # Lambda's LastModified is a string in this exact format, not a timestamp.
        "LastModified": loaded.strftime("%Y-%m-%dT%H:%M:%S.") + f"{loaded.microsecond // 1000:03d}+0000",
        "CodeSha256": digest,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": hashlib.sha256(f"{spec}".encode()).hexdigest()[:32],
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": log_group_name(spec.name)},
    }


@OPERATIONS("GetFunction")
def get_function(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = _function(ctx, params["FunctionName"], params.get("Qualifier"))
    # The code is the application's Python package, not an uploaded bundle: there is nothing to download.
    return {"Configuration": _configuration(ctx, spec), "Code": {"RepositoryType": "S3"}, "Tags": {}}


@OPERATIONS("GetFunctionConfiguration")
def get_function_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _configuration(ctx, _function(ctx, params["FunctionName"], params.get("Qualifier")))


@OPERATIONS("ListFunctions")
def list_functions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("MaxItems") or 50
    if not 1 <= limit <= 10_000:
        raise AwsError("InvalidParameterValueException", "MaxItems must be between 1 and 10000", fields={"Type": "User"})
    marker = params.get("Marker")
    after = ""
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise AwsError("InvalidParameterValueException", "Invalid Marker", fields={"Type": "User"}) from None
    specs = [s for name, s in sorted(ctx.stack.invoker.functions.items()) if name > after]
    page = specs[:limit]
    out: dict[str, Any] = {"Functions": [_configuration(ctx, s) for s in page]}
    if len(specs) > limit:
        out["NextMarker"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
    return out

"""AWS Lambda (rest-json): invoke and describe the stack's registered functions.

Functions are those of the running application (``stack.invoker``); they are named as
Lambda names them: ``ValidateData``, ``111111111111:function:ValidateData`` or the
full ARN, with an optional ``$LATEST`` qualifier (the local stack keeps one version).

``Event`` invocations go to Lambda's asynchronous queue, durable in the data dir
(``backends/local/async_invocations.py``): the 202 is sent only once the invocation is
committed, and the stack's deliverer (``runtime/lambdas/async_invocations.py``) runs it
with Lambda's retries, age limit and destinations, which the ``*FunctionEventInvokeConfig``
operations set. A stop or a crash after the 202 loses nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import platform
import sys
from datetime import UTC, datetime
from typing import Any

from ...backends.local.async_invocations import EventInvokeConfig
from ...ports import Invocation
from ...runtime.lambdas.context import log_group_name
from ...runtime.lambdas.destinations import destination_kind, error_document
from ...runtime.lambdas.invoker import MAX_REQUEST_BYTES, FunctionSpec, invoke_api_error
from ..context import Context, Operations
from ..errors import AwsError

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("lambda")

MAX_EVENT_BYTES = 262_144
"""The payload limit of an asynchronous (``Event``) invocation."""
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
    if name is None or (wanted not in (None, "$LATEST") and wanted not in invoker.qualifiers(name)):
        # Locally a function has $LATEST and the versions and aliases its template published (all
        # running the current code); any other qualifier names nothing.
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
    if kind == "Event":
        # Committed before the 202 (enqueue returns after its commit): what was accepted is never lost.
        ctx.stack.local.async_invocations.enqueue(spec.name, event, request_id=ctx.request_id)
        return {"StatusCode": 202, "Payload": b""}
    # As the caller named it (an alias or version too): the handler's context.invoked_function_arn says so.
    qualifier = params.get("Qualifier")
    reference = params["FunctionName"] if qualifier is None else f"{spec.name}:{qualifier}"
    invocation = Invocation(reference, event, ctx.request_id, timeout_s=spec.timeout_s, memory_mb=spec.memory_mb)
    invoker = ctx.stack.invoker
    if params.get("LogType") == "Tail":
        result, log_tail = invoker.invoke_with_log(invocation)
    else:
        result, log_tail = invoker.invoke(invocation), None
    refused = invoke_api_error(result)
    if refused is not None:  # a throttle or a runtime that cannot start is the API's error, not the function's
        code, message, status, fields = refused
        raise AwsError(code, message, status, fields=fields)
    out: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    if log_tail is not None:
        out["LogResult"] = base64.b64encode(log_tail.encode()).decode()
    if result.ok:
        out["Payload"] = json.dumps(result.payload).encode()
        return out
    out["FunctionError"] = "Unhandled"
    out["Payload"] = json.dumps(error_document(result)).encode()
    return out


# -- describing functions ---------------------------------------------------------------


def _configuration(ctx: Context, spec: FunctionSpec) -> dict[str, Any]:
    loaded: datetime = ctx.shared.get("lambda.loaded", lambda: datetime.now(UTC))
    digest = base64.b64encode(hashlib.sha256(spec.handler.encode()).digest()).decode()
    return {
        "FunctionName": spec.name,
        "FunctionArn": ctx.stack.settings.arn("lambda", f"function:{spec.name}"),
        "Runtime": spec.runtime or f"python{sys.version_info.major}.{sys.version_info.minor}",
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
        # Lambda reports DeadLetterConfig only when the function has one.
        **({"DeadLetterConfig": {"TargetArn": dlq}} if (dlq := ctx.stack.local.async_invocations.configs.dead_letter(spec.name)) else {}),
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


# -- asynchronous invocation settings (EventInvokeConfig) ----------------------------------

_RANGES = {"MaximumRetryAttempts": (0, 2), "MaximumEventAgeInSeconds": (60, 21_600)}


def _invoke_config_input(ctx: Context, params: dict[str, Any], spec: FunctionSpec) -> None:
    """Lambda's checks of Put/UpdateFunctionEventInvokeConfig's settings (before anything is stored)."""
    if all(params.get(k) is None for k in (*_RANGES, "DestinationConfig")):
        raise AwsError(
            "InvalidParameterValueException",
            "You must specify at least one of error handling or destination setting.",
            fields={"Type": "User"},
        )
    problems = []
    for member, (low, high) in _RANGES.items():
        value = params.get(member)
        if value is None:
            continue
        # botocore checks the minimum before sending, not the maximum: a program can send either.
        if value < low:
            constraint = f"greater than or equal to {low}"
        elif value > high:
            constraint = f"less than or equal to {high}"
        else:
            continue
        problems.append(
            f"Value '{value}' at '{member[0].lower()}{member[1:]}' failed to satisfy constraint: Member must have value {constraint}"
        )
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected: "
        raise AwsError("ValidationException", count + "; ".join(problems))
    destinations = params.get("DestinationConfig") or {}
    on_success = (destinations.get("OnSuccess") or {}).get("Destination")
    on_failure = (destinations.get("OnFailure") or {}).get("Destination")
    if (on_success and destination_kind(on_success) is None) or (on_failure and destination_kind(on_failure) is None):
        shown_success = f"OnSuccess(destination={on_success})" if on_success else "null"
        shown_failure = f"OnFailure(destination={on_failure})" if on_failure else "null"
        raise AwsError(
            "InvalidParameterValueException",
            f"The provided destination config DestinationConfig(onSuccess={shown_success}, onFailure={shown_failure}) is invalid.",
            fields={"Type": "User"},
        )
    for arn in (on_success, on_failure):
        if arn and destination_kind(arn) == "function":
            target = ctx.stack.invoker.resolve(arn)
            if target is None:
                raise AwsError("InvalidParameterValueException", f"The destination ARN {arn} is invalid.", fields={"Type": "User"})
            if target == spec.name:
                raise AwsError(
                    "InvalidParameterValueException", "You can't specify the function as a destination for itself.", fields={"Type": "User"}
                )


def _config_function(ctx: Context, params: dict[str, Any]) -> FunctionSpec:
    """Put, Update and List name a function that must exist (and their message for one that does not is this one)."""
    try:
        return _function(ctx, params["FunctionName"], params.get("Qualifier"))
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        raise AwsError("ResourceNotFoundException", "The function doesn't exist.", 404, fields={"Type": "User"}) from None


def _no_invoke_config(ctx: Context, params: dict[str, Any], *, qualifier: str | None) -> AwsError:
    reference = params["FunctionName"]
    arn = ctx.stack.invoker.arn_of(reference) or reference
    if arn.count(":") < 7 and qualifier:
        arn = f"{arn}:{qualifier}"
    return AwsError("ResourceNotFoundException", f"The function {arn} doesn't have an EventInvokeConfig", 404, fields={"Type": "User"})


def _invoke_config_output(ctx: Context, config: EventInvokeConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "LastModified": config.last_modified,
        "FunctionArn": ctx.stack.settings.arn("lambda", f"function:{config.function}:{config.qualifier}"),
    }
    if config.maximum_retry_attempts is not None:
        out["MaximumRetryAttempts"] = config.maximum_retry_attempts
    if config.maximum_event_age_s is not None:
        out["MaximumEventAgeInSeconds"] = config.maximum_event_age_s
    # Lambda answers both halves, empty when not set.
    out["DestinationConfig"] = {
        "OnSuccess": {"Destination": config.on_success} if config.on_success else {},
        "OnFailure": {"Destination": config.on_failure} if config.on_failure else {},
    }
    return out


def _destination(params: dict[str, Any], which: str) -> str | None:
    value = ((params.get("DestinationConfig") or {}).get(which) or {}).get("Destination")
    return str(value) if value else None


@OPERATIONS("PutFunctionEventInvokeConfig")
def put_function_event_invoke_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = _config_function(ctx, params)
    _invoke_config_input(ctx, params, spec)
    # Put replaces the whole configuration: a setting left out is removed.
    config = EventInvokeConfig(
        spec.name,
        "$LATEST",
        ctx.stack.local.clock.now(),
        maximum_retry_attempts=params.get("MaximumRetryAttempts"),
        maximum_event_age_s=params.get("MaximumEventAgeInSeconds"),
        on_success=_destination(params, "OnSuccess"),
        on_failure=_destination(params, "OnFailure"),
    )
    ctx.stack.local.async_invocations.configs.put(config)
    return _invoke_config_output(ctx, config)


@OPERATIONS("UpdateFunctionEventInvokeConfig")
def update_function_event_invoke_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = _config_function(ctx, params)
    _invoke_config_input(ctx, params, spec)
    configs = ctx.stack.local.async_invocations.configs
    current = configs.get(spec.name)
    if current is None:
        raise _no_invoke_config(ctx, params, qualifier="$LATEST")
    changes: dict[str, Any] = {"last_modified": ctx.stack.local.clock.now()}
    if params.get("MaximumRetryAttempts") is not None:
        changes["maximum_retry_attempts"] = params["MaximumRetryAttempts"]
    if params.get("MaximumEventAgeInSeconds") is not None:
        changes["maximum_event_age_s"] = params["MaximumEventAgeInSeconds"]
    if params.get("DestinationConfig") is not None:
        # A DestinationConfig given replaces the destinations, both halves.
        changes["on_success"] = _destination(params, "OnSuccess")
        changes["on_failure"] = _destination(params, "OnFailure")
    config = dataclasses.replace(current, **changes)
    configs.put(config)
    return _invoke_config_output(ctx, config)


@OPERATIONS("GetFunctionEventInvokeConfig")
def get_function_event_invoke_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    config = _stored_invoke_config(ctx, params)
    return _invoke_config_output(ctx, config)


@OPERATIONS("DeleteFunctionEventInvokeConfig")
def delete_function_event_invoke_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    config = _stored_invoke_config(ctx, params, shown_qualifier=params.get("Qualifier"))
    ctx.stack.local.async_invocations.configs.delete(config.function, config.qualifier)
    return {}


def _stored_invoke_config(ctx: Context, params: dict[str, Any], *, shown_qualifier: str | None = "$LATEST") -> EventInvokeConfig:
    # Get and Delete tell a missing function and a missing configuration apart by nothing:
    # both are "doesn't have an EventInvokeConfig".
    try:
        spec = _function(ctx, params["FunctionName"], params.get("Qualifier"))
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        raise _no_invoke_config(ctx, params, qualifier=shown_qualifier) from None
    config = ctx.stack.local.async_invocations.configs.get(spec.name)
    if config is None:
        raise _no_invoke_config(ctx, params, qualifier=shown_qualifier)
    return config


@OPERATIONS("ListFunctionEventInvokeConfigs")
def list_function_event_invoke_configs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = _config_function(ctx, params)
    limit = params.get("MaxItems") or 50
    if not 1 <= limit <= 50:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{limit}' at 'maxItems' failed to satisfy constraint:"
            f" Member must have value {'less than or equal to 50' if limit > 50 else 'greater than or equal to 1'}",
        )
    after = _after_marker(params.get("Marker"))
    configs = [c for c in ctx.stack.local.async_invocations.configs.list(spec.name) if c.qualifier > after]
    page = configs[:limit]
    out: dict[str, Any] = {"FunctionEventInvokeConfigs": [_invoke_config_output(ctx, c) for c in page]}
    if len(configs) > limit:
        out["NextMarker"] = base64.urlsafe_b64encode(page[-1].qualifier.encode()).decode()
    return out


def _after_marker(marker: str | None) -> str:
    if not marker:
        return ""
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise AwsError("InvalidParameterValueException", "Invalid Marker", fields={"Type": "User"}) from None

"""AWS Lambda (rest-json): invoke and describe the stack's registered functions.

Functions are those of the running application (``stack.invoker``) and those clients made
with CreateFunction (``_lambda_code.py``, kept in the data dir); they are named as
Lambda names them: ``ValidateData``, ``111111111111:function:ValidateData`` or the
full ARN, with an optional qualifier: ``$LATEST``, a published version or an alias (each runs
the function's current code: locally a version is no snapshot).

``Event`` invocations go to Lambda's asynchronous queue, durable in the data dir
(``backends/local/async_invocations.py``): the 202 is sent only once the invocation is
committed, and the stack's deliverer (``runtime/lambdas/async_invocations.py``) runs it
with Lambda's retries, age limit and destinations, which the ``*FunctionEventInvokeConfig``
operations set. A stop or a crash after the 202 loses nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any

from ...backends.local.async_invocations import EventInvokeConfig
from ...ports import Invocation
from ...runtime.lambdas.destinations import destination_kind, error_document
from ...runtime.lambdas.invoker import INVOKE_API_ERRORS, MAX_REQUEST_BYTES, FunctionSpec, invoke_api_error
from ...runtime.lambdas.tenancy import tenant_refusal
from ..context import Context, Operations
from ..errors import AwsError
from . import _lambda_code, _lambda_mappings, _lambda_settings, _lambda_urls
from ._lambda_catalog import catalog, stored
from ._lambda_describe import configuration, must_function, qualifier_of
from ._lambda_template_versions import executed_version

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("lambda")
OPERATIONS.handlers.update(_lambda_code.OPERATIONS.handlers)
OPERATIONS.handlers.update(_lambda_settings.OPERATIONS.handlers)
OPERATIONS.handlers.update(_lambda_mappings.OPERATIONS.handlers)
OPERATIONS.handlers.update(_lambda_urls.OPERATIONS.handlers)

MAX_EVENT_BYTES = 262_144
"""The payload limit of an asynchronous (``Event``) invocation."""
_TYPES = ("Event", "RequestResponse", "DryRun")


@OPERATIONS("Invoke")
def invoke(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    kind = params.get("InvocationType") or "RequestResponse"
    if kind not in _TYPES:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy constraint:"
            " Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
        )
    spec = must_function(ctx, params["FunctionName"], params.get("Qualifier"))
    tenant_id = params.get("TenantId")
    refusal = tenant_refusal(spec.tenancy_mode, tenant_id)
    if refusal is not None:  # before the payload is read, and for Event invocations before they are queued
        code, message = refusal
        raise AwsError(code, message, INVOKE_API_ERRORS[code], fields={"Type": "User"})
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
    # As the caller named it (an alias or version too): the handler's context.invoked_function_arn says so.
    qualifier = params.get("Qualifier")
    reference = params["FunctionName"] if qualifier is None else f"{spec.name}:{qualifier}"
    if kind == "Event":
        # Committed before the 202 (enqueue returns after its commit): what was accepted is never lost.
        # Queued with its qualifier: the version it runs (an alias's, by its weights) is decided when
        # it is delivered, and the handler's invoked_function_arn names the qualifier.
        named = qualifier_of(ctx, params)
        queued = spec.name if named is None else f"{spec.name}:{named}"
        ctx.stack.local.async_invocations.enqueue(queued, event, request_id=ctx.request_id, tenant_id=tenant_id)
        return {"StatusCode": 202, "Payload": b""}
    invocation = Invocation(reference, event, ctx.request_id, timeout_s=spec.timeout_s, memory_mb=spec.memory_mb, tenant_id=tenant_id)
    # The version the qualifier names (an alias's, by its weights), decided before the function runs so
    # that the handler is told the version Invoke reports; locally its code is the current code.
    version = executed_version(ctx, spec.name, qualifier_of(ctx, params))
    invoker = ctx.stack.invoker
    if params.get("LogType") == "Tail":
        result, log_tail = invoker.invoke_with_log(invocation, version=version)
    else:
        result, log_tail = invoker.invoke(invocation, version=version), None
    refused = invoke_api_error(result)
    if refused is not None:  # a throttle or a runtime that cannot start is the API's error, not the function's
        code, message, status, fields = refused
        raise AwsError(code, message, status, fields=fields)
    out: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": version}
    if log_tail is not None:
        out["LogResult"] = base64.b64encode(log_tail.encode()).decode()
    if result.ok:
        out["Payload"] = json.dumps(result.payload).encode()
        return out
    out["FunctionError"] = "Unhandled"
    out["Payload"] = json.dumps(error_document(result)).encode()
    return out


# -- describing functions ---------------------------------------------------------------


@OPERATIONS("GetFunction")
def get_function(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = must_function(ctx, params["FunctionName"], params.get("Qualifier"))
    # A template's code is the application's folder, and an uploaded package is kept in the data dir:
    # neither is downloadable from S3, so there is no Location.
    function = stored(ctx, spec.name)
    tags = dict(function.tags) if function is not None else {}
    out: dict[str, Any] = {
        "Configuration": configuration(ctx, spec, qualifier_of(ctx, params)),
        "Code": {"RepositoryType": "S3"},
        "Tags": tags,
    }
    if spec.reserved_concurrency is not None:
        out["Concurrency"] = {"ReservedConcurrentExecutions": spec.reserved_concurrency}
    return out


@OPERATIONS("GetFunctionConfiguration")
def get_function_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = must_function(ctx, params["FunctionName"], params.get("Qualifier"))
    return configuration(ctx, spec, qualifier_of(ctx, params))


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
    catalog(ctx)  # functions made through the API are registered again after a restart
    specs = [s for name, s in sorted(ctx.stack.invoker.functions.items()) if name > after]
    page = specs[:limit]
    out: dict[str, Any] = {"Functions": [configuration(ctx, s) for s in page]}
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
        return must_function(ctx, params["FunctionName"], params.get("Qualifier"))
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
        spec = must_function(ctx, params["FunctionName"], params.get("Qualifier"))
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

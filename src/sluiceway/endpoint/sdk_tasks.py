"""Step Functions' AWS SDK integrations, served by the endpoint's own operations, in-process.

A Task ``arn:aws:states:::aws-sdk:dynamodb:getItem`` is the endpoint's ``GetItem`` called with the
state's parameters: the validation, effects and errors are those of the same call made with boto3.
What Step Functions adds is kept:

* parameters are the API's members in Pascal case; a string member given JSON that is no string
  gets its JSON text, and a blob member (S3's Body, Lambda's Payload) the JSON text of whatever it
  is given, a string included (``"text"`` stores ``"text"``, quotes and all: recorded against AWS);
* the response's members are in Pascal case, blobs are text and timestamps ISO 8601 instants;
* a failure is ``<Prefix>.<Name>Exception``: the error's shape in the service's model (``NoSuchKey``
  -> ``S3.NoSuchKeyException``), or ``<Prefix>.<Prefix>Exception`` for an error the model does not
  name (``DynamoDb.DynamoDbException`` for a ValidationException), with the message and the SDK's
  details as the cause.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from ..asl.sdk_services import SDK_SERVICES, SdkResource, parse_sdk_resource, unrecognized
from ..runtime.orchestration.integrations import TaskError
from ..types import JSON
from . import protocol
from .calls import AwsCalls
from .context import Shared, Stream
from .errors import AwsError, not_implemented
from .protocol.required import check_required
from .services import operations

if TYPE_CHECKING:
    from ..asl.parser import Diagnostic
    from ..runtime.stack import Stack

__all__ = ["SERVED", "EndpointSdk", "sdk_diagnostics", "serve_aws_sdk_tasks"]

SERVED: Mapping[str, str] = {
    "s3": "s3",
    "sqs": "sqs",
    "sns": "sns",
    "dynamodb": "dynamodb",
    "dynamodbstreams": "dynamodbstreams",
    "eventbridge": "events",
    "scheduler": "scheduler",
    "sfn": "stepfunctions",
    "lambda": "lambda",
    "cloudwatchlogs": "logs",
    "sts": "sts",
    "cloudformation": "cloudformation",
    "cognitoidentityprovider": "cognito-idp",
    "cloudwatch": "cloudwatch",
}
"""Step Functions' service name -> the endpoint's (botocore's) service it calls."""

#: The content type the SDK gives a payload made from text (S3 PutObject's, recorded against AWS).
_TEXT_PAYLOAD = "text/plain; charset=UTF-8"


def serve_aws_sdk_tasks(stack: Stack, endpoint_url: Callable[[], str]) -> Shared:
    """Have the stack's executions run AWS SDK integrations on the endpoint's operations; return the
    :class:`Shared` they build on, for the endpoint to serve its requests with (one engine per service).

    The stack owns it from then (``stack.sdk_tasks``): it is closed when the stack stops, after its
    last task, never by the endpoint, whose close must not pull it from under a task still calling.
    A second endpoint on the stack shares it, and its URL is the one answers name (QueueUrl).

    Args:
        endpoint_url: how clients reach the endpoint, read at each call (known once the port is bound).
    """
    runner = stack.sdk_tasks
    if runner is None:
        raise ValueError("the stack has no AWS SDK task runner (build it with sluiceway.runtime.wiring.build_stack)")
    served = runner.call
    if isinstance(served, EndpointSdk):
        served.endpoint_url = endpoint_url
        return served.shared
    sdk = EndpointSdk(stack, Shared(), endpoint_url)
    runner.serve(sdk)
    return sdk.shared


def operation_name(resource: SdkResource) -> str:
    """The API operation an action names: ``getItem`` -> ``GetItem``."""
    return resource.action[:1].upper() + resource.action[1:]


def sdk_diagnostics(definition: Mapping[str, Any]) -> list[Diagnostic]:
    """CreateStateMachine's refusals of AWS SDK actions the served services' models do not have
    (``aws-sdk:s3:getObjects``), in state order, nested machines included."""
    from ..asl.parser import Diagnostic

    found: list[Diagnostic] = []

    def walk(doc: Mapping[str, Any], where: str) -> None:
        states = doc.get("States")
        if not isinstance(states, Mapping):
            return
        for name, state in states.items():
            if not isinstance(state, Mapping):
                continue
            at = f"{where}/States/{name}"
            resource = state.get("Resource")
            if state.get("Type") == "Task" and isinstance(resource, str):
                parsed = parse_sdk_resource(resource)
                service = SERVED.get(parsed.service) if parsed is not None else None
                if parsed is not None and service is not None and operation_name(parsed) not in _operations(service):
                    found.append(Diagnostic("SCHEMA_VALIDATION_FAILED", f"{at}/Resource", unrecognized(resource)))
            for i, branch in enumerate(state.get("Branches") or []):
                if isinstance(branch, Mapping):
                    walk(branch, f"{at}/Branches/{i}")
            for field in ("ItemProcessor", "Iterator"):
                inner = state.get(field)
                if isinstance(inner, Mapping):
                    walk(inner, f"{at}/{field}")

    walk(definition, "")
    return found


class EndpointSdk:
    """Calls an AWS SDK integration's action on the stack's endpoint operations (see the module)."""

    def __init__(self, stack: Stack, shared: Shared, endpoint_url: Callable[[], str]) -> None:
        self.stack = stack
        self.shared = shared
        self.endpoint_url = endpoint_url
        """Read at each call: the endpoint's port is known once it is bound."""

    def close(self) -> None:
        """Close what the operations built (the stack does, once its tasks have ended)."""
        self.shared.close()

    def __call__(self, resource: SdkResource, parameters: Mapping[str, Any]) -> JSON:
        service = SERVED.get(resource.service)
        if service is None:
            raise TaskError("States.Runtime", f"The {resource.service} service is not served by the Sluiceway endpoint")
        name = operation_name(resource)
        if name not in _operations(service):
            raise TaskError("States.Runtime", unrecognized(f"arn:aws:states:::aws-sdk:{resource.service}:{resource.action}"))
        model = protocol.service_model(service)
        operation = model.operation_model(name)
        prefix = SDK_SERVICES[resource.service]
        try:
            request = _request(operation.input_shape, parameters, "Parameters")
            if operation.input_shape is not None:
                check_required(operation.input_shape, request, model.resolved_protocol, service)
            if name not in operations(service).handlers:
                raise not_implemented(service, name)
            output = AwsCalls(self.stack, self.shared, self.endpoint_url()).call(service, name, request)
        except AwsError as error:
            raise TaskError(f"{prefix}.{_exception_name(service, error.code, prefix)}", _cause(error, prefix, service)) from None
        rendered = _render(operation.output_shape, output) if operation.output_shape is not None else {}
        return rendered if rendered is not None else {}


@cache
def _operations(service: str) -> frozenset[str]:
    return frozenset(protocol.service_model(service).operation_names)


@cache
def _error_names(service: str) -> Mapping[str, str]:
    """The service's error codes (a shape's name, and its wire code when another) -> shape name."""
    names: dict[str, str] = {}
    for shape in protocol.service_model(service).error_shapes:
        names[shape.name] = shape.name
        code = (shape.metadata.get("error") or {}).get("code")
        if isinstance(code, str):
            names.setdefault(code, shape.name)
    return names


def _exception_name(service: str, code: str, prefix: str) -> str:
    """The SDK's exception class for an error code (the Java SDK's naming: ``Fault`` becomes
    ``Exception``, which is added when missing); the service's own exception when unmodelled."""
    shape = _error_names(service).get(code)
    if shape is None:
        return f"{prefix}Exception"
    if shape.endswith("Fault"):
        return shape.removesuffix("Fault") + "Exception"
    return shape if shape.endswith("Exception") else shape + "Exception"


def _cause(error: AwsError, prefix: str, service: str) -> str:
    """The message with the details the SDK adds to it (the recordings' form)."""
    if service == "s3":
        request_id = secrets.token_hex(8).upper()
        extended = secrets.token_urlsafe(48)
        details = f"Service: {prefix}, Status Code: {error.status}, Request ID: {request_id}, Extended Request ID: {extended}"
    else:
        details = f"Service: {prefix}, Status Code: {error.status}, Request ID: {uuid.uuid4()}"
    return f"{error.message} ({details}) (SDK Attempt Count: 1)"


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _request(shape: Any, value: Any, where: str) -> Any:
    """The API's request from a state's parameters (see the module)."""
    if shape is None:
        return {}
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise TaskError("States.Runtime", f"{where} must be an object")
        members = {_pascal(name).lower(): (name, member) for name, member in shape.members.items()}
        request: dict[str, Any] = {}
        for key, item in value.items():
            found = members.get(str(key).lower())
            if found is None:
                raise TaskError("States.Runtime", f"The field '{key}' is not supported by Step Functions at {where}")
            name, member = found
            if item is not None:
                request[name] = _request(member, item, f"{where}.{key}")
        payload = shape.serialization.get("payload")
        if payload in request and shape.members[payload].type_name == "blob" and "ContentType" in shape.members:
            request.setdefault("ContentType", _TEXT_PAYLOAD)
        return request
    if kind == "list" and isinstance(value, list):
        return [_request(shape.member, item, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind == "map" and isinstance(value, Mapping):
        return {str(k): _request(shape.value, item, f"{where}.{k}") for k, item in value.items()}
    if kind == "blob":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    if kind == "string" and isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def _render(shape: Any, value: Any) -> Any:
    """An API response as the integration gives it to the state (see the module)."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is None and member.type_name == "map" and member.serialization.get("location") == "headers":
                item = {}  # the SDK always has the prefixed headers' map (S3's Metadata), empty or not
            if member.type_name == "timestamp" and _whole_seconds(member):
                item = _instant(item, whole_seconds=True)
            rendered = _render(member, item)
            if rendered is not None:
                out[_pascal(name)] = rendered
        return out
    if kind == "list" and isinstance(value, list | tuple):
        return [_render(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, Mapping):
        return {str(k): _render(shape.value, item) for k, item in value.items()}
    if kind == "blob":
        if isinstance(value, Stream):
            value = b"".join(value.chunks)
        return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else value
    if kind == "timestamp":
        return _instant(value)
    if kind in ("float", "double") and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in ("integer", "long") and not isinstance(value, bool) and isinstance(value, int | float):
        return int(value)
    return value


def _whole_seconds(member: Any) -> bool:
    """Whether the wire carries the timestamp to the second only: an HTTP-date header (S3's
    Last-Modified), where the SDK reads what the service sends."""
    kind = member.serialization.get("timestampFormat") or getattr(member, "metadata", {}).get("timestampFormat")
    return kind == "rfc822" or (kind is None and member.serialization.get("location") == "header")


def _instant(value: Any, *, whole_seconds: bool = False) -> Any:
    """A timestamp as the SDK's ``Instant.toString()`` writes it: ``2024-05-01T12:00:00Z``, with
    milliseconds when it has them (``...00.250Z``); services send at most milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = datetime.fromtimestamp(value, UTC)
    if not isinstance(value, datetime):
        return value
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    millis = 0 if whole_seconds else moment.microsecond // 1000
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"

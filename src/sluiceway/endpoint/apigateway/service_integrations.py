"""HTTP API AWS service integrations (``integrationSubtype``): SQS, EventBridge, Step Functions.

Each request's mapped parameters become the operation's JSON request and go through the
endpoint's own protocol layer and operation, in-process, so validation, effects and errors are
those of the same call made with boto3. The answer is the service's, as API Gateway relays it:
JSON services' JSON bodies as they are, and SQS's in its JSON rendering of the query protocol
(``{"SendMessageResponse": {"SendMessageResult": {...}, "ResponseMetadata": {...}}}``, every
member of the result present, null when unset, members in alphabetical order, and
ReceiveMessage's list named ``messages``), which is what API Gateway returns for SQS.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import protocol
from ..context import Context, HttpRequest, HttpResponse
from ..errors import AwsError
from ..protocol.sqs_query import QUERY_ERRORS
from ..services import operations
from .mappings import MappingSource, evaluate
from .model import Integration

logger = logging.getLogger(__name__)

__all__ = ["SUBTYPES", "ContextFactory", "IntegrationRequestError", "call_service", "check_subtype", "legacy_json"]

ContextFactory = Callable[[str, str, HttpRequest], Context]
"""(service, operation, request) -> the Context an in-process operation call runs with."""


@dataclass(frozen=True)
class Subtype:
    service: str
    operation: str
    required: tuple[str, ...]
    optional: tuple[str, ...]


#: API Gateway's integration subtype reference (HTTP APIs), for the services Sluiceway serves.
SUBTYPES: dict[str, Subtype] = {
    "SQS-SendMessage": Subtype(
        "sqs", "SendMessage", ("QueueUrl", "MessageBody"),
        ("DelaySeconds", "MessageAttributes", "MessageDeduplicationId", "MessageGroupId", "MessageSystemAttributes", "Region"),
    ),
    "SQS-ReceiveMessage": Subtype(
        "sqs", "ReceiveMessage", ("QueueUrl",),
        ("AttributeNames", "MaxNumberOfMessages", "MessageAttributeNames", "ReceiveRequestAttemptId", "VisibilityTimeout",
         "WaitTimeSeconds", "Region"),
    ),
    "SQS-DeleteMessage": Subtype("sqs", "DeleteMessage", ("ReceiptHandle", "QueueUrl"), ("Region",)),
    "SQS-PurgeQueue": Subtype("sqs", "PurgeQueue", ("QueueUrl",), ("Region",)),
    "EventBridge-PutEvents": Subtype(
        "events", "PutEvents", ("Detail", "DetailType", "Source"), ("Time", "EventBusName", "Resources", "Region", "TraceHeader")
    ),
    "StepFunctions-StartExecution": Subtype(
        "stepfunctions", "StartExecution", ("StateMachineArn",), ("Name", "Input", "Region", "TraceHeader")
    ),
    "StepFunctions-StartSyncExecution": Subtype(
        "stepfunctions", "StartSyncExecution", ("StateMachineArn",), ("Name", "Input", "Region", "TraceHeader")
    ),
    "StepFunctions-StopExecution": Subtype("stepfunctions", "StopExecution", ("ExecutionArn",), ("Cause", "Error", "Region")),
}  # fmt: skip

#: Subtypes API Gateway has whose services Sluiceway does not serve.
_UNSERVED = frozenset({"AppConfig-GetConfiguration", "Kinesis-PutRecord"})


class IntegrationRequestError(ValueError):
    """The request cannot be mapped to the service's parameters (a required one evaluates to nothing)."""


def check_subtype(subtype: str, parameters: Mapping[str, str], where: str) -> str | None:
    """Why a subtype cannot be served (None when it can).

    Raises:
        ValueError: a subtype API Gateway does not have, or parameters it would refuse.
    """
    if subtype in _UNSERVED:
        return f"the {subtype} integration's service is not served locally"
    known = SUBTYPES.get(subtype)
    if known is None:
        raise ValueError(f"{where}.integrationSubtype: {subtype!r} is not an integration subtype of HTTP APIs")
    missing = [p for p in known.required if p not in parameters]
    unknown = sorted(set(parameters) - set(known.required) - set(known.optional))
    if missing or unknown:
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise ValueError(f"{where}.requestParameters: {subtype} parameters: {'; '.join(problems)}")
    return None


def call_service(integration: Integration, source: MappingSource, make_context: ContextFactory, request_id: str) -> HttpResponse:
    """Run the integration's operation and answer as API Gateway relays the service's answer.

    Raises:
        IntegrationRequestError: a required parameter maps to nothing (API Gateway's 400).
        MappingError: an expression cannot be evaluated (400).
    """
    subtype = SUBTYPES[str(integration.subtype)]
    values: dict[str, str] = {}
    for name, expression in integration.parameters.items():
        value = evaluate(expression, source)
        if value is not None and name != "Region":  # one region locally
            values[name] = value
    missing = [name for name in subtype.required if not values.get(name)]
    if missing:
        raise IntegrationRequestError(f"{integration.subtype}: {', '.join(missing)} evaluated to nothing")
    model = protocol.service_model(subtype.service)
    operation_model = model.operation_model(subtype.operation)
    # botocore's shapes are read by attribute (type_name, members, member, value): only the
    # protocol layer imports botocore.
    input_shape: Any = operation_model.input_shape
    if subtype.operation == "PutEvents":
        document: dict[str, Any] = {"Entries": [_typed(input_shape.members["Entries"].member, values)]}
    else:
        document = _typed(input_shape, values)
    request = HttpRequest(
        "POST",
        "/",
        "",
        {
            "x-amz-target": f"{model.metadata['targetPrefix']}.{subtype.operation}",
            "content-type": f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}",
        },
        json.dumps(document).encode(),
    )
    try:
        operation, params = protocol.parse(subtype.service, request)
        handler = operations(subtype.service).handlers[operation.name]
        output = handler(make_context(subtype.service, operation.name, request), params)
    except AwsError as error:
        logger.info("api integration: %s refused: %s %s", integration.subtype, error.code, error.message)
        if subtype.service == "sqs":
            return _sqs_error(error, request_id)
        return protocol.serialize_error(subtype.service, error, request_id, protocol="json")
    if subtype.service == "sqs":
        body = legacy_json(operation, output or {}, request_id)
        return HttpResponse(200, {"Content-Type": "application/json"}, json.dumps(body).encode())
    return protocol.serialize(operation, output, request_id, protocol="json")


def legacy_json(operation: Any, output: Mapping[str, Any], request_id: str) -> dict[str, Any]:
    """A query-protocol (SQS, SNS) answer in its JSON rendering: ``{"<Op>Response": {"<Op>Result": ..., ...}}``."""
    return {
        f"{operation.name}Response": {
            f"{operation.name}Result": _sqs_result(operation.name, operation.output_shape, output),
            "ResponseMetadata": {"RequestId": request_id},
        }
    }


def _typed(shape: Any, values: Mapping[str, str]) -> dict[str, Any]:
    """The members of ``shape`` from mapped strings: numbers and booleans parsed, documents read as JSON.

    The subtype reference names every parameter in PascalCase (``StateMachineArn``, ``Input``),
    whatever the service's own spelling: Step Functions' members are camelCase
    (``stateMachineArn``), SQS's and EventBridge's PascalCase. A parameter is its member whatever
    the case.
    """
    members = {name.lower(): (name, member) for name, member in shape.members.items()}
    out: dict[str, Any] = {}
    for name, text in values.items():
        found = members.get(name.lower())
        if found is None:
            continue
        member_name, member = found
        out[member_name] = _value(member, text, name)
    return out


def _value(shape: Any, text: str, name: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise IntegrationRequestError(f"{name}: {text!r} is not a whole number") from None
    if kind in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            raise IntegrationRequestError(f"{name}: {text!r} is not a number") from None
    if kind == "boolean":
        return text.strip().lower() == "true"
    if kind in ("structure", "map"):
        try:
            return json.loads(text)
        except ValueError:
            raise IntegrationRequestError(f"{name}: {text[:64]!r} is not a JSON object") from None
    if kind == "list":
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        # A list given as text is a comma-separated one ("All", or "arn1,arn2").
        return parsed if isinstance(parsed, list) else [part.strip() for part in text.split(",") if part.strip()]
    return text


def _sqs_result(operation: str, shape: Any, output: Mapping[str, Any]) -> Any:
    if shape is None:
        return None
    if operation == "ReceiveMessage":
        messages = output.get("Messages")
        member = shape.members["Messages"].member
        return {"messages": [_legacy(member, m) for m in messages] if messages else None}
    return _legacy(shape, output)


def _legacy(shape: Any, value: Any) -> Any:
    """A value in SQS's legacy JSON: structures with every member (null when unset), sorted by name."""
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        return {name: _legacy(member, value.get(name)) for name, member in sorted(shape.members.items())}
    if kind == "list":
        return [_legacy(shape.member, item) for item in value]
    if kind == "map":
        return {key: _legacy(shape.value, item) for key, item in value.items()}
    if kind == "blob":
        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode("ascii")
    return value


def _sqs_error(error: AwsError, request_id: str) -> HttpResponse:
    code, status = QUERY_ERRORS.get(error.code, (error.code, error.status))
    body = {
        "Error": {"Code": code, "Message": error.message, "Type": "Sender" if error.sender_fault else "Receiver"},
        "RequestId": request_id,
    }
    return HttpResponse(status or error.status, {"Content-Type": "application/json"}, json.dumps(body).encode())

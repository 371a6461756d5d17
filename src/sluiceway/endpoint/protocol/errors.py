"""AwsError -> the service's error response (code, message, status, request id, fields)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.model import ServiceModel, Shape

from ..context import HttpResponse
from ..errors import AwsError
from . import json_shapes, xml_shapes
from .serialize import XML_DECLARATION, request_id_headers
from .shapes import members
from .sqs_query import QUERY_ERRORS

__all__ = ["serialize_error_response"]

#: SQS's query codes -> the JSON model's error shape names, to answer either protocol whichever
#: code the operation raised.
_SQS_SHAPES_BY_QUERY_CODE = {code: shape for shape, (code, _) in QUERY_ERRORS.items()}
# Two codes SQS's model has no shape for: over JSON, AWS names their __type so (recorded answers
# of real SQS show them as botocore's QueryErrorCode), the query code staying in the header.
_SQS_UNMODELLED_TYPES = {"InvalidParameterValue": "InvalidParameterValueException", "MissingParameter": "MissingRequiredParameterException"}


def serialize_error_response(model: ServiceModel, error: AwsError, request_id: str, protocol: str, *, head: bool = False) -> HttpResponse:
    service = model.service_name
    headers = request_id_headers(service, request_id)
    if protocol == "json":
        response = _json(model, error, headers)
    elif protocol == "rest-json":
        response = _rest_json(model, error, headers)
    elif protocol == "query":
        response = _query(model, error, request_id, headers)
    else:
        response = _rest_xml(error, request_id, headers)
    response.headers.update(error.headers)
    if head:
        response.body = b""  # a HEAD answer has no body, errors included (S3 HeadObject's 404)
    return response


_error_shapes: dict[int, tuple[ServiceModel, dict[str, Shape]]] = {}


def _error_shape(model: ServiceModel, code: str) -> Shape | None:
    """The model's exception shape named ``code`` (an unmodelled code has none)."""
    found = _error_shapes.get(id(model))
    if found is None or found[0] is not model:
        found = (model, {shape.name: shape for shape in model.error_shapes})
        _error_shapes[id(model)] = found
    return found[1].get(code)


def _fields(shape: Shape | None, error: AwsError) -> dict[str, Any]:
    if not error.fields:
        return {}
    if shape is None:
        return dict(error.fields)
    written: dict[str, Any] = json_shapes.writer(shape)(error.fields)
    # Fields the shape does not name still reach the client (botocore keeps unknown keys out).
    return {**error.fields, **written}


def _message_key(shape: Shape | None) -> str:
    if shape is not None and "Message" in members(shape) and "message" not in members(shape):
        return "Message"
    return "message"


def _json(model: ServiceModel, error: AwsError, headers: dict[str, str]) -> HttpResponse:
    code = error.code
    if model.metadata.get("awsQueryCompatible") is not None and service_is_sqs(model):
        shape_name = _SQS_SHAPES_BY_QUERY_CODE.get(code) or _SQS_UNMODELLED_TYPES.get(code, code)
        query_code = QUERY_ERRORS.get(shape_name, (code, error.status))[0]
        # botocore reads the query code from this header (parsers.py, _do_query_compatible_error_parse)
        # and the exception class from __type, so both SDK generations see what they expect.
        headers["x-amzn-query-error"] = f"{query_code};{'Sender' if error.sender_fault else 'Receiver'}"
        code = shape_name
    shape = _error_shape(model, code)
    body = {"__type": code, _message_key(shape): error.message, **_fields(shape, error)}
    headers["Content-Type"] = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
    return HttpResponse(error.status, headers, json.dumps(body, separators=(",", ":")).encode("utf-8"))


def service_is_sqs(model: ServiceModel) -> bool:
    return model.service_name == "sqs"


def _rest_json(model: ServiceModel, error: AwsError, headers: dict[str, str]) -> HttpResponse:
    shape = _error_shape(model, error.code)
    body: dict[str, Any] = {"message": error.message, "Message": error.message}
    if shape is not None and "Type" in members(shape):
        body["Type"] = "User" if error.sender_fault else "Service"  # Lambda's fault marker
    body.update(_fields(shape, error))
    headers["x-amzn-ErrorType"] = error.code
    headers["Content-Type"] = "application/json"
    return HttpResponse(error.status, headers, json.dumps(body, separators=(",", ":")).encode("utf-8"))


def _query(model: ServiceModel, error: AwsError, request_id: str, headers: dict[str, str]) -> HttpResponse:
    code = error.code
    if service_is_sqs(model):
        code = QUERY_ERRORS.get(code, (code, 0))[0]
    namespace = model.metadata.get("xmlNamespace") or ("http://queue.amazonaws.com/doc/2012-11-05/" if service_is_sqs(model) else "")
    parts = [
        f'{XML_DECLARATION}<ErrorResponse xmlns="{xml_shapes.escape(namespace)}"><Error>',
        f"<Type>{'Sender' if error.sender_fault else 'Receiver'}</Type>",
        f"<Code>{xml_shapes.escape(code)}</Code>",
        f"<Message>{xml_shapes.escape(error.message)}</Message>",
        *(_xml_field(name, value) for name, value in error.fields.items()),
        f"</Error><RequestId>{xml_shapes.escape(request_id)}</RequestId></ErrorResponse>",
    ]
    headers["Content-Type"] = "text/xml"
    return HttpResponse(error.status, headers, "".join(parts).encode("utf-8"))


def _rest_xml(error: AwsError, request_id: str, headers: dict[str, str]) -> HttpResponse:
    parts = [
        f"{XML_DECLARATION}<Error>",
        f"<Code>{xml_shapes.escape(error.code)}</Code>",
        f"<Message>{xml_shapes.escape(error.message)}</Message>",
        *(_xml_field(name, value) for name, value in error.fields.items()),
        f"<RequestId>{xml_shapes.escape(request_id)}</RequestId>",
        f"<HostId>{xml_shapes.escape(headers.get('x-amz-id-2', ''))}</HostId></Error>",
    ]
    headers["Content-Type"] = "application/xml"
    return HttpResponse(error.status, headers, "".join(parts).encode("utf-8"))


def _xml_field(name: str, value: Any) -> str:
    """An error's extra member in XML: text, a list as ``member`` elements (the query protocol's), a structure as its members."""
    if isinstance(value, Mapping):
        return f"<{name}>{''.join(_xml_field(str(k), v) for k, v in value.items())}</{name}>"
    if isinstance(value, (list, tuple)):
        return f"<{name}>{''.join(_xml_field('member', v) for v in value)}</{name}>"
    return f"<{name}>{xml_shapes.escape(str(value))}</{name}>"

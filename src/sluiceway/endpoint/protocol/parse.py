"""HTTP requests -> (operation, params), for each of AWS's four protocols."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl
from xml.etree.ElementTree import Element, ParseError, XMLParser

from botocore.model import OperationModel, ServiceModel, Shape

from ..context import HttpRequest
from ..errors import AwsError
from . import json_shapes, xml_shapes
from .models import must_operation, query_variant, service_model, unknown_operation
from .query_forms import Form, FormValueError, read_form
from .required import MALFORMED_XML, check_required
from .rest_members import input_members
from .routing import router
from .shapes import key_value, list_member, members
from .values import ValueError_, b64decode, parse_boolean, parse_float, parse_integer, parse_timestamp

__all__ = ["parse_request"]


def parse_request(service: str, protocol: str, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
    """The operation ``request`` calls and its params; AwsError as AWS answers a bad request."""
    if protocol == "json":
        operation, params = _parse_json(service_model(service), request)
    elif protocol == "query":
        operation, params = _parse_query(service, request)
    else:
        operation, params = _parse_rest(service, service_model(service), request)
    check_required(operation.input_shape, params, protocol, service)
    return operation, params


# -- json -----------------------------------------------------------------------------------------


def _parse_json(model: ServiceModel, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
    target = request.header("x-amz-target") or ""
    prefix, _, name = target.rpartition(".")
    if not name or prefix != model.metadata.get("targetPrefix"):
        raise unknown_operation("json", target or "(no X-Amz-Target)")
    operation = must_operation(model, name, "json")
    return operation, _json_members(operation.input_shape, request.body)


def _json_members(shape: Shape | None, body: bytes) -> dict[str, Any]:
    document = _json_document(body)
    if shape is None:
        return {}
    try:
        params = json_shapes.reader(shape)(document)
    except json_shapes.Path as exc:
        where = ".".join(exc.path)
        raise AwsError("SerializationException", f"{where}: {exc.message}" if where else exc.message, 400) from None
    result: dict[str, Any] = params
    return result


def _json_document(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise AwsError("SerializationException", "Malformed request body: the body is not valid JSON", 400) from None
    if not isinstance(document, dict):
        raise AwsError("SerializationException", "Malformed request body: expected a JSON object", 400)
    return document


# -- query ----------------------------------------------------------------------------------------


def _form_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    pairs = parse_qsl(request.query, keep_blank_values=True) if request.query else []
    content_type = (request.header("content-type") or "").lower()
    if request.body and (not content_type or content_type.startswith("application/x-www-form-urlencoded")):
        try:
            pairs.extend(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            raise AwsError("MalformedQueryString", "The query string is not valid UTF-8", 400) from None
    return pairs


def _parse_query(service: str, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
    form = Form(_form_pairs(request))
    action = form.values.get("Action")
    if not action:
        raise AwsError("MissingAction", "The request must contain the parameter Action.", 400)
    model = query_variant(service)
    operation = must_operation(model, action, "query")
    if operation.input_shape is None:
        params: dict[str, Any] = {}
    else:
        try:
            params = read_form(operation.input_shape, form)
        except FormValueError as exc:
            text = form.values.get(exc.name)
            raise AwsError("InvalidParameterValue", f"Value ({text}) for parameter {exc.name} is invalid. {exc}", 400) from None
    # Answer with the service's own operation model; serialize() switches back when asked for query.
    canonical = service_model(service)
    if canonical is not model:
        operation = canonical.operation_model(operation.name)
    return operation, params


# -- rest-json and rest-xml -------------------------------------------------------------------------


def _parse_rest(service: str, model: ServiceModel, request: HttpRequest) -> tuple[OperationModel, dict[str, Any]]:
    query = parse_qs(request.query, keep_blank_values=True) if request.query else {}
    found = router(model).match(request.method, request.path, query, request.headers)
    if found is None:
        raise _no_route(service, request)
    operation, labels = found
    where = input_members(operation)
    if where is None:
        return operation, {}
    shape = where.shape
    params: dict[str, Any] = {}
    headers = request.headers
    try:
        for name, text in labels.items():
            params[name] = _text_value(members(shape)[name], text)
        if query:
            for name, member, wire in where.query:
                values = query.get(wire)
                if values is not None:
                    params[name] = _query_value(member, values)
            if where.query_map is not None:
                _read_query_map(where.query_map, query, params)
        for name, member, wire in where.headers:
            header = headers.get(wire)
            if header is not None:
                params[name] = _header_value(member, header)
        for name, prefix in where.header_maps:
            found_map = {key[len(prefix) :]: value for key, value in headers.items() if key.startswith(prefix)}
            if found_map:
                params[name] = found_map
    except ValueError_ as exc:
        raise _bad_value(service, str(exc)) from None
    if where.payload is not None:
        _read_payload(service, model.protocol, members(shape)[where.payload], where.payload, request.body, params)
    elif where.body and request.body.strip():
        params.update(_body_document(service, model.protocol, shape, request.body))
    return operation, params


def _no_route(service: str, request: HttpRequest) -> AwsError:
    if service == "s3":
        return AwsError(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            405,
            fields={"Method": request.method.upper(), "ResourceType": "OBJECT" if request.path.count("/") > 1 else "BUCKET"},
        )
    return AwsError("UnknownOperationException", f"No operation serves {request.method.upper()} {request.path}", 404)


def _bad_value(service: str, message: str) -> AwsError:
    if service == "s3":
        return AwsError("InvalidArgument", message, 400)
    return AwsError("SerializationException", message, 400)


def _query_value(member: Shape, values: list[str]) -> Any:
    if member.type_name == "list":
        return [_text_value(list_member(member), text) for text in values]
    return _text_value(member, values[0])


def _read_query_map(member: tuple[str, Shape, frozenset[str]], query: dict[str, list[str]], params: dict[str, Any]) -> None:
    # A querystring map takes every parameter no other member (nor the URI) claims.
    name, shape, claimed = member
    many = key_value(shape)[1].type_name == "list"
    values = {key: (found if many else found[0]) for key, found in query.items() if key not in claimed}
    if values:
        params[name] = values


def _text_value(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    if kind in ("string", "character"):
        return text
    if kind == "boolean":
        return parse_boolean(text)
    if kind in ("integer", "long", "short", "byte", "biginteger"):
        return parse_integer(text)
    if kind in ("float", "double", "bigdecimal"):
        return parse_float(text)
    if kind == "timestamp":
        return parse_timestamp(text)
    if kind == "blob":
        return b64decode(text)
    return text


def _header_value(member: Shape, text: str) -> Any:
    if member.type_name == "list":
        return [_text_value(list_member(member), item) for item in _split_header_list(text)]
    if member.type_name == "string" and member.serialization.get("jsonvalue"):
        try:
            return json.loads(b64decode(text))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValueError_(f"invalid JSON value header: {exc}") from None
    return _text_value(member, text)


def _split_header_list(text: str) -> list[str]:
    """``a, "b,c", d`` -> [a, b,c, d]: RFC 7230 lists, quoted items as botocore writes them."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def _read_payload(service: str, protocol: str, member: Shape, name: str, body: bytes, params: dict[str, Any]) -> None:
    if member.type_name == "blob":
        if body or member.serialization.get("streaming"):
            params[name] = body
        return
    if member.type_name == "string":
        if body:
            try:
                params[name] = body.decode("utf-8")
            except UnicodeDecodeError:
                raise _bad_value(service, "the body is not valid UTF-8") from None
        return
    if not body.strip():
        return
    if protocol == "rest-xml":
        try:
            params[name] = xml_shapes.read(member, _xml_root(body))
        except ValueError_ as exc:
            raise AwsError("MalformedXML", MALFORMED_XML, 400) if service == "s3" else _bad_value(service, str(exc)) from None
    else:
        params[name] = _json_members(member, body)


def _body_document(service: str, protocol: str, shape: Shape, body: bytes) -> dict[str, Any]:
    if protocol == "rest-xml":
        try:
            found: dict[str, Any] = xml_shapes.read(shape, _xml_root(body))
        except ValueError_ as exc:
            raise AwsError("MalformedXML", MALFORMED_XML, 400) if service == "s3" else _bad_value(service, str(exc)) from None
        return found
    return _json_members(shape, body)


def _xml_root(body: bytes) -> Element:
    # No document type, so no entity can expand (billion laughs) or reach out (XXE).
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise AwsError("MalformedXML", MALFORMED_XML, 400)
    parser = XMLParser()
    try:
        parser.feed(body)
        root: Element = parser.close()
    except ParseError:
        raise AwsError("MalformedXML", MALFORMED_XML, 400) from None
    return root

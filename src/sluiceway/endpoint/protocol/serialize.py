"""Output dicts -> HTTP responses, for each of AWS's four protocols."""

from __future__ import annotations

import base64
import json
from typing import Any, Final

from botocore.model import OperationModel, Shape

from ..context import HttpResponse, Stream
from . import json_shapes, xml_shapes
from .rest_members import output_members
from .shapes import list_member, members
from .values import RFC822, b64encode, format_float, format_timestamp

__all__ = ["S3_NAMESPACE", "host_id", "request_id_headers", "serialize_response"]

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

#: S3 answers' root elements. botocore's model dropped them (its parser ignores the root), but
#: S3 sends them and other SDKs' models name them; an output shape not listed is its own root.
S3_ROOTS: dict[str, str] = {
    "ListObjectsOutput": "ListBucketResult",
    "ListObjectsV2Output": "ListBucketResult",
    "ListBucketsOutput": "ListAllMyBucketsResult",
    "ListDirectoryBucketsOutput": "ListAllMyDirectoryBucketsResult",
    "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
    "CompleteMultipartUploadOutput": "CompleteMultipartUploadResult",
    "DeleteObjectsOutput": "DeleteResult",
    "ListMultipartUploadsOutput": "ListMultipartUploadsResult",
    "ListPartsOutput": "ListPartsResult",
    "ListObjectVersionsOutput": "ListVersionsResult",
    "GetBucketAclOutput": "AccessControlPolicy",
    "GetObjectAclOutput": "AccessControlPolicy",
    "GetBucketTaggingOutput": "Tagging",
    "GetObjectTaggingOutput": "Tagging",
    "GetBucketVersioningOutput": "VersioningConfiguration",
    "GetBucketCorsOutput": "CORSConfiguration",
    "GetBucketLifecycleConfigurationOutput": "LifecycleConfiguration",
    "GetBucketLoggingOutput": "BucketLoggingStatus",
    "GetBucketWebsiteOutput": "WebsiteConfiguration",
    "GetBucketRequestPaymentOutput": "RequestPaymentConfiguration",
    "GetBucketAccelerateConfigurationOutput": "AccelerateConfiguration",
    "GetObjectAttributesOutput": "GetObjectAttributesResponse",
    "CreateSessionOutput": "CreateSessionResult",
}

_LOCATED = frozenset({"header", "headers", "statusCode"})


def host_id(request_id: str) -> str:
    """S3's ``x-amz-id-2``: an opaque token tied to the request, as S3 sends one with each answer."""
    return base64.b64encode(f"sluiceway/{request_id}".encode()).decode("ascii")


def request_id_headers(service: str, request_id: str) -> dict[str, str]:
    if service == "s3":
        return {"x-amz-request-id": request_id, "x-amz-id-2": host_id(request_id)}
    return {"x-amzn-RequestId": request_id}


def serialize_response(operation: OperationModel, output: dict[str, Any] | None, request_id: str, protocol: str) -> HttpResponse:
    output = output or {}
    service = operation.service_model.service_name
    headers = request_id_headers(service, request_id)
    if protocol == "json":
        return _json(operation, output, headers)
    if protocol == "query":
        return _query(operation, output, request_id, headers)
    return _rest(operation, output, headers, protocol)


def _json(operation: OperationModel, output: dict[str, Any], headers: dict[str, str]) -> HttpResponse:
    shape = operation.output_shape
    document = json_shapes.writer(shape)(output) if shape is not None else {}
    headers["Content-Type"] = f"application/x-amz-json-{operation.service_model.metadata.get('jsonVersion', '1.0')}"
    return HttpResponse(200, headers, json.dumps(document, separators=(",", ":")).encode("utf-8"))


def _query(operation: OperationModel, output: dict[str, Any], request_id: str, headers: dict[str, str]) -> HttpResponse:
    name = operation.name
    namespace = operation.service_model.metadata.get("xmlNamespace", "")
    out = [f'<{name}Response xmlns="{xml_shapes.escape(namespace)}">']
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
        xml_shapes.write(shape, output, wrapper, out)
    out.append(f"<ResponseMetadata><RequestId>{xml_shapes.escape(request_id)}</RequestId></ResponseMetadata></{name}Response>")
    headers["Content-Type"] = "text/xml"
    return HttpResponse(200, headers, (XML_DECLARATION + "".join(out)).encode("utf-8"))


_NO_CONTENT: Final = frozenset(
    {
        "PutBucketAnalyticsConfiguration",
        "PutBucketIntelligentTieringConfiguration",
        "PutBucketInventoryConfiguration",
        "PutBucketMetricsConfiguration",
        "PutBucketPolicy",
        "PutBucketTagging",
    }
)
"""S3 operations that succeed with 204 No Content although the model names no status (so 200):
what real S3 answers (recorded responses), and what clients that check the status expect."""


def _rest(operation: OperationModel, output: dict[str, Any], headers: dict[str, str], protocol: str) -> HttpResponse:
    where = output_members(operation)
    if where is None:
        default = 204 if operation.name in _NO_CONTENT and operation.service_model.service_name == "s3" else 200
        return HttpResponse(int(operation.http.get("responseCode", default)), headers)
    status = where.status
    body: bytes | Stream = b""
    for name, member, location, wire in where.located:
        value = output.get(name)
        if value is None:
            continue
        if location == "statusCode":
            status = int(value)
        elif location == "header":
            headers[wire] = _header_text(member, value)
        elif location == "headers":
            for key, item in value.items():
                headers[f"{wire}{key}"] = str(item)
    if protocol == "rest-xml" and output.get("ContentRange") and operation.name in ("GetObject", "HeadObject"):
        status = 206  # S3's model has no status member: a ranged read is Partial Content on the wire
    shape = where.shape
    if where.payload is not None:
        member = members(shape)[where.payload]
        value = output.get(where.payload)
        if member.type_name in ("blob", "string"):
            if isinstance(value, Stream | bytes):
                body = value
            elif isinstance(value, bytearray | memoryview):
                body = bytes(value)
            elif isinstance(value, str):
                body = value.encode("utf-8")
            if operation.name == "Invoke" and operation.service_model.service_name == "lambda":
                # Lambda answers a function's payload as JSON, whatever bytes it returned
                # (the model's blob payload names no type; SDKs and tests read this header).
                headers.setdefault("Content-Type", "application/json")
        elif value is not None:
            body = _structure_body(protocol, member, value, str(member.serialization.get("name", member.name)), headers)
    elif where.body:
        if protocol == "rest-xml":
            body = _rest_xml_body(operation, shape, output, headers)
        elif any(output.get(name) is not None for name in where.body):
            body = _structure_body(protocol, shape, output, "", headers)
    return HttpResponse(status, headers, body)


def _structure_body(protocol: str, shape: Shape, value: Any, root: str, headers: dict[str, str]) -> bytes:
    if protocol == "rest-xml":
        out: list[str] = [XML_DECLARATION]
        xml_shapes.write(shape, value, root, out, namespace=S3_NAMESPACE if "xmlNamespace" not in shape.serialization else None)
        headers.setdefault("Content-Type", "application/xml")
        return "".join(out).encode("utf-8")
    headers.setdefault("Content-Type", "application/json")
    body_only = {k: v for k, v in value.items() if members(shape).get(k) is None or members(shape)[k].serialization.get("location") is None}
    return json.dumps(json_shapes.writer(shape)(body_only), separators=(",", ":")).encode("utf-8")


def _rest_xml_body(operation: OperationModel, shape: Shape, output: dict[str, Any], headers: dict[str, str]) -> bytes:
    service = operation.service_model.service_name
    if operation.name == "GetBucketLocation":
        # S3 answers with the bare element (<LocationConstraint>eu-west-1</LocationConstraint>),
        # which botocore reads with a handler of its own; us-east-1 is an empty element.
        value = output.get("LocationConstraint") or ""
        headers.setdefault("Content-Type", "application/xml")
        text = f'{XML_DECLARATION}<LocationConstraint xmlns="{S3_NAMESPACE}">{xml_shapes.escape(str(value))}</LocationConstraint>'
        return text.encode("utf-8")
    root = S3_ROOTS.get(shape.name, shape.name) if service == "s3" else str(shape.serialization.get("name", shape.name))
    return _structure_body("rest-xml", shape, output, root, headers)


def _header_text(member: Shape, value: Any) -> str:
    kind = member.type_name
    if kind == "timestamp":
        return str(format_timestamp(value, member.serialization.get("timestampFormat", RFC822)))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "list":
        items = [_header_text(list_member(member), item) for item in value]
        if list_member(member).type_name == "string":
            items = [_quote_list_item(item) for item in items]
        return ",".join(items)
    if kind == "string" and member.serialization.get("jsonvalue"):
        return b64encode(json.dumps(value, separators=(",", ":")))
    if kind == "blob":
        return b64encode(value)
    if kind in ("float", "double"):
        return str(format_float(float(value)))
    return str(value)


def _quote_list_item(item: str) -> str:
    """A header list item as botocore writes and reads one: quoted when it holds a comma or a quote."""
    if "," in item or '"' in item:
        return '"' + item.replace('"', '\\"') + '"'
    return item

"""AWS's wire protocols, driven by botocore's service models.

One parser turns any request of a modelled operation into its input shape's params (json,
query, rest-json, rest-xml), one serializer turns output dicts and :class:`AwsError` into the
service's responses. Everything derived from a model (routes, member tables, readers and
writers) is built once per service and shared by all requests.

SQS is served in two protocols from botocore's one (JSON) model: requests carrying
``X-Amz-Target`` speak JSON, form posts (``Action=SendMessage``) from older SDKs speak query
and are answered in query XML (see :mod:`.sqs_query`).
"""

from __future__ import annotations

from typing import Any

from botocore.model import OperationModel, ServiceModel

from ..context import HttpRequest, HttpResponse
from ..errors import AwsError
from . import models
from .errors import serialize_error_response
from .parse import parse_request
from .serialize import serialize_response

__all__ = ["parse", "protocol_of", "serialize", "serialize_error", "service_model", "target_prefixes"]


def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service`` (``s3``, ``sqs``, ...), loaded once and cached."""
    return models.service_model(service)


def target_prefixes() -> dict[str, str]:
    """``X-Amz-Target`` prefix (``DynamoDB_20120810``) -> service, for the served JSON services."""
    from ..services import SERVICES

    return models.target_prefixes(tuple(SERVICES))


def protocol_of(service: str, request: HttpRequest) -> str:
    """The protocol ``request`` speaks: the one botocore picks among the model's ``protocols``
    (CloudWatch lists smithy-rpc-v2-cbor, json and query: botocore speaks json), except for
    query-speaking clients (older SDKs) of a JSON service that also speaks query (SQS, CloudWatch)."""
    model = service_model(service)
    protocol = model.resolved_protocol
    if (
        protocol == "json"
        and (service == "sqs" or "query" in (model.metadata.get("protocols") or ()))
        and request.header("x-amz-target") is None
        and "json" not in (request.header("content-type") or "")
    ):
        return "query"
    return protocol


def parse(service: str, request: HttpRequest, protocol: str | None = None) -> tuple[OperationModel, dict[str, Any]]:
    """The operation ``request`` calls and its params (the input shape's members).

    Args:
        protocol: :func:`protocol_of` the request, if the caller has it.

    Raises:
        AwsError: as AWS answers an unknown operation, a malformed body or a missing member.
    """
    return parse_request(service, protocol or protocol_of(service, request), request)


def serialize(operation: OperationModel, output: dict[str, Any] | None, request_id: str, *, protocol: str | None = None) -> HttpResponse:
    """The response carrying ``output`` (the output shape's members) in the operation's protocol,
    or in ``protocol`` (``"query"`` for an SQS request that came as a form)."""
    protocol = protocol or operation.service_model.resolved_protocol
    if protocol == "query" and operation.service_model.resolved_protocol != "query":
        operation = models.query_variant(operation.service_model.service_name).operation_model(operation.name)
    return serialize_response(operation, output, request_id, protocol)


def serialize_error(
    service: str, error: AwsError, request_id: str, *, protocol: str | None = None, method: str | None = None
) -> HttpResponse:
    """``error`` as ``service`` answers it in ``protocol`` (its model's by default); a ``HEAD``
    ``method`` gets the status and headers only."""
    model = service_model(service)
    protocol = protocol or model.resolved_protocol
    if protocol == "query":
        model = models.query_variant(service)
    return serialize_error_response(model, error, request_id, protocol, head=(method or "").upper() == "HEAD")

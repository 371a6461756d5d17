"""botocore's service models, loaded once per service and shared by every request."""

from __future__ import annotations

import threading
from functools import cache

from botocore.loaders import Loader
from botocore.model import OperationModel, OperationNotFoundError, ServiceModel

from ..errors import AwsError
from . import sqs_query

__all__ = ["must_operation", "query_variant", "service_model", "target_prefixes", "unknown_operation"]

_lock = threading.Lock()
_models: dict[str, ServiceModel] = {}


@cache
def _loader() -> Loader:
    return Loader()


def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service`` (``s3``, ``sqs``, ...), loaded on first use."""
    found = _models.get(service)
    if found is not None:
        return found
    with _lock:
        found = _models.get(service)
        if found is None:
            found = ServiceModel(_loader().load_service_model(service, "service-2"), service_name=service)
            _models[service] = found
        return found


def query_variant(service: str) -> ServiceModel:
    """The model that answers ``service`` in the query protocol: its own, or SQS's rebuilt one."""
    model = service_model(service)
    if model.protocol == "query" or service != "sqs":
        return model
    key = f"{service}#query"
    found = _models.get(key)
    if found is not None:
        return found
    with _lock:
        found = _models.get(key)
        if found is None:
            raw = _loader().load_service_model(service, "service-2")
            found = ServiceModel(sqs_query.query_model(raw), service_name=service)
            _models[key] = found
        return found


def must_operation(model: ServiceModel, name: str, protocol: str) -> OperationModel:
    """The operation ``name`` of ``model``, or AWS's error for an operation it does not have."""
    try:
        return model.operation_model(name)
    except OperationNotFoundError:
        raise unknown_operation(protocol, name) from None


def target_prefixes(services: tuple[str, ...]) -> dict[str, str]:
    """``X-Amz-Target`` prefix -> service, for the JSON-protocol services among ``services``."""
    found: dict[str, str] = {}
    for service in services:
        prefix = service_model(service).metadata.get("targetPrefix")
        if prefix:
            found[prefix] = service
    return found


def unknown_operation(protocol: str, name: str) -> AwsError:
    """AWS's answer to an operation name its model does not have."""
    if protocol == "query":
        return AwsError("InvalidAction", f"The action {name} is not valid for this web service.", 400)
    return AwsError("UnknownOperationException", f"Unknown operation {name}", 400)

"""REST request validation: a method's request validator checks required parameters, then the body.

API Gateway checks, in this order and only what the method's validator asks for:

1. parameters: every ``method.request.{path,querystring,header}.NAME`` the method marks required
   must be present and not blank (API Gateway checks existence only, never a type or format);
   the missing ones are named, in the order of their full names: ``Missing required request
   parameters: [h1, q1]``;
2. the body: against the method's model for the request's content type (``$default`` when no
   model has that type; without a model the body is not checked), a JSON schema (draft 4). An
   empty body is checked as ``{}``; one that is not JSON fails: ``Invalid request body``.

Both answer 400 with ``x-amzn-ErrorType: BadRequestException``. Models are read here too: their
``$ref`` to other models (``#/definitions/X``, ``#/components/schemas/X`` or
``https://apigateway.amazonaws.com/restapis/{id}/models/X``) are resolved among the API's models;
any other reference is refused at start, never fetched.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs are published for it

from ..context import HttpResponse
from .model import BodyModel, RequestValidation
from .responses import HeaderList

logger = logging.getLogger(__name__)

__all__ = ["MODELS_KEY", "check_request", "model_schemas", "parameter_name", "refusal_of", "request_problem"]

MODELS_KEY = "x-sluiceway-models"
"""Where a model's schema carries the API's other models, for its ``$ref`` to them."""
_MODEL_URL = re.compile(r"^https?://apigateway\.amazonaws\.com/restapis/[^/]+/models/(?P<name>[^/#]+)$")
_DOCUMENT_REF = re.compile(r"^#/(definitions|components/schemas)/(?P<name>[^/]+)$")
_PARAMETER = re.compile(r"^method\.request\.(path|querystring|header)\.(?P<name>[^\s]+)$")
_DEFAULT_CONTENT_TYPE = "application/json"


def parameter_name(expression: str, where: str) -> str:
    """Check a ``method.request.{path,querystring,header}.NAME`` expression.

    Raises:
        ValueError: anything else (``method.request.body`` is not a parameter: models check bodies).
    """
    if not _PARAMETER.match(expression):
        raise ValueError(f"{where}: {expression!r} is not a request parameter (method.request.querystring|header|path.NAME)")
    return expression


def model_schemas(models: Mapping[str, Any], where: str, *, document_refs: bool) -> dict[str, dict[str, Any]]:
    """Each model's schema, ready to validate with: references to other models resolved among ``models``.

    Args:
        models: model name -> its JSON schema (a mapping, or JSON text as ``AWS::ApiGateway::Model`` allows).
        where: names the models in errors.
        document_refs: the models are an OpenAPI document's, whose ``#/definitions/X`` (``#/components/
            schemas/X``) name other models; in a model resource those name the schema's own definitions.

    Raises:
        ValueError: a schema that is not draft-4 JSON schema, or a reference outside the API's models.
    """
    parsed: dict[str, Any] = {}
    for name, schema in models.items():
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError:
                raise ValueError(f"{where}.{name}: the schema is not JSON") from None
        if not isinstance(schema, Mapping):
            raise ValueError(f"{where}.{name}: the schema must be a JSON object")
        parsed[str(name)] = _rewrite(schema, set(map(str, models)), f"{where}.{name}", document_refs)
    out: dict[str, dict[str, Any]] = {}
    for name, schema in parsed.items():
        full = {**schema, MODELS_KEY: parsed}
        try:
            jsonschema.Draft4Validator.check_schema(full)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"{where}.{name}: not a JSON schema (draft 4): {exc.message}") from None
        out[name] = full
    return out


def _rewrite(node: Any, names: set[str], where: str, document_refs: bool) -> Any:
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = _reference(value, names, where, document_refs)
            else:
                out[str(key)] = _rewrite(value, names, where, document_refs)
        return out
    if isinstance(node, list):
        return [_rewrite(item, names, where, document_refs) for item in node]
    return node


def _reference(ref: str, names: set[str], where: str, document_refs: bool) -> str:
    match = _MODEL_URL.match(ref) or (_DOCUMENT_REF.match(ref) if document_refs else None)
    if match is not None:
        if match["name"] not in names:
            raise ValueError(f"{where}: $ref {ref!r} names no model of the API")
        return f"#/{MODELS_KEY}/{match['name']}"
    if ref.startswith("#"):
        return ref  # inside the schema itself
    raise ValueError(f"{where}: $ref {ref!r} is outside the API's models (references are never fetched)")


def check_request(
    validation: RequestValidation,
    *,
    headers: Mapping[str, str],
    query: Mapping[str, list[str]],
    path_parameters: Mapping[str, str],
    body: bytes,
) -> HttpResponse | None:
    """API Gateway's 400 for a request the method's validator refuses, or None when it passes.

    Args:
        headers: lower-cased names.
        query: each query parameter's values.
    """
    problem = request_problem(validation, headers=headers, query=query, path_parameters=path_parameters, body=body)
    return _bad_request(problem[1]) if problem is not None else None


def request_problem(
    validation: RequestValidation,
    *,
    headers: Mapping[str, str],
    query: Mapping[str, list[str]],
    path_parameters: Mapping[str, str],
    body: bytes,
) -> tuple[str, str] | None:
    """Why the validator refuses the request: (gateway response type, message), or None when it passes.

    The type is ``BAD_REQUEST_PARAMETERS`` or ``BAD_REQUEST_BODY`` (``$context.error.responseType``).
    """
    if validation.validate_parameters:
        missing = [name for name in _missing(validation.required_parameters, headers, query, path_parameters)]
        if missing:
            return "BAD_REQUEST_PARAMETERS", f"Missing required request parameters: [{', '.join(missing)}]"
    if validation.validate_body:
        model = _model_for(validation.models, headers.get("content-type"))
        if model is not None and not _valid(model, body):
            return "BAD_REQUEST_BODY", "Invalid request body"
    return None


def refusal_of(problem: tuple[str, str]) -> HttpResponse:
    """API Gateway's 400 for a :func:`request_problem`."""
    return _bad_request(problem[1])


def _missing(
    required: tuple[str, ...], headers: Mapping[str, str], query: Mapping[str, list[str]], path_parameters: Mapping[str, str]
) -> list[str]:
    out: list[str] = []
    for expression in sorted(required):
        where, _, name = expression.removeprefix("method.request.").partition(".")
        if where == "header":
            values = [headers.get(name.lower(), "")]
        elif where == "querystring":
            values = query.get(name, [])
        else:
            values = [path_parameters.get(name, "")]
        if not any(v.strip() for v in values):
            out.append(name)
    return out


def _model_for(models: tuple[BodyModel, ...], content_type: str | None) -> BodyModel | None:
    media = (content_type or _DEFAULT_CONTENT_TYPE).split(";")[0].strip().lower()
    by_type = {m.content_type.lower(): m for m in models}
    return by_type.get(media) or by_type.get("$default")


def _valid(model: BodyModel, body: bytes) -> bool:
    try:
        instance = json.loads(body.decode("utf-8") if body else "{}")
    except (UnicodeDecodeError, ValueError, RecursionError):
        # RecursionError: nesting deeper than the parser goes; ValueError also covers an integer
        # of more digits than Python converts. Either is a body the model cannot accept.
        logger.info("api gateway: the request body is not JSON (model %s)", model.name)
        return False
    try:
        error = jsonschema.exceptions.best_match(jsonschema.Draft4Validator(model.schema).iter_errors(instance))
    except RecursionError:
        # Parsed, but nested too deeply for the validator to walk: it cannot be shown to match.
        logger.info("api gateway: the request body is nested too deeply to validate (model %s)", model.name)
        return False
    if error is not None:
        logger.info("api gateway: the request body does not match model %s: %s", model.name, error.message)
        return False
    return True


def _bad_request(message: str) -> HttpResponse:
    out = HeaderList()
    out["Content-Type"] = "application/json"
    out["x-amzn-ErrorType"] = "BadRequestException"
    return HttpResponse(400, out, json.dumps({"message": message}).encode())

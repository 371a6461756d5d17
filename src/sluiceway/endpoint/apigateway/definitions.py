"""Routes from an API definition: a swagger 2.0 or OpenAPI 3 ``Body`` with API Gateway's extensions.

SAM writes every ``Api``/``HttpApi`` event into such a body (``x-amazon-apigateway-integration``
per operation, ``securityDefinitions``/``securitySchemes`` for authorizers, ``x-amazon-apigateway-cors``
and ``x-amazon-apigateway-binary-media-types``); API Gateway imports it with the same meaning.
The CloudFormation resources (``AWS::ApiGateway::Method``, ``AWS::ApiGatewayV2::Integration``)
are read by :mod:`.resources` into the same extension dictionaries, so one reader serves both.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .arns import function_of
from .authorizer_definitions import authorizer_from_extension
from .model import (
    DEFAULT_ROUTE,
    ApiKind,
    Authorizer,
    BodyModel,
    Cors,
    Guard,
    Integration,
    IntegrationResponse,
    MockResponse,
    RequestValidation,
    Route,
)  # fmt: skip
from .nonproxy import read_target
from .service_integrations import check_subtype
from .validation import model_schemas

__all__ = [
    "Definition", "api_key_required_by", "guard_of", "integration_of", "key_source_of", "read_definition", "resource_id",
    "validators_of",
]  # fmt: skip

#: The OpenAPI operation keys API Gateway imports as methods.
METHODS = {
    "get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "options": "OPTIONS",
    "head": "HEAD", "patch": "PATCH", "x-amazon-apigateway-any-method": "ANY",
}  # fmt: skip

#: SAM's requirement for a route opted out of its API's default authorizer.
_NO_AUTH = "NONE"
_STATIC = re.compile(r"^'(?P<value>.*)'$", re.S)
_TEMPLATE_CODE = re.compile(r"[$#]")
#: API Gateway's limits on an integration's timeout: REST up to 29 s (by default), HTTP APIs 30 s.
_MAX_TIMEOUT_S = {"REST": 29.0, "HTTP": 30.0}


@dataclass
class Definition:
    """What a definition (or a set of resources) says about an API's routes."""

    routes: list[Route] = field(default_factory=list)
    cors: Cors | None = None
    binary_media_types: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    key_source: str | None = None
    """REST: ``x-amazon-apigateway-api-key-source`` (``HEADER`` or ``AUTHORIZER``), when the body says."""


def resource_id(api_id: str, path: str) -> str:
    """A REST resource's id: stable for a path of an API (API Gateway's are 6-10 lowercase alphanumerics)."""
    return hashlib.sha256(f"{api_id}{path}".encode()).hexdigest()[:6]


def read_definition(body: Mapping[str, Any], *, kind: ApiKind, api_id: str, where: str) -> Definition:
    """The routes of ``body`` (``where`` names the resource and field in errors, e.g. ``MyApi.Body``).

    Raises:
        ValueError: the body is not a swagger 2.0 or OpenAPI 3 document API Gateway can import.
    """
    if not isinstance(body, Mapping):
        raise ValueError(f"{where}: must be an OpenAPI document (a mapping)")
    if "swagger" not in body and "openapi" not in body:
        raise ValueError(f"{where}: neither 'swagger' (2.0) nor 'openapi' (3.x): not an API definition")
    paths = body.get("paths") or {}
    if not isinstance(paths, Mapping):
        raise ValueError(f"{where}.paths: must be a mapping of paths")
    schemes = body.get("securityDefinitions") or (body.get("components") or {}).get("securitySchemes") or {}
    default_security = body.get("security")
    authorizers: dict[str, Authorizer] = {}
    reading = _Validations(body, kind, where)
    found = Definition()
    for path, item in paths.items():
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}.paths.{path}: must be a mapping of operations")
        template = _route_path(str(path), kind, f"{where}.paths")
        for key, operation in item.items():
            method = METHODS.get(str(key).lower())
            if method is None:
                continue  # parameters, summaries, other extensions
            at = f"{where}.paths.{path}.{key}"
            if not isinstance(operation, Mapping):
                raise ValueError(f"{at}: must be a mapping")
            if template == DEFAULT_ROUTE:
                method = "*"
            raw = _deref(body, operation.get("x-amazon-apigateway-integration"), at)
            integration = integration_of(raw, kind=kind, where=f"{at}.x-amazon-apigateway-integration")
            security = operation.get("security", default_security)
            guard = guard_of(security, schemes, at, kind=kind, authorizers=authorizers)
            validation = reading.of(operation, item, at) if kind == "REST" else None
            # HTTP APIs have no API keys: an apiKey scheme there guards nothing API Gateway checks.
            keyed = kind == "REST" and api_key_required_by(security, schemes)
            ids = resource_id(api_id, template) if kind == "REST" else ""
            route = Route(method, template, integration, guard, ids, validation, api_key_required=keyed)
            found.routes.append(route)
    source = body.get("x-amazon-apigateway-api-key-source")
    if source is not None:
        found.key_source = key_source_of(source, f"{where}.x-amazon-apigateway-api-key-source")
    cors = body.get("x-amazon-apigateway-cors")
    if cors is not None:
        if kind == "REST":
            found.warnings.append(f"{where}.x-amazon-apigateway-cors: HTTP APIs only; a REST API answers CORS from its own OPTIONS methods")
        else:
            found.cors = cors_of(cors, f"{where}.x-amazon-apigateway-cors")
    binary = body.get("x-amazon-apigateway-binary-media-types") or []
    if not isinstance(binary, list) or not all(isinstance(t, str) for t in binary):
        raise ValueError(f"{where}.x-amazon-apigateway-binary-media-types: must be a list of media types")
    found.binary_media_types.extend(binary)
    if body.get("x-amazon-apigateway-gateway-responses"):
        what = "custom gateway responses are not applied: API Gateway's defaults answer"
        found.warnings.append(f"{where}.x-amazon-apigateway-gateway-responses: {what}")
    if kind == "HTTP" and body.get("x-amazon-apigateway-request-validators"):
        found.warnings.append(f"{where}.x-amazon-apigateway-request-validators: REST APIs only; an HTTP API does not validate requests")
    return found


def validators_of(raw: Any, where: str) -> dict[str, tuple[bool, bool]]:
    """``x-amazon-apigateway-request-validators``: name -> (validate body, validate parameters).

    Raises:
        ValueError: a validator that is not a mapping of booleans.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must map validator names to validators")
    out: dict[str, tuple[bool, bool]] = {}
    for name, validator in raw.items():
        if not isinstance(validator, Mapping):
            raise ValueError(f"{where}.{name}: must be a mapping")
        flags = [validator.get("validateRequestBody", False), validator.get("validateRequestParameters", False)]
        if not all(isinstance(f, bool) or str(f).lower() in ("true", "false") for f in flags):
            raise ValueError(f"{where}.{name}: validateRequestBody and validateRequestParameters must be booleans")
        body, parameters = (f is True or str(f).lower() == "true" for f in flags)
        out[str(name)] = (body, parameters)
    return out


class _Validations:
    """A REST definition's request validators and models, and what each operation asks of them.

    An operation's validator is its ``x-amazon-apigateway-request-validator`` or the document's; its
    required parameters are the ``required`` query, header and path parameters (of the operation and
    its path); its models are its body parameter's schema (swagger 2.0, one per ``consumes`` type) or
    its ``requestBody`` content (OpenAPI 3).
    """

    def __init__(self, body: Mapping[str, Any], kind: ApiKind, where: str) -> None:
        self._body = body
        self._where = where
        self._validators = validators_of(
            body.get("x-amazon-apigateway-request-validators"), f"{where}.x-amazon-apigateway-request-validators"
        )
        self._default = body.get("x-amazon-apigateway-request-validator")
        models = body.get("definitions") or (body.get("components") or {}).get("schemas") or {}
        if not isinstance(models, Mapping):
            raise ValueError(f"{where}.definitions: must map model names to schemas")
        self._raw_models = {str(k): v for k, v in models.items()}
        self._models = model_schemas(self._raw_models, f"{where}.definitions", document_refs=True) if kind == "REST" else {}
        consumes = body.get("consumes") or ["application/json"]
        self._consumes = [str(c) for c in consumes] if isinstance(consumes, list) else ["application/json"]

    def of(self, operation: Mapping[str, Any], item: Mapping[str, Any], at: str) -> RequestValidation | None:
        name = operation.get("x-amazon-apigateway-request-validator", self._default)
        if name is None:
            return None
        if name not in self._validators:
            raise ValueError(f"{at}.x-amazon-apigateway-request-validator: {name!r} is not in x-amazon-apigateway-request-validators")
        validate_body, validate_parameters = self._validators[str(name)]
        required: list[str] = []
        models: list[BodyModel] = []
        parameters = {}
        for source in (item.get("parameters"), operation.get("parameters")):
            for parameter in source or []:
                parameter = _deref(self._body, parameter, f"{at}.parameters")
                if isinstance(parameter, Mapping):
                    parameters[(parameter.get("in"), parameter.get("name"))] = parameter
        for (place, pname), parameter in parameters.items():
            where_ = {"query": "querystring", "header": "header", "path": "path"}.get(str(place))
            if where_ is not None and parameter.get("required") is True:
                required.append(f"method.request.{where_}.{pname}")
            elif place == "body" and isinstance(parameter.get("schema"), Mapping):
                consumes = operation.get("consumes") or self._consumes
                models += [self._model(content_type, parameter["schema"], at) for content_type in consumes]
        request_body = _deref(self._body, operation.get("requestBody"), f"{at}.requestBody")
        content = request_body.get("content") if isinstance(request_body, Mapping) else None
        for content_type, media in (content or {}).items():
            if isinstance(media, Mapping) and isinstance(media.get("schema"), Mapping):
                models.append(self._model(str(content_type), media["schema"], at))
        return RequestValidation(str(name), validate_body, validate_parameters, tuple(required), tuple(models))

    def _model(self, content_type: str, schema: Mapping[str, Any], at: str) -> BodyModel:
        ref = schema.get("$ref") if set(schema) == {"$ref"} else None
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if ref not in (f"#/definitions/{name}", f"#/components/schemas/{name}") or name not in self._models:
                raise ValueError(f"{at}: the body schema $ref {ref!r} names no model of the definition")
            return BodyModel(content_type, name, self._models[name])
        # An inline schema: API Gateway's import makes a model of it.
        inline = f"{at}#body"
        schemas = model_schemas({**self._raw_models, inline: schema}, f"{self._where}.definitions", document_refs=True)
        return BodyModel(content_type, inline, schemas[inline])


def _route_path(path: str, kind: ApiKind, where: str) -> str:
    if kind == "HTTP" and path in (DEFAULT_ROUTE, "/" + DEFAULT_ROUTE):
        return DEFAULT_ROUTE
    if not path.startswith("/"):
        raise ValueError(f"{where}.{path}: a path must start with '/'")
    for segment in path.split("/")[1:-1]:
        if segment.endswith("+}"):
            raise ValueError(f"{where}.{path}: a greedy path variable ({segment}) must be the last segment")
    return path


def _deref(body: Mapping[str, Any], value: Any, where: str) -> Any:
    """An HTTP API's ``$ref`` to ``#/components/x-amazon-apigateway-integrations/<name>``, followed."""
    if isinstance(value, Mapping) and set(value) == {"$ref"}:
        ref = value["$ref"]
        node: Any = body
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"{where}: only local references (#/...) are read, not {ref!r}")
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, Mapping) else None
        if node is None:
            raise ValueError(f"{where}: the reference {ref!r} names nothing in the definition")
        return node
    return value


def integration_of(raw: Any, *, kind: ApiKind, where: str) -> Integration:
    """An ``x-amazon-apigateway-integration`` (or a resource's integration, spelled the same way) read.

    Raises:
        ValueError: a Lambda proxy whose ``uri`` names no function, a malformed timeout or parameter map.
    """
    if raw is None:
        return Integration("unsupported", reason="no integration (x-amazon-apigateway-integration)")
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping")
    type_ = str(raw.get("type", "")).lower()
    timeout_s = _timeout(raw.get("timeoutInMillis"), kind, where)
    subtype = raw.get("integrationSubtype")
    if type_ == "aws_proxy" and subtype:
        if kind == "REST":
            raise ValueError(f"{where}.integrationSubtype: HTTP APIs only")
        parameters = raw.get("requestParameters") or {}
        if not isinstance(parameters, Mapping) or not all(isinstance(v, str) for v in parameters.values()):
            raise ValueError(f"{where}.requestParameters: must map parameter names to strings")
        reason = check_subtype(str(subtype), parameters, where)
        if reason is not None:
            return Integration("unsupported", subtype=str(subtype), reason=reason)
        return Integration("service", subtype=str(subtype), parameters=dict(parameters), timeout_s=timeout_s)
    if type_ == "aws_proxy":
        uri = raw.get("uri")
        function = function_of(uri)
        if function is None:
            if isinstance(uri, str) and "${stageVariables." in uri:
                return Integration("unsupported", reason=f"a Lambda named by a stage variable ({uri}) is not resolved locally")
            expected = "arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations"
            raise ValueError(f"{where}.uri: {uri!r} names no Lambda function ({expected}, or a function ARN)")
        version = str(raw.get("payloadFormatVersion", "1.0"))
        if version not in ("1.0", "2.0") or (kind == "REST" and version != "1.0"):
            raise ValueError(f"{where}.payloadFormatVersion: {version!r} is not a payload format of a {kind} API's Lambda proxy")
        # A REST proxy's request parameters may set Lambda's X-Amz-Tenant-Id (tenant isolation); an HTTP API's cannot.
        parameters = _string_map(raw.get("requestParameters"), f"{where}.requestParameters") if kind == "REST" else {}
        return Integration(
            "lambda",
            function_arn=function,
            payload_format="2.0" if version == "2.0" else "1.0",
            timeout_s=timeout_s,
            parameters=parameters,
        )
    if type_ == "mock" and kind == "REST":
        static = _mock(raw, where)
        # A mock whose templates are code runs through the template engine like any non-proxy integration.
        return _template_integration(raw, "mock", where, timeout_s) if static.kind == "unsupported" and "VTL" in static.reason else static
    if type_ == "aws" and kind == "REST":
        return _aws_integration(raw, where, timeout_s)
    shown = type_ or "(none)"
    if type_ in ("http", "http_proxy"):
        why = f"an {type_.upper()} integration to {raw.get('uri')!r} is not forwarded locally"
    else:
        why = f"integration type {shown} is not served locally"
    return Integration("unsupported", reason=why, timeout_s=timeout_s)


def _aws_integration(raw: Mapping[str, Any], where: str, timeout_s: float) -> Integration:
    """A REST ``aws`` (non-proxy) integration: a Lambda function or a service action, through mapping templates."""
    uri = raw.get("uri")
    function = function_of(uri)
    if function is not None:
        return _template_integration(raw, "lambda", where, timeout_s, function_arn=function)
    target = read_target(uri, where)
    if isinstance(target, str):
        return Integration("unsupported", reason=target, timeout_s=timeout_s)
    service, action, path = target
    return _template_integration(raw, service, where, timeout_s, action=action, service_path=path)


def _template_integration(
    raw: Mapping[str, Any], target: str, where: str, timeout_s: float, *, function_arn: str | None = None, action: str = "",
    service_path: str = "",
) -> Integration:  # fmt: skip
    templates = _string_map(raw.get("requestTemplates"), f"{where}.requestTemplates")
    parameters = _string_map(raw.get("requestParameters"), f"{where}.requestParameters")
    passthrough = str(raw.get("passthroughBehavior") or "WHEN_NO_MATCH").upper()
    if passthrough not in ("WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"):
        raise ValueError(f"{where}.passthroughBehavior: {passthrough!r} is not WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER")
    responses: list[IntegrationResponse] = []
    raw_responses = raw.get("responses") or {}
    if not isinstance(raw_responses, Mapping):
        raise ValueError(f"{where}.responses: must be a mapping")
    for pattern, response in raw_responses.items():
        if not isinstance(response, Mapping):
            raise ValueError(f"{where}.responses.{pattern}: must be a mapping")
        try:
            status = int(response.get("statusCode", 200))
        except (TypeError, ValueError):
            raise ValueError(f"{where}.responses.{pattern}.statusCode: not a status code") from None
        selection = None if pattern == "default" else str(pattern)
        if selection is not None:
            try:
                re.compile(selection)
            except re.error as exc:
                raise ValueError(f"{where}.responses.{pattern}: not a regular expression ({exc})") from None
        responses.append(
            IntegrationResponse(
                status, selection, _string_map(response.get("responseParameters"), f"{where}.responses.{pattern}.responseParameters"),
                _string_map(response.get("responseTemplates"), f"{where}.responses.{pattern}.responseTemplates"),
            )
        )  # fmt: skip
    # Templates are not checked here: API Gateway takes any text and fails the request (500) that
    # runs one it cannot render.
    return Integration(
        "template", function_arn=function_arn, target=target, action=action, service_path=service_path,
        request_templates=templates, parameters=parameters, passthrough=passthrough, responses=tuple(responses),
        timeout_s=timeout_s,
    )  # fmt: skip


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: must be a mapping")
    # YAML reads a template like {"statusCode": 200} as a mapping: API Gateway takes its JSON text.
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items() if v is not None}


def _timeout(value: Any, kind: ApiKind, where: str) -> float:
    limit = _MAX_TIMEOUT_S[kind]
    if value is None:
        return limit
    try:
        millis = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}.timeoutInMillis: {value!r} is not a number of milliseconds") from None
    if not 50 <= millis <= limit * 1000:
        raise ValueError(f"{where}.timeoutInMillis: {millis} is outside 50-{int(limit * 1000)}")
    return millis / 1000.0


def _mock(raw: Mapping[str, Any], where: str) -> Integration:
    """A ``mock`` integration whose templates are static text: SAM's CORS preflight methods are these."""
    templates = raw.get("requestTemplates") or {}
    template = templates.get("application/json") if isinstance(templates, Mapping) else None
    status = 200
    if template:
        if _TEMPLATE_CODE.search(str(template)):
            return Integration("unsupported", reason="a mock integration with VTL request templates is not served locally")
        try:
            status = int(json.loads(template)["statusCode"])
        except (ValueError, KeyError, TypeError):
            return Integration("unsupported", reason="a mock integration's request template sets no statusCode")
    responses: list[MockResponse] = []
    for pattern, response in (raw.get("responses") or {}).items():
        if not isinstance(response, Mapping):
            raise ValueError(f"{where}.responses.{pattern}: must be a mapping")
        headers: dict[str, str] = {}
        for name, value in (response.get("responseParameters") or {}).items():
            static = _STATIC.match(str(value))
            if not str(name).startswith("method.response.header.") or static is None:
                return Integration("unsupported", reason=f"mock response parameter {name}: {value} is not a static header value")
            headers[str(name).removeprefix("method.response.header.")] = static["value"]
        body_templates = response.get("responseTemplates") or {}
        body = str(body_templates.get("application/json", "")) if isinstance(body_templates, Mapping) else ""
        if _TEMPLATE_CODE.search(body):
            return Integration("unsupported", reason="a mock integration with VTL response templates is not served locally")
        try:
            code = int(response.get("statusCode", 200))
        except (TypeError, ValueError):
            raise ValueError(f"{where}.responses.{pattern}.statusCode: not a status code") from None
        selection = None if pattern == "default" else str(pattern)
        responses.append(MockResponse(code, selection, headers, body))
    return Integration("mock", mock_status=status, mock_responses=tuple(responses))


def guard_of(
    security: Any, schemes: Any, where: str, *, kind: ApiKind = "REST", authorizers: dict[str, Authorizer] | None = None
) -> Guard | None:
    """What a route's ``security`` requirement asks for, or None for an open route.

    Only two requirements leave a route open: SAM's ``NONE`` marker (``security: [{NONE: []}]``, a
    route opted out of a default authorizer; no scheme is named NONE) and an empty requirement
    ``{}`` (OpenAPI's "no authentication"). Any other scheme the definition does not define is a
    mistake (``MyAuht`` for ``MyAuth``): its guard has no authorizer, so the route refuses every
    request rather than open what its author meant to guard (:mod:`.resources` lists it among the
    API's warnings). A requirement's list is the route's authorization scopes (``[{MyAuth: ["s/read"]}]``).

    Args:
        authorizers: authorizers already read, by scheme name (each is read once per definition).
    """
    if security is None:
        return None
    if not isinstance(security, list):
        raise ValueError(f"{where}.security: must be a list of requirements")
    schemes = schemes if isinstance(schemes, Mapping) else {}
    known = authorizers if authorizers is not None else {}
    for requirement in security:
        if not isinstance(requirement, Mapping):
            raise ValueError(f"{where}.security: each requirement must be a mapping")
        guards: list[Guard] = []
        for name, scopes in requirement.items():
            scheme = schemes.get(name)
            if name == _NO_AUTH and scheme is None:
                continue
            if not isinstance(scheme, Mapping):
                guards.append(Guard("authorizer", str(name)))  # no authorizer: refuses
                continue
            if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
                raise ValueError(f"{where}.security.{name}: must be a list of scopes")
            if "x-amazon-apigateway-authorizer" in scheme:
                if name not in known:
                    known[str(name)] = authorizer_from_extension(str(name), scheme, kind, f"securitySchemes.{name}")
                guards.append(Guard("authorizer", str(name), known[str(name)], tuple(scopes)))
            elif str(scheme.get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4":
                guards.append(Guard("iam", str(name)))
            elif _is_api_key(scheme):
                continue  # checked on its own, after the guard (api_key_required_by)
            else:
                guards.append(Guard("authorizer", str(name)))  # a scheme we cannot tell: refuse rather than guess
        if guards:
            # Every scheme of one requirement applies, and a method has one authorization type: the
            # IAM one, or an authorizer that is not defined (it refuses whatever the others say), wins.
            return next((g for g in guards if g.kind != "authorizer" or g.authorizer is None), guards[0])
    return None


def api_key_required_by(security: Any, schemes: Any) -> bool:
    """Whether a route's ``security`` names API Gateway's API key scheme (``{type: apiKey, name: x-api-key, in: header}``).

    API Gateway imports such a requirement as the method's ``apiKeyRequired`` (SAM writes
    ``security: [{api_key: []}]``, beside the authorizer's scheme when there is one).
    """
    if not isinstance(security, list) or not isinstance(schemes, Mapping):
        return False
    return any(isinstance(r, Mapping) and any(_is_api_key(schemes.get(name)) for name in r) for r in security)


def _is_api_key(scheme: Any) -> bool:
    return (
        isinstance(scheme, Mapping)
        and "x-amazon-apigateway-authorizer" not in scheme
        and str(scheme.get("type", "")).lower() == "apikey"
        and str(scheme.get("name", "")).lower() == "x-api-key"
    )


def key_source_of(value: Any, where: str) -> str:
    """``HEADER`` or ``AUTHORIZER`` (an API's ``ApiKeySourceType``), upper-cased as API Gateway accepts it.

    Raises:
        ValueError: any other value.
    """
    source = str(value).upper()
    if source not in ("HEADER", "AUTHORIZER"):
        raise ValueError(f"{where}: {value!r} is not HEADER or AUTHORIZER")
    return source


def cors_of(raw: Any, where: str) -> Cors:
    """``x-amazon-apigateway-cors`` (camelCase) or ``CorsConfiguration`` (PascalCase) read."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping")
    value = {str(k)[:1].lower() + str(k)[1:]: v for k, v in raw.items()}

    def strings(key: str) -> tuple[str, ...]:
        items = value.get(key) or []
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"{where}.{key}: must be a list of strings")
        return tuple(items)

    max_age = value.get("maxAge")
    if max_age is not None:
        try:
            max_age = int(max_age)
        except (TypeError, ValueError):
            raise ValueError(f"{where}.maxAge: {max_age!r} is not a number of seconds") from None
        if not -1 <= max_age <= 86400:
            raise ValueError(f"{where}.maxAge: {max_age} is outside -1-86400")
    credentials = value.get("allowCredentials", False)
    if isinstance(credentials, str):
        credentials = credentials.lower() == "true"
    return Cors(
        allow_origins=strings("allowOrigins"),
        allow_methods=tuple(m.upper() for m in strings("allowMethods")),
        allow_headers=tuple(h.lower() for h in strings("allowHeaders")),
        expose_headers=tuple(h.lower() for h in strings("exposeHeaders")),
        max_age=max_age,
        allow_credentials=bool(credentials),
    )

"""``apis_from_resources``: the APIs of a transformed, resolved template.

Reads ``AWS::ApiGateway::RestApi`` (a ``Body``, or ``Resource``/``Method`` resources) with its
``Stage`` and ``Deployment`` resources, and ``AWS::ApiGatewayV2::Api`` (a ``Body``, quick-create
``Target``, or ``Route``/``Integration`` resources) with its ``Stage`` resources. Children name
their API by its physical id (a resolved ``Ref``). What is read but not served is listed in
``Api.warnings``; what cannot be read raises ``ValueError`` naming the resource and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .access_log_format import access_log_of
from .authorizer_definitions import authorizer_from_resource
from .definitions import Definition, cors_of, integration_of, key_source_of, read_definition, resource_id
from .import_variables import resolve_import_variables
from .model import DEFAULT_ROUTE, AccessLog, Api, ApiKind, Authorizer, BodyModel, Guard, Integration, RequestValidation, Route, Stage
from .usage_plans import KeyCatalog, catalog_from_resources
from .validation import model_schemas, parameter_name

__all__ = ["apis_from_resources"]

REST_API = "AWS::ApiGateway::RestApi"
HTTP_API = "AWS::ApiGatewayV2::Api"
_API_ID = re.compile(r"^[a-z0-9]{1,64}$")
_METHOD = re.compile(r"^(ANY|GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS)$")
_ROUTE_KEY = re.compile(r"^(?P<method>[A-Z]+|ANY) (?P<path>/\S*)$")
_INTEGRATION_TARGET = re.compile(r"^integrations/(?P<id>\S+)$")

Resources = Mapping[str, Mapping[str, Any]]


def apis_from_resources(resources: Resources, physical_ids: Mapping[str, str], *, region: str, account_id: str) -> list[Api]:
    """One :class:`Api` per REST and HTTP API of the template, with its routes, stages and CORS.

    Args:
        resources: logical id -> ``{"Type", "Properties"}`` of the transformed template, intrinsics resolved.
        physical_ids: logical id -> physical id (an API's id: lowercase letters and digits).
        region: the stack's region (in events and ARNs).
        account_id: the stack's account.

    Raises:
        ValueError: a property that cannot be read, named as ``Resource.Property``.
    """
    apis: list[Api] = []
    catalog = catalog_from_resources(resources, physical_ids)
    by_physical = {physical_ids.get(logical): logical for logical in resources}
    children: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for logical, resource in resources.items():
        props = _props(logical, resource)
        owner = props.get("RestApiId") or props.get("ApiId")
        if isinstance(owner, str) and str(resource.get("Type", "")).startswith(("AWS::ApiGateway::", "AWS::ApiGatewayV2::")):
            children.setdefault(by_physical.get(owner, owner), []).append((logical, resource))
    for logical, resource in resources.items():
        kind = resource.get("Type")
        if kind not in (REST_API, HTTP_API):
            continue
        api_id = physical_ids.get(logical)
        if not isinstance(api_id, str) or not _API_ID.match(api_id):
            raise ValueError(f"{logical}: its physical id {api_id!r} is not an API id (lowercase letters and digits)")
        mine = children.get(logical, []) + children.get(api_id, [])
        if kind == REST_API:
            apis.append(_rest_api(logical, api_id, _props(logical, resource), mine, physical_ids, region, account_id, catalog))
        else:
            apis.append(_http_api(logical, api_id, _props(logical, resource), mine, physical_ids, region, account_id, catalog))
    if apis:
        apis[0].warnings.extend(catalog.warnings)
    return apis


def _props(logical: str, resource: Mapping[str, Any]) -> Mapping[str, Any]:
    props = resource.get("Properties") or {}
    if not isinstance(props, Mapping):
        raise ValueError(f"{logical}.Properties: must be a mapping")
    return props


def _body(logical: str, props: Mapping[str, Any], kind: str, api_id: str, region: str, account_id: str) -> Definition:
    if props.get("BodyS3Location") is not None and props.get("Body") is None:
        raise ValueError(f"{logical}.BodyS3Location: the definition must be inlined as Body (read DefinitionUri/BodyS3Location first)")
    body = props.get("Body")
    if body is None:
        return Definition()
    # Documented for REST API import; HTTP API import (ImportApi) is taken to resolve the same variables,
    # not confirmed against AWS. The stack's partition is aws, as the deployer's AWS::Partition.
    body = resolve_import_variables(body, region=region, account_id=account_id)
    return read_definition(body, kind="REST" if kind == REST_API else "HTTP", api_id=api_id, where=f"{logical}.Body")


def _variables(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: must map names to strings")
    return {str(k): str(v) for k, v in value.items()}


# --------------------------------------------------------------------------- REST APIs


def _rest_api(
    logical: str,
    api_id: str,
    props: Mapping[str, Any],
    children: list[tuple[str, Mapping[str, Any]]],
    physical_ids: Mapping[str, str],
    region: str,
    account_id: str,
    catalog: KeyCatalog,
) -> Api:
    found = _body(logical, props, REST_API, api_id, region, account_id)
    binary = props.get("BinaryMediaTypes") or []
    if not isinstance(binary, list):
        raise ValueError(f"{logical}.BinaryMediaTypes: must be a list of media types")
    # CloudFormation spells '/' as '~1' in BinaryMediaTypes (a JSON-pointer escape).
    found.binary_media_types.extend(str(t).replace("~1", "/") for t in binary)
    paths = _resource_paths(children, physical_ids)
    parts = _RestParts.read(children, physical_ids)
    stages: dict[str, Stage] = {}
    for child, resource in children:
        props_ = _props(child, resource)
        kind = resource.get("Type")
        if kind == "AWS::ApiGateway::Method":
            found.routes.append(_rest_method(child, props_, paths, api_id, parts))
        elif kind == "AWS::ApiGateway::Stage":
            name = _stage_name(child, props_.get("StageName"))
            access_log = _access_log(props_.get("AccessLogSetting"), f"{child}.AccessLogSetting", found.warnings, "REST")
            stages[name] = Stage(name, _variables(props_.get("Variables"), f"{child}.Variables"), access_log)
        elif kind == "AWS::ApiGateway::Deployment" and props_.get("StageName"):
            # A deployment with a StageName creates that stage too (SAM's implicit "Stage" stage).
            name = _stage_name(child, props_["StageName"])
            described = props_.get("StageDescription") or {}
            declared = described.get("Variables") if isinstance(described, Mapping) else None
            variables = _variables(declared, f"{child}.StageDescription.Variables")
            settings = described.get("AccessLogSetting") if isinstance(described, Mapping) else None
            access_log = _access_log(settings, f"{child}.StageDescription.AccessLogSetting", found.warnings, "REST")
            stages.setdefault(name, Stage(name, variables, access_log))
    warnings = found.warnings
    _route_warnings(logical, found.routes, warnings, "REST")
    if not stages:
        warnings.append(f"{logical}: no stage (AWS::ApiGateway::Stage or a Deployment's StageName): the API is not invokable")
    # The property wins over the body's extension, as API Gateway applies a RestApi's properties after importing its Body.
    declared = props.get("ApiKeySourceType")
    source = key_source_of(declared, f"{logical}.ApiKeySourceType") if declared is not None else found.key_source or "HEADER"
    _key_warnings(logical, api_id, found.routes, stages, catalog, source, warnings)
    return Api(
        api_id=api_id,
        logical_id=logical,
        kind="REST",
        name=str(props.get("Name") or logical),
        region=region,
        account_id=account_id,
        routes=_unique(logical, found.routes),
        stages=tuple(stages.values()),
        binary_media_types=tuple(dict.fromkeys(found.binary_media_types)),
        key_source="AUTHORIZER" if source == "AUTHORIZER" else "HEADER",
        usage=catalog,
        warnings=warnings,
    )


def _stage_name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", value):
        raise ValueError(f"{where}.StageName: {value!r} is not a stage name (letters, digits, - and _)")
    return value


def _resource_paths(children: list[tuple[str, Mapping[str, Any]]], physical_ids: Mapping[str, str]) -> dict[str, str]:
    """Resource physical id -> its path. A ParentId naming no Resource is the API's root resource."""
    parts: dict[str, tuple[str, str]] = {}
    for child, resource in children:
        if resource.get("Type") != "AWS::ApiGateway::Resource":
            continue
        props = _props(child, resource)
        part = props.get("PathPart")
        if not isinstance(part, str) or not re.fullmatch(r"[A-Za-z0-9._~:@!$&'()*,;=-]+|\{[A-Za-z0-9._-]+\+?\}", part):
            raise ValueError(f"{child}.PathPart: {part!r} is not a path segment")
        parts[physical_ids.get(child, child)] = (str(props.get("ParentId", "")), part)

    def path_of(physical: str, seen: tuple[str, ...] = ()) -> str:
        if physical not in parts:
            return ""
        if physical in seen:
            raise ValueError(f"AWS::ApiGateway::Resource {physical}: its ParentId chain is a cycle")
        parent, part = parts[physical]
        return f"{path_of(parent, (*seen, physical))}/{part}"

    return {physical: path_of(physical) for physical in parts}


class _RestParts:
    """A REST API's authorizers, request validators and models declared as resources, by physical id."""

    def __init__(
        self, authorizers: dict[str, Authorizer], validators: dict[str, tuple[str, bool, bool]], models: dict[str, dict[str, Any]]
    ) -> None:
        self.authorizers = authorizers
        self.validators = validators
        self.models = models
        """Model name (and physical id) -> its schema, references resolved."""

    @classmethod
    def read(cls, children: list[tuple[str, Mapping[str, Any]]], physical_ids: Mapping[str, str]) -> _RestParts:
        authorizers: dict[str, Authorizer] = {}
        validators: dict[str, tuple[str, bool, bool]] = {}
        raw_models: dict[str, Any] = {}
        aliases: dict[str, str] = {}
        for child, resource in children:
            props = _props(child, resource)
            kind = resource.get("Type")
            physical = physical_ids.get(child, child)
            if kind == "AWS::ApiGateway::Authorizer":
                authorizers[physical] = authorizer_from_resource(child, props, "REST")
            elif kind == "AWS::ApiGateway::RequestValidator":
                flags = (_flag(props.get("ValidateRequestBody"), f"{child}.ValidateRequestBody"),
                         _flag(props.get("ValidateRequestParameters"), f"{child}.ValidateRequestParameters"))  # fmt: skip
                validators[physical] = (str(props.get("Name") or child), *flags)
            elif kind == "AWS::ApiGateway::Model":
                name = str(props.get("Name") or child)
                raw_models[name] = props.get("Schema") or {}
                aliases[physical] = name  # a Model's Ref is its name on AWS; either spelling finds it
        models = model_schemas(raw_models, "AWS::ApiGateway::Model", document_refs=False)
        models.update({alias: models[name] for alias, name in aliases.items()})
        return cls(authorizers, validators, models)


def _flag(value: Any, where: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ValueError(f"{where}: {value!r} is not a boolean")


def _rest_method(logical: str, props: Mapping[str, Any], paths: Mapping[str, str], api_id: str, parts: _RestParts) -> Route:
    method = str(props.get("HttpMethod", "")).upper()
    if not _METHOD.match(method):
        raise ValueError(f"{logical}.HttpMethod: {props.get('HttpMethod')!r} is not an HTTP method or ANY")
    path = paths.get(str(props.get("ResourceId", "")), "") or "/"
    raw = props.get("Integration")
    integration = integration_of(_rest_integration(raw, f"{logical}.Integration"), kind="REST", where=f"{logical}.Integration")
    guard = _guard(logical, props, parts.authorizers, "REST")
    keyed = _flag(props.get("ApiKeyRequired"), f"{logical}.ApiKeyRequired")
    validation = _rest_validation(logical, props, parts)
    return Route(method, path, integration, guard, resource_id(api_id, path), validation, api_key_required=keyed)


def _guard(logical: str, props: Mapping[str, Any], authorizers: Mapping[str, Authorizer], kind: ApiKind) -> Guard | None:
    authorization = str(props.get("AuthorizationType") or "NONE").upper()
    if authorization == "NONE":
        return None
    if authorization == "AWS_IAM":
        return Guard("iam", "AWS_IAM")
    scopes = props.get("AuthorizationScopes") or []
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValueError(f"{logical}.AuthorizationScopes: must be a list of scopes")
    expected = {"REST": ("CUSTOM", "COGNITO_USER_POOLS"), "HTTP": ("JWT", "CUSTOM")}[kind]
    if authorization not in expected:
        raise ValueError(f"{logical}.AuthorizationType: {authorization} is not one of NONE, AWS_IAM, {', '.join(expected)}")
    authorizer_id = str(props.get("AuthorizerId") or "")
    authorizer = authorizers.get(authorizer_id)
    if authorizer is not None:
        wanted = {"COGNITO_USER_POOLS": ("COGNITO_USER_POOLS",), "JWT": ("JWT",), "CUSTOM": ("TOKEN", "REQUEST")}[authorization]
        if authorizer.type not in wanted:
            raise ValueError(f"{logical}.AuthorizationType: {authorization} does not fit authorizer {authorizer_id} ({authorizer.type})")
    # An AuthorizerId that names no authorizer of the API leaves a guard without one: it refuses.
    return Guard("authorizer", authorizer_id or authorization, authorizer, tuple(scopes))


def _rest_validation(logical: str, props: Mapping[str, Any], parts: _RestParts) -> RequestValidation | None:
    validator_id = props.get("RequestValidatorId")
    if not validator_id:
        return None
    if str(validator_id) not in parts.validators:
        raise ValueError(f"{logical}.RequestValidatorId: {validator_id!r} names no AWS::ApiGateway::RequestValidator of the API")
    name, validate_body, validate_parameters = parts.validators[str(validator_id)]
    parameters = props.get("RequestParameters") or {}
    if not isinstance(parameters, Mapping):
        raise ValueError(f"{logical}.RequestParameters: must map parameters to booleans")
    named = {parameter_name(str(k), f"{logical}.RequestParameters"): v for k, v in parameters.items()}
    required = tuple(k for k, v in named.items() if _flag(v, f"{logical}.RequestParameters.{k}"))
    declared = props.get("RequestModels") or {}
    if not isinstance(declared, Mapping):
        raise ValueError(f"{logical}.RequestModels: must map content types to model names")
    models: list[BodyModel] = []
    for content_type, model in declared.items():
        if str(model) == "Empty" and "Empty" not in parts.models:
            # API Gateway's built-in Empty model: any JSON object.
            schema: dict[str, Any] = {"$schema": "http://json-schema.org/draft-04/schema#", "title": "Empty Schema", "type": "object"}
            models.append(BodyModel(str(content_type), "Empty", schema))
        elif str(model) in parts.models:
            models.append(BodyModel(str(content_type), str(model), parts.models[str(model)]))
        else:
            raise ValueError(f"{logical}.RequestModels.{content_type}: {model!r} names no AWS::ApiGateway::Model of the API")
    return RequestValidation(name, validate_body, validate_parameters, required, tuple(models))


def _rest_integration(raw: Any, where: str) -> Any:
    """A Method's ``Integration`` spelled as the ``x-amazon-apigateway-integration`` extension."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping")
    responses: dict[str, Any] = {}
    for index, response in enumerate(raw.get("IntegrationResponses") or []):
        if not isinstance(response, Mapping):
            raise ValueError(f"{where}.IntegrationResponses[{index}]: must be a mapping")
        responses[str(response.get("SelectionPattern") or "default")] = {
            "statusCode": response.get("StatusCode", 200),
            "responseParameters": response.get("ResponseParameters") or {},
            "responseTemplates": response.get("ResponseTemplates") or {},
        }
    return {
        "type": raw.get("Type"),
        "uri": raw.get("Uri"),
        "timeoutInMillis": raw.get("TimeoutInMillis"),
        "requestTemplates": raw.get("RequestTemplates") or {},
        "requestParameters": raw.get("RequestParameters") or {},
        "passthroughBehavior": raw.get("PassthroughBehavior"),
        "responses": responses,
    }


# --------------------------------------------------------------------------- HTTP APIs


def _http_api(
    logical: str,
    api_id: str,
    props: Mapping[str, Any],
    children: list[tuple[str, Mapping[str, Any]]],
    physical_ids: Mapping[str, str],
    region: str,
    account_id: str,
    catalog: KeyCatalog,
) -> Api:
    protocol = str(props.get("ProtocolType") or "HTTP").upper()
    if protocol != "HTTP":
        return Api(api_id, logical, "HTTP", str(props.get("Name") or logical), region, account_id,
                   warnings=[f"{logical}.ProtocolType: {protocol} APIs are not served locally"])  # fmt: skip
    found = _body(logical, props, HTTP_API, api_id, region, account_id)
    if props.get("CorsConfiguration") is not None:
        found.cors = cors_of(props["CorsConfiguration"], f"{logical}.CorsConfiguration")
    stages: dict[str, Stage] = {}
    if props.get("Target") is not None:
        # Quick create: one route (RouteKey, $default by default) to the target, and a $default stage.
        key = str(props.get("RouteKey") or DEFAULT_ROUTE)
        method, path = _route_key(key, f"{logical}.RouteKey")
        target = props["Target"]
        if isinstance(target, str) and target.startswith(("http://", "https://")):
            integration = Integration("unsupported", reason=f"an HTTP proxy integration to {target} is not forwarded locally")
        else:
            raw = {"type": "aws_proxy", "uri": target, "payloadFormatVersion": "2.0"}
            integration = integration_of(raw, kind="HTTP", where=f"{logical}.Target")
        found.routes.append(Route(method, path, integration))
        stages[DEFAULT_ROUTE] = Stage(DEFAULT_ROUTE)
    integrations: dict[str, tuple[str, Mapping[str, Any]]] = {}
    authorizers: dict[str, Authorizer] = {}
    for child, resource in children:
        if resource.get("Type") == "AWS::ApiGatewayV2::Integration":
            integrations[physical_ids.get(child, child)] = (child, _props(child, resource))
        elif resource.get("Type") == "AWS::ApiGatewayV2::Authorizer":
            authorizers[physical_ids.get(child, child)] = authorizer_from_resource(child, _props(child, resource), "HTTP")
    for child, resource in children:
        props_ = _props(child, resource)
        kind = resource.get("Type")
        if kind == "AWS::ApiGatewayV2::Route":
            found.routes.append(_http_route(child, props_, integrations, authorizers))
        elif kind == "AWS::ApiGatewayV2::Stage":
            name = props_.get("StageName")
            if name != DEFAULT_ROUTE:
                name = _stage_name(child, name)
            access_log = _access_log(props_.get("AccessLogSettings"), f"{child}.AccessLogSettings", found.warnings, "HTTP")
            stages[str(name)] = Stage(str(name), _variables(props_.get("StageVariables"), f"{child}.StageVariables"), access_log)
    warnings = found.warnings
    _route_warnings(logical, found.routes, warnings, "HTTP")
    if not stages:
        warnings.append(f"{logical}: no stage (AWS::ApiGatewayV2::Stage): the API is not invokable")
    return Api(
        api_id=api_id,
        logical_id=logical,
        kind="HTTP",
        name=str(props.get("Name") or logical),
        region=region,
        account_id=account_id,
        routes=_unique(logical, found.routes),
        stages=tuple(stages.values()),
        cors=found.cors,
        usage=catalog,
        warnings=warnings,
    )


def _route_key(key: str, where: str) -> tuple[str, str]:
    if key == DEFAULT_ROUTE:
        return "*", DEFAULT_ROUTE
    match = _ROUTE_KEY.match(key)
    if match is None or not _METHOD.match(match["method"]):
        raise ValueError(f"{where}: {key!r} is not a route key ('$default' or 'METHOD /path')")
    return match["method"], match["path"]


def _http_route(
    logical: str,
    props: Mapping[str, Any],
    integrations: Mapping[str, tuple[str, Mapping[str, Any]]],
    authorizers: Mapping[str, Authorizer],
) -> Route:
    method, path = _route_key(str(props.get("RouteKey", "")), f"{logical}.RouteKey")
    target = props.get("Target")
    integration = Integration("unsupported", reason="the route has no Target integration")
    if target is not None:
        match = _INTEGRATION_TARGET.match(str(target))
        if match is None or match["id"] not in integrations:
            raise ValueError(f"{logical}.Target: {target!r} names no AWS::ApiGatewayV2::Integration of the API ('integrations/<id>')")
        child, raw = integrations[match["id"]]
        where = f"{child}"
        spelled = {
            "type": raw.get("IntegrationType"),
            "uri": raw.get("IntegrationUri"),
            "integrationSubtype": raw.get("IntegrationSubtype"),
            "requestParameters": raw.get("RequestParameters"),
            "payloadFormatVersion": raw.get("PayloadFormatVersion"),
            "timeoutInMillis": raw.get("TimeoutInMillis"),
        }
        integration = integration_of({k: v for k, v in spelled.items() if v is not None}, kind="HTTP", where=where)
    return Route(method, path, integration, _guard(logical, props, authorizers, "HTTP"))


# --------------------------------------------------------------------------- both


def _route_warnings(logical: str, routes: list[Route], warnings: list[str], kind: str) -> None:
    for route in routes:
        if route.integration.kind == "unsupported":
            status = "500 Internal Server Error" if kind == "HTTP" else "500 Internal server error"
            warnings.append(f"{logical}: {route.route_key}: {route.integration.reason}; the route answers {status}")
        guard = route.guard
        # IAM authorization is verified request by request; whether it can be (access keys are
        # configured) is known only to the endpoint, which says so when it serves the API.
        if guard is None or guard.kind == "iam":
            continue
        if guard.authorizer is not None and not guard.authorizer.problem:
            continue  # verified locally, request by request
        why = guard.authorizer.problem if guard.authorizer is not None else f"authorizer {guard.name} is not defined by the API"
        warnings.append(f"{logical}: {route.route_key}: {why}: the route refuses every request (401 Unauthorized)")


def _key_warnings(
    logical: str, api_id: str, routes: list[Route], stages: dict[str, Stage], catalog: KeyCatalog, source: str, warnings: list[str]
) -> None:
    """What makes a REST API's key-guarded methods refuse every request, said once at start-up."""
    keyed = [route for route in routes if route.api_key_required]
    if not keyed:
        return
    opened = {stage.stage for plan in catalog.plans for stage in plan.stages if stage.api_id == api_id and plan.key_ids}
    for name in stages:
        if name not in opened:
            warnings.append(
                f"{logical}: stage {name}: no usage plan with keys lists it (AWS::ApiGateway::UsagePlan ApiStages + UsagePlanKey):"
                f" its {len(keyed)} method(s) requiring an API key refuse every request (403 Forbidden)"
            )
    if source == "AUTHORIZER":
        for route in keyed:
            authorizer = route.guard.authorizer if route.guard is not None else None
            if authorizer is None or authorizer.type not in ("TOKEN", "REQUEST"):
                warnings.append(
                    f"{logical}: {route.route_key}: the API key source is AUTHORIZER but no Lambda authorizer guards the method:"
                    " it has no usageIdentifierKey, so every request is refused (403 Forbidden)"
                )


def _access_log(value: Any, where: str, warnings: list[str], kind: ApiKind) -> AccessLog | None:
    settings, unserved = access_log_of(value, where, kind)
    if unserved:
        warnings.append(unserved)
    return settings


def _unique(logical: str, routes: list[Route]) -> tuple[Route, ...]:
    seen: dict[tuple[str, str], Route] = {}
    for route in routes:
        key = (route.method, route.path)
        if key in seen:
            raise ValueError(f"{logical}: the route {route.route_key} is defined twice")
        seen[key] = route
    return tuple(seen.values())

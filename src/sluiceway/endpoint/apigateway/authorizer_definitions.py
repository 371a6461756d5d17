"""Authorizers read from a definition (``x-amazon-apigateway-authorizer``) or from
``AWS::ApiGateway::Authorizer`` / ``AWS::ApiGatewayV2::Authorizer`` resources.

What API Gateway would refuse to import raises ``ValueError`` naming the field; what it would accept
but cannot work locally (a Lambda authorizer named through a stage variable) becomes an
:class:`Authorizer` with a ``problem``: the routes it guards refuse every request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from .arns import function_of
from .model import ApiKind, Authorizer, AuthorizerType

__all__ = ["authorizer_from_extension", "authorizer_from_resource", "identity_sources"]

#: REST identity sources (``method.request.header.Authorization``, ``stageVariables.x``, ``context.x``).
_REST_SOURCE = re.compile(r"^(method\.request\.(header|querystring)\.[^\s,]+|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+)$")
#: HTTP API identity sources (``$request.header.Authorization``, ``$context.x``, ``$stageVariables.x``).
_HTTP_SOURCE = re.compile(r"^\$(request\.(header|querystring)\.[^\s,]+|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+)$")
_POOL_ARN = re.compile(r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[a-z0-9-]+_[A-Za-z0-9]+$")
#: API Gateway's limit on a Lambda authorizer's cache TTL.
_MAX_TTL_S = 3600


def identity_sources(value: Any, kind: ApiKind, where: str) -> tuple[str, ...]:
    """Identity source expressions: a comma-separated string (REST, definitions) or a list (HTTP APIs).

    Raises:
        ValueError: an expression that is not an identity source of this kind of API.
    """
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise ValueError(f"{where}: must be a string or a list of strings")
    pattern = _REST_SOURCE if kind == "REST" else _HTTP_SOURCE
    for item in items:
        if not pattern.match(item):
            example = "method.request.header.Authorization" if kind == "REST" else "$request.header.Authorization"
            raise ValueError(f"{where}: {item!r} is not an identity source (like {example})")
    return tuple(items)


def authorizer_from_extension(name: str, scheme: Mapping[str, Any], kind: ApiKind, where: str) -> Authorizer:
    """The authorizer a security scheme with ``x-amazon-apigateway-authorizer`` declares.

    Raises:
        ValueError: an authorizer type the kind of API does not have, or a malformed field.
    """
    raw = scheme.get("x-amazon-apigateway-authorizer")
    at = f"{where}.x-amazon-apigateway-authorizer"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{at}: must be a mapping")
    type_ = str(raw.get("type", "")).lower()
    if type_ == "jwt":
        config = raw.get("jwtConfiguration") or {}
        if not isinstance(config, Mapping):
            raise ValueError(f"{at}.jwtConfiguration: must be a mapping")
        return _jwt(name, kind, config.get("issuer"), config.get("audience"), raw.get("identitySource"), at)
    # A REST scheme names its token header as an apiKey "in: header" scheme (SAM writes "Unused" when
    # the identity source says it instead).
    header = scheme.get("name") if str(scheme.get("in", "")).lower() == "header" else None
    default_source = f"method.request.header.{header}" if isinstance(header, str) and header and header != "Unused" else None
    source = raw.get("identitySource") or default_source
    if type_ == "cognito_user_pools":
        return _cognito(name, kind, raw.get("providerARNs"), source, raw.get("identityValidationExpression"), at)
    if type_ in ("token", "request"):
        return _lambda(
            name, kind, type_.upper(), raw.get("authorizerUri"), source, raw.get("authorizerResultTtlInSeconds"),
            raw.get("identityValidationExpression"), raw.get("authorizerPayloadFormatVersion"), raw.get("enableSimpleResponses"), at,
        )  # fmt: skip
    raise ValueError(f"{at}.type: {raw.get('type')!r} is not an authorizer type of a {kind} API")


def authorizer_from_resource(logical: str, props: Mapping[str, Any], kind: ApiKind) -> Authorizer:
    """The authorizer an ``AWS::ApiGateway::Authorizer`` (REST) or ``AWS::ApiGatewayV2::Authorizer`` declares.

    Raises:
        ValueError: a type the kind of API does not have, or a malformed property.
    """
    name = str(props.get("Name") or logical)
    if kind == "HTTP":
        type_ = str(props.get("AuthorizerType", "")).upper()
        if type_ == "JWT":
            config = props.get("JwtConfiguration") or {}
            if not isinstance(config, Mapping):
                raise ValueError(f"{logical}.JwtConfiguration: must be a mapping")
            return _jwt(name, kind, config.get("Issuer"), config.get("Audience"), props.get("IdentitySource"), logical)
        if type_ == "REQUEST":
            return _lambda(
                name, kind, "REQUEST", props.get("AuthorizerUri"), props.get("IdentitySource"),
                props.get("AuthorizerResultTtlInSeconds"), None, props.get("AuthorizerPayloadFormatVersion"),
                props.get("EnableSimpleResponses"), logical,
            )  # fmt: skip
        raise ValueError(f"{logical}.AuthorizerType: {props.get('AuthorizerType')!r} is not JWT or REQUEST")
    type_ = str(props.get("Type", "")).upper()
    if type_ == "COGNITO_USER_POOLS":
        source = props.get("IdentitySource") or "method.request.header.Authorization"
        return _cognito(name, kind, props.get("ProviderARNs"), source, props.get("IdentityValidationExpression"), logical)
    if type_ in ("TOKEN", "REQUEST"):
        return _lambda(
            name, kind, type_, props.get("AuthorizerUri"), props.get("IdentitySource"), props.get("AuthorizerResultTtlInSeconds"),
            props.get("IdentityValidationExpression"), None, None, logical,
        )  # fmt: skip
    raise ValueError(f"{logical}.Type: {props.get('Type')!r} is not TOKEN, REQUEST or COGNITO_USER_POOLS")


def _jwt(name: str, kind: ApiKind, issuer: Any, audience: Any, source: Any, where: str) -> Authorizer:
    if kind != "HTTP":
        raise ValueError(f"{where}: JWT authorizers are HTTP APIs' (a REST API uses COGNITO_USER_POOLS or a Lambda authorizer)")
    if not isinstance(issuer, str) or not issuer.startswith("https://"):
        raise ValueError(f"{where}: the JWT issuer {issuer!r} must be an https:// URL")
    if isinstance(audience, str):
        audience = [audience]
    if not isinstance(audience, list) or not all(isinstance(a, str) for a in audience):
        raise ValueError(f"{where}: the JWT audience must be a list of strings")
    sources = identity_sources(source or "$request.header.Authorization", kind, f"{where}.identitySource")
    if len(sources) != 1 or not sources[0].startswith(("$request.header.", "$request.querystring.")):
        raise ValueError(f"{where}.identitySource: a JWT authorizer reads its token from one header or query parameter")
    return Authorizer(name, "JWT", identity_source=sources, issuer=issuer, audience=tuple(audience))


def _cognito(name: str, kind: ApiKind, arns: Any, source: Any, expression: Any, where: str) -> Authorizer:
    if kind != "REST":
        raise ValueError(f"{where}: COGNITO_USER_POOLS authorizers are REST APIs' (an HTTP API uses a JWT authorizer)")
    if isinstance(arns, str):
        arns = [arns]
    if not isinstance(arns, list) or not arns or not all(isinstance(a, str) and _POOL_ARN.match(a) for a in arns):
        raise ValueError(f"{where}: providerARNs must list user pool ARNs (arn:aws:cognito-idp:<region>:<account>:userpool/<id>)")
    sources = identity_sources(source or "method.request.header.Authorization", kind, f"{where}.identitySource")
    if len(sources) != 1 or not sources[0].startswith("method.request.header."):
        raise ValueError(f"{where}.identitySource: a user pool authorizer reads its token from one header")
    return Authorizer(
        name, "COGNITO_USER_POOLS", identity_source=sources, provider_arns=tuple(arns), validation_expression=_regex(expression, where)
    )


def _lambda(
    name: str, kind: ApiKind, type_: str, uri: Any, source: Any, ttl: Any, expression: Any, version: Any, simple: Any, where: str
) -> Authorizer:
    if kind == "HTTP" and type_ != "REQUEST":
        raise ValueError(f"{where}: an HTTP API's Lambda authorizers are REQUEST authorizers")
    if type_ == "TOKEN" and not source:
        source = "method.request.header.Authorization"
    sources = identity_sources(source, kind, f"{where}.identitySource")
    if type_ == "TOKEN" and (len(sources) != 1 or not sources[0].startswith("method.request.header.")):
        raise ValueError(f"{where}.identitySource: a TOKEN authorizer reads its token from one header")
    # REST caches for 300 s unless told otherwise; an HTTP API caches only when asked.
    ttl_s = _ttl(ttl, 300 if kind == "REST" else 0, where)
    payload = "1.0"
    if kind == "HTTP":
        payload = str(version or "")
        if payload not in ("1.0", "2.0"):
            raise ValueError(f"{where}: an HTTP API Lambda authorizer needs authorizerPayloadFormatVersion 1.0 or 2.0, not {version!r}")
    simple_responses = simple is True or str(simple).lower() == "true"
    if simple_responses and payload != "2.0":
        raise ValueError(f"{where}: simple responses (enableSimpleResponses) need payload format 2.0")
    problem = ""
    function = function_of(uri)
    if function is None:
        if isinstance(uri, str) and "${stageVariables." in uri:
            problem = f"the Lambda authorizer {name} is named by a stage variable ({uri}), which is not resolved locally"
        else:
            raise ValueError(f"{where}: authorizerUri {uri!r} names no Lambda function")
    return Authorizer(
        name, cast(AuthorizerType, type_), identity_source=sources, function_arn=function, ttl_s=ttl_s,
        validation_expression=_regex(expression, where) if type_ == "TOKEN" else None,
        payload_format="2.0" if payload == "2.0" else "1.0", simple_responses=simple_responses, problem=problem,
    )  # fmt: skip


def _ttl(value: Any, default: int, where: str) -> int:
    if value is None:
        return default
    try:
        ttl = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: authorizerResultTtlInSeconds {value!r} is not a number of seconds") from None
    if not 0 <= ttl <= _MAX_TTL_S:
        raise ValueError(f"{where}: authorizerResultTtlInSeconds {ttl} is outside 0-{_MAX_TTL_S}")
    return ttl


def _regex(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        re.compile(str(value))
    except re.error as exc:
        raise ValueError(f"{where}: identityValidationExpression {value!r} is not a regular expression: {exc}") from None
    return str(value)

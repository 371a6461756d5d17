"""An API as API Gateway serves it: routes, their integrations and guards, stages, CORS.

Plain frozen values built once from a template's resources (:mod:`.resources`) and read by
every request; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .usage_plans import KeyCatalog

__all__ = [
    "AccessLog", "Api", "Authorizer", "BodyModel", "Cors", "Guard", "Integration", "IntegrationResponse", "MockResponse",
    "RequestValidation", "Route", "Stage",
]  # fmt: skip

ApiKind = Literal["REST", "HTTP"]

DEFAULT_ROUTE = "$default"
"""An HTTP API's catch-all route key (and the name of its stage without a path segment)."""


@dataclass(frozen=True)
class MockResponse:
    """One integration response of a REST ``mock`` integration (how SAM answers CORS preflights)."""

    status: int
    selection_pattern: str | None
    """A regular expression matched against the mock's status code; None for the default response."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """``method.response.header.X: "'value'"`` parameters: static values only."""
    body: str = ""
    """The ``application/json`` response template, when it is static text."""


@dataclass(frozen=True)
class IntegrationResponse:
    """One integration response of a REST non-proxy integration (``x-amazon-apigateway-integration.responses``)."""

    status: int
    selection_pattern: str | None
    """A regular expression matched against a Lambda error's message or a service's status code; None: the default."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """``method.response.header.X`` -> ``'static'`` or ``integration.response.header.Y`` / ``...body[.path]``."""
    templates: Mapping[str, str] = field(default_factory=dict)
    """Content type -> mapping template of the response body."""


@dataclass(frozen=True)
class Integration:
    """What a route calls."""

    kind: Literal["lambda", "service", "mock", "template", "unsupported"]
    function_arn: str | None = None
    """The Lambda function (``kind == "lambda"``)."""
    payload_format: Literal["1.0", "2.0"] = "1.0"
    """The Lambda proxy event's format: REST APIs always send 1.0."""
    subtype: str | None = None
    """An HTTP API AWS service integration (``SQS-SendMessage``)."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """The service integration's ``requestParameters``: parameter -> mapping expression or static value."""
    timeout_s: float = 29.0
    mock_status: int = 200
    mock_responses: tuple[MockResponse, ...] = ()
    target: str = ""
    """A ``template`` (REST non-proxy) integration's target: ``lambda``, ``mock``, or an AWS service (``sqs``)."""
    action: str = ""
    """The service's operation (``uri`` ``.../dynamodb:action/PutItem``), or "" for a path ``uri``."""
    service_path: str = ""
    """The path of a path ``uri`` (``.../sqs:path/123456789012/queue``)."""
    request_templates: Mapping[str, str] = field(default_factory=dict)
    """Content type -> mapping template of the integration request's body."""
    passthrough: str = "WHEN_NO_MATCH"
    """What a body whose content type has no template does: ``WHEN_NO_MATCH``, ``WHEN_NO_TEMPLATES`` or ``NEVER``."""
    responses: tuple[IntegrationResponse, ...] = ()
    reason: str = ""
    """Why an ``unsupported`` integration cannot be served (listed in the API's warnings)."""


AuthorizerType = Literal["JWT", "COGNITO_USER_POOLS", "TOKEN", "REQUEST"]


@dataclass(frozen=True)
class Authorizer:
    """An API's authorizer, as ``AWS::ApiGateway(V2)::Authorizer`` or ``x-amazon-apigateway-authorizer`` declares it."""

    name: str
    type: AuthorizerType
    """``JWT`` (HTTP APIs), ``COGNITO_USER_POOLS`` (REST), ``TOKEN`` (REST Lambda) or ``REQUEST`` (Lambda, both kinds)."""
    identity_source: tuple[str, ...] = ()
    """Selection expressions: ``method.request.header.Authorization`` (REST) or ``$request.header.Authorization`` (HTTP)."""
    issuer: str = ""
    """JWT: the ``iss`` every token must carry; its keys come from the issuer's key set."""
    audience: tuple[str, ...] = ()
    """JWT: the ``aud`` (or ``client_id``) values accepted."""
    provider_arns: tuple[str, ...] = ()
    """COGNITO_USER_POOLS: the user pools whose tokens are accepted."""
    function_arn: str | None = None
    """TOKEN, REQUEST: the Lambda authorizer function."""
    ttl_s: int = 0
    """How long a Lambda authorizer's answer is reused for the same identity values (0: never)."""
    validation_expression: str | None = None
    """TOKEN, COGNITO_USER_POOLS: a regular expression the token must match before anything else happens."""
    payload_format: Literal["1.0", "2.0"] = "1.0"
    """An HTTP API Lambda authorizer's event and response format."""
    simple_responses: bool = False
    """An HTTP API Lambda authorizer (format 2.0) answering ``{"isAuthorized": bool, "context": {...}}``."""
    problem: str = ""
    """Why this authorizer cannot work locally (every request it guards is refused); empty when it can."""


@dataclass(frozen=True)
class Guard:
    """What a route requires before its integration runs: an authorizer or IAM authorization.

    IAM authorization takes a request SigV4-signed with one of the endpoint's access keys
    (:mod:`.iam_authorization`; with none configured its routes refuse every request). A
    guard of kind ``authorizer`` without an :class:`Authorizer` (one the template does not define)
    refuses too. A REST method's API key is checked after its guard (:attr:`Route.api_key_required`).
    """

    kind: Literal["authorizer", "iam"]
    name: str
    authorizer: Authorizer | None = None
    scopes: tuple[str, ...] = ()
    """The route's (method's) ``AuthorizationScopes``: one of them must be in the token's ``scope`` claim."""


@dataclass(frozen=True)
class BodyModel:
    """A REST method's request model for one content type: a JSON schema (draft 4)."""

    content_type: str
    """The media type (``application/json``) or ``$default``."""
    name: str
    schema: Mapping[str, Any]
    """The model's JSON schema, its ``$ref`` to the API's other models resolvable (:mod:`.validation`)."""


@dataclass(frozen=True)
class RequestValidation:
    """A REST method's request validator and what it checks (``RequestValidatorId`` + models + parameters)."""

    validator: str
    """The validator's name (``body-and-params``) or id."""
    validate_body: bool = False
    validate_parameters: bool = False
    required_parameters: tuple[str, ...] = ()
    """``method.request.{querystring,header,path}.NAME`` the method marks required."""
    models: tuple[BodyModel, ...] = ()


@dataclass(frozen=True)
class Route:
    """A method on a path (REST) or a route key (HTTP API)."""

    method: str
    """``GET``, ``POST``, ... or ``ANY``; ``*`` for an HTTP API's ``$default`` route."""
    path: str
    """The path template (``/items/{id}``, ``/{proxy+}``); ``$default`` for the catch-all route."""
    integration: Integration
    guard: Guard | None = None
    resource_id: str = ""
    """A REST resource's id (``requestContext.resourceId``)."""
    validation: RequestValidation | None = None
    """REST: the method's request validator, when it has one."""
    api_key_required: bool = False
    """REST: the method's ``ApiKeyRequired`` (``security: [{api_key: []}]``): a usage plan's key must come with it."""

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True)
class AccessLog:
    """A stage's access log settings: one event per request to a CloudWatch Logs group."""

    destination_arn: str
    """The log group's ARN as declared (``arn:aws:logs:{region}:{account}:log-group:{name}``, maybe ``:*``)."""
    group: str
    """The log group's name."""
    format: str
    """The line written per request, its ``$context`` variables substituted."""


@dataclass(frozen=True)
class Stage:
    name: str
    variables: Mapping[str, str] = field(default_factory=dict)
    access_log: AccessLog | None = None
    """``AccessLogSetting`` (REST) / ``AccessLogSettings`` (HTTP API); None when access logging is off."""


@dataclass(frozen=True)
class Cors:
    """An HTTP API's ``CorsConfiguration`` (``x-amazon-apigateway-cors``)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class Api:
    """One API Gateway API of a stack."""

    api_id: str
    """The physical id: 10 lowercase letters and digits, as in ``https://{api_id}.execute-api...``."""
    logical_id: str
    kind: ApiKind
    name: str
    region: str
    account_id: str
    routes: tuple[Route, ...] = ()
    stages: tuple[Stage, ...] = ()
    cors: Cors | None = None
    binary_media_types: tuple[str, ...] = ()
    """REST: request bodies of these types reach Lambda base64-encoded (``*/*`` and ``image/*`` wildcards)."""
    key_source: Literal["HEADER", "AUTHORIZER"] = "HEADER"
    """REST: where a method's API key comes from: the ``x-api-key`` header or a Lambda authorizer's ``usageIdentifierKey``."""
    usage: KeyCatalog = field(default_factory=KeyCatalog)
    """The stack's API keys and usage plans (every API of a stack holds the same catalog)."""
    warnings: list[str] = field(default_factory=list)
    """What the template asks for that is read but not served, listed by the CLI at start-up."""

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

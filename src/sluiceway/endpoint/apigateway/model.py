"""An API as API Gateway serves it: routes, their integrations and guards, stages, CORS.

Plain frozen values built once from a template's resources (:mod:`.resources`) and read by
every request; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Api", "Cors", "Guard", "Integration", "MockResponse", "Route", "Stage"]

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
class Integration:
    """What a route calls."""

    kind: Literal["lambda", "service", "mock", "unsupported"]
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
    reason: str = ""
    """Why an ``unsupported`` integration cannot be served (listed in the API's warnings)."""


@dataclass(frozen=True)
class Guard:
    """An authorizer, IAM authorization or API key a route requires: not verified yet, so it refuses (fails closed)."""

    kind: Literal["authorizer", "iam", "api_key"]
    name: str


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

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True)
class Stage:
    name: str
    variables: Mapping[str, str] = field(default_factory=dict)


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
    warnings: list[str] = field(default_factory=list)
    """What the template asks for that is read but not served, listed by the CLI at start-up."""

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

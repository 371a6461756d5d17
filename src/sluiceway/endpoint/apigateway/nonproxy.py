"""REST non-proxy integrations: a Lambda function, an AWS service action, or a mock, through mapping templates.

The request template chosen by the request's content type (``application/json`` when it has
none) makes the integration request from ``$input``; without one the body passes through as the
``passthroughBehavior`` allows (else 415). The target's answer then picks an integration response
(a Lambda error's ``errorMessage``, or the status code of a service or mock, matched against each
``selectionPattern``; else the default one), whose template makes the method response's body and
whose ``responseParameters`` set its headers. A service action is the endpoint's own operation,
run in-process so its validation, effects and errors are those of the same call made with boto3.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ... import ports
from ...ports.functions import FunctionInvoker
from .. import protocol
from ..context import HttpRequest, HttpResponse
from ..errors import AwsError
from ..services import operations
from .integrations import TENANT_PARAMETER, mapped_tenant
from .model import Integration, IntegrationResponse
from .responses import HeaderList, gateway_error
from .service_integrations import ContextFactory, legacy_json
from .template_variables import json_path, request_params, variables
from .vtl import Template, TemplateError, to_text

logger = logging.getLogger(__name__)

__all__ = ["SERVICES", "TemplateRequest", "read_target", "serve_template"]

#: API Gateway's service names in ``arn:aws:apigateway:<region>:<service>:...`` -> the endpoint's.
SERVICES = {"sqs": "sqs", "sns": "sns", "dynamodb": "dynamodb", "states": "stepfunctions", "events": "events", "logs": "logs"}
_QUERY_SERVICES = frozenset({"sqs", "sns"})
_URI = re.compile(r"^arn:aws:apigateway:[a-z0-9-]*:(?P<service>[a-z0-9-]+):(?P<kind>action|path)/(?P<rest>.+)$")
_STATIC = re.compile(r"^'(?P<value>.*)'$", re.S)


def read_target(uri: Any, where: str) -> tuple[str, str, str] | str:
    """(service, action, path) of a non-proxy AWS service ``uri``, or why it cannot be served.

    Raises:
        ValueError: a ``uri`` that is not an API Gateway service ARN.
    """
    found = _URI.match(str(uri or ""))
    if found is None:
        raise ValueError(f"{where}.uri: {uri!r} is not arn:aws:apigateway:<region>:<service>:action/<Action> or :path/<path>")
    service = SERVICES.get(found["service"])
    if service is None:
        return f"a non-proxy integration with {found['service']} is not served locally"
    if found["kind"] == "action":
        action = found["rest"].split("?", 1)[0].split("&", 1)[0]
        return service, action, ""
    return service, "", found["rest"]


@dataclass(frozen=True)
class TemplateRequest:
    """The method request as templates see it."""

    method: str
    headers: Mapping[str, str]
    """Lower-cased names."""
    query: str
    path_parameters: Mapping[str, str]
    body: bytes
    context: Mapping[str, Any]
    stage_variables: Mapping[str, str]
    request_id: str
    endpoint_url: str


@dataclass(frozen=True)
class _Answer:
    """The integration's answer: its body, status, headers, and a Lambda error's message (for selection)."""

    body: str
    status: int
    headers: Mapping[str, str]
    error_message: str | None = None


class _Refused(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def serve_template(
    integration: Integration, request: TemplateRequest, invoker: FunctionInvoker, make_context: ContextFactory
) -> HttpResponse:
    """Run a ``template`` integration for ``request``: the method response API Gateway would send."""
    params = request_params(request.headers, request.query, request.path_parameters)
    try:
        payload = _integration_request(integration, request, params)
        if integration.target == "lambda":
            answer = _invoke(integration, payload, invoker, request)
        elif integration.target == "mock":
            answer = _mock(payload)
        else:
            answer = _call(integration, request, payload, make_context)
        return _method_response(integration, request, params, answer)
    except _Refused as refused:
        return gateway_error("REST", refused.problem)
    except Exception as exc:  # noqa: BLE001 - the client's input and the API's templates drive all of the above
        # Whatever a client sends (or a template does with it) fails like AWS's own integration
        # failures, {"message": "Internal server error"}, never as the endpoint's crash.
        logger.warning("api gateway: the integration failed: %s: %s", type(exc).__name__, exc)
        return gateway_error("REST", "integration_error")


def _integration_request(integration: Integration, request: TemplateRequest, params: Mapping[str, Any]) -> str:
    body = request.body.decode("utf-8", errors="replace")
    content_type = (request.headers.get("content-type") or "application/json").split(";", 1)[0].strip().lower()
    templates = {k.lower(): v for k, v in integration.request_templates.items()}
    template = templates.get(content_type)
    if template is None:
        behavior = integration.passthrough.upper()
        if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
            raise _Refused("unsupported_media")
        return body
    names = variables(body, params, request.context, request.stage_variables)
    # $context.requestOverride.* may be set (a service's X-Amz-Target, a query string); the
    # operation is the uri's own, so what is set there is accepted and changes nothing else.
    names["context"]["requestOverride"] = {"header": {}, "querystring": {}, "path": {}}
    try:
        return Template(template).render(names)
    except TemplateError as exc:
        # AWS: "Execution failed due to configuration error: Unable to transform request".
        logger.warning("api gateway: the request template failed: %s", exc)
        raise _Refused("integration_error") from None


def _invoke(integration: Integration, payload: str, invoker: FunctionInvoker, request: TemplateRequest | None = None) -> _Answer:
    """Invoke the integration's function with the integration request; its answer, or _Refused when Invoke refused.

    The ``X-Amz-Tenant-Id`` mapping (``integration.request.header.X-Amz-Tenant-Id``) gives Lambda's
    ``TenantId``, as for a proxy integration; without ``request`` only a static value can.
    """
    tenant_id = None
    if request is not None:
        tenant_id = mapped_tenant(
            integration,
            request.headers,
            dict(parse_qsl(request.query)),
            request.path_parameters,
            context=request.context,
            stage_variables=request.stage_variables,
        )
    elif TENANT_PARAMETER in integration.parameters:
        tenant_id = mapped_tenant(integration, {}, {}, {})
    try:
        event = json.loads(payload) if payload.strip() else {}
    except ValueError:
        # Lambda refuses a payload that is not JSON (InvalidRequestContentException): a 500.
        logger.warning("api gateway: the integration request is not JSON for %s", integration.function_arn)
        raise _Refused("integration_error") from None
    started = time.monotonic()
    result = invoker.invoke(
        ports.Invocation(
            function_name=str(integration.function_arn),
            payload=event,
            request_id=str(uuid.uuid4()),
            timeout_s=integration.timeout_s,
            tenant_id=tenant_id,
        )
    )
    if result.ok:
        return _Answer(json.dumps(result.payload), 200, {})
    if result.error_type == "Sandbox.Timedout" and time.monotonic() - started >= integration.timeout_s * 0.95:
        raise _Refused("timeout")
    # A throttle stays a function error: API Gateway's answer to a throttled Lambda was not confirmed.
    if result.refused and result.error_type != "TooManyRequestsException":
        # Invoke refused (no such function, a bad or too large payload, a runtime that cannot start, the
        # tenant refusal): no function ran, so there is no answer to map; API Gateway answers
        # as for any failed integration (500), never with a 200 that would pass the refusal off as a
        # result. Decided on the flag: a handler's own exception of the same name is a function error.
        logger.warning("api gateway: Lambda refused the invocation of %s: %s", integration.function_arn, result.error_type)
        raise _Refused("integration_error")
    # A function error is an answer like any other: its error document is the body, and its
    # errorMessage is what the integration responses' selection patterns are matched against.
    document: dict[str, Any] = {"errorMessage": result.error_message or "", "errorType": result.error_type}
    if result.stack_trace:
        document["stackTrace"] = list(result.stack_trace)
    return _Answer(json.dumps(document), 200, {}, error_message=result.error_message or "")


def _mock(payload: str) -> _Answer:
    try:
        status = int(json.loads(payload)["statusCode"])
    except (ValueError, KeyError, TypeError):
        # A mock's request template must give {"statusCode": <n>}.
        logger.warning("api gateway: a mock integration's request gives no statusCode")
        raise _Refused("integration_error") from None
    return _Answer("", status, {})


def _call(integration: Integration, request: TemplateRequest, payload: str, make_context: ContextFactory) -> _Answer:
    service = integration.target
    model = protocol.service_model(service)
    action = integration.action
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    path = "/"
    if service in _QUERY_SERVICES:
        fields = parse_qsl(payload, keep_blank_values=True)
        extra = [(name.removeprefix("integration.request.querystring."), value) for name, value in _parameters(integration, request)]
        if action:
            fields = [("Action", action), *[f for f in fields if f[0] != "Action"]]
        if integration.service_path:
            path = "/" + integration.service_path.lstrip("/")
            if service == "sqs" and not any(name == "QueueUrl" for name, _ in fields):
                fields.append(("QueueUrl", request.endpoint_url.rstrip("/") + path))
        body = urlencode(fields + extra).encode()
    else:
        if not action:
            raise _Refused("integration_error")
        headers = {
            "x-amz-target": f"{model.metadata['targetPrefix']}.{action}",
            "content-type": f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}",
        }
        body = payload.encode()
    http = HttpRequest("POST", path, "", headers, body)
    request_id = str(uuid.uuid4())
    try:
        operation, params = protocol.parse(service, http)
        handler = operations(service).handlers[operation.name]
        output = handler(make_context(service, operation.name, http), params)
    except AwsError as error:
        logger.info("api integration: %s refused %s: %s %s", service, action, error.code, error.message)
        if service in _QUERY_SERVICES:
            document = {"Error": {"Code": error.code, "Message": error.message, "Type": "Sender" if error.sender_fault else "Receiver"},
                        "RequestId": request_id}  # fmt: skip
            return _Answer(json.dumps(document), error.status, {"Content-Type": "application/json"})
        refused = protocol.serialize_error(service, error, request_id, protocol="json")
        return _Answer(_text(refused.body), refused.status, dict(refused.headers))
    if service in _QUERY_SERVICES:
        # API Gateway asks query services for JSON: {"<Op>Response": {"<Op>Result": ..., "ResponseMetadata": ...}}.
        return _Answer(json.dumps(legacy_json(operation, output or {}, request_id)), 200, {"Content-Type": "application/json"})
    answered = protocol.serialize(operation, output, request_id, protocol="json")
    return _Answer(_text(answered.body), answered.status, dict(answered.headers))


def _parameters(integration: Integration, request: TemplateRequest) -> list[tuple[str, str]]:
    """The integration's ``integration.request.querystring.*`` parameters, from static values or the method request."""
    out: list[tuple[str, str]] = []
    params = request_params(request.headers, request.query, request.path_parameters)
    for name, source in integration.parameters.items():
        if not name.startswith("integration.request.querystring."):
            continue
        value = _method_parameter(source, params)
        if value is not None:
            out.append((name, value))
    return out


def _method_parameter(source: str, params: Mapping[str, Mapping[str, str]]) -> str | None:
    static = _STATIC.match(source)
    if static:
        return static["value"]
    for where in ("path", "querystring", "header"):
        prefix = f"method.request.{where}."
        if source.startswith(prefix):
            name = source[len(prefix) :]
            values = params.get(where, {})
            if where == "header":
                return next((v for k, v in values.items() if k.lower() == name.lower()), None)
            return values.get(name)
    return None


def _text(body: Any) -> str:
    return body.decode("utf-8", errors="replace") if isinstance(body, (bytes, bytearray)) else ""


def _select(integration: Integration, answer: _Answer) -> IntegrationResponse | None:
    subject = answer.error_message if integration.target == "lambda" else str(answer.status)
    default = None
    for response in integration.responses:
        if response.selection_pattern is None:
            default = response
        # A Java regex without DOTALL, as AWS matches: "." stops at a line break, so a multi-line
        # errorMessage needs a pattern like "(\\n|.)+" (AWS's documented workaround).
        elif subject is not None and re.fullmatch(response.selection_pattern, subject):
            return response
    return default


def _method_response(integration: Integration, request: TemplateRequest, params: Mapping[str, Any], answer: _Answer) -> HttpResponse:
    chosen = _select(integration, answer)
    if chosen is None:
        # AWS: "Execution failed due to configuration error: No match for output mapping and no
        # default output mapping configured".
        logger.warning("api gateway: no integration response matches (status %s)", answer.status)
        return gateway_error("REST", "integration_error")
    content_type, template = _response_template(chosen, request.headers.get("accept"))
    body = answer.body
    names = variables(answer.body, params, request.context, request.stage_variables)
    override: dict[str, Any] = {"header": {}}
    names["context"]["responseOverride"] = override
    if template:
        try:
            body = Template(template).render(names)
        except TemplateError as exc:
            logger.warning("api gateway: the response template failed: %s", exc)
            return gateway_error("REST", "integration_error")
    out = HeaderList()
    out["Content-Type"] = content_type
    for name, source in chosen.parameters.items():
        if not name.startswith("method.response.header."):
            continue
        value = _response_parameter(source, answer)
        if value is not None:
            out[name.removeprefix("method.response.header.")] = value
    status = chosen.status
    # $context.responseOverride.status / .header.<name>, set by the template, win over the response's own.
    overridden = override.get("status")
    if isinstance(overridden, int) and not isinstance(overridden, bool) and 100 <= overridden <= 599:
        status = overridden
    elif isinstance(overridden, str) and overridden.isdigit() and 100 <= int(overridden) <= 599:
        status = int(overridden)
    headers = override.get("header")
    for name, value in headers.items() if isinstance(headers, dict) else ():
        out[str(name)] = to_text(value)
    return HttpResponse(status, out, body.encode())


def _response_template(chosen: IntegrationResponse, accept: str | None) -> tuple[str, str | None]:
    """The response template and the method response's Content-Type.

    API Gateway's developer guide ("Mapping template selection" under mapping templates): a response
    template is chosen by the method request's Accept header; when that names none of them,
    ``application/json`` is used if it has a template, else the first template.
    """
    templates = {media.lower(): (media, template) for media, template in chosen.templates.items()}
    for media in (accept or "").split(","):
        found = templates.get(media.split(";", 1)[0].strip().lower())
        if found is not None:
            return found
    if "application/json" in templates:
        return templates["application/json"]
    return next(iter(templates.values()), ("application/json", None))


def _response_parameter(source: str, answer: _Answer) -> str | None:
    static = _STATIC.match(source)
    if static:
        return static["value"]
    if source.startswith("integration.response.header."):
        name = source.removeprefix("integration.response.header.").lower()
        return next((v for k, v in answer.headers.items() if k.lower() == name), None)
    if source == "integration.response.body":
        return answer.body
    if source.startswith("integration.response.body."):
        try:
            found = json_path(json.loads(answer.body), "$." + source.removeprefix("integration.response.body."))
        except (ValueError, TemplateError):
            return None
        return None if found is None else found if isinstance(found, str) else json.dumps(found)
    return None

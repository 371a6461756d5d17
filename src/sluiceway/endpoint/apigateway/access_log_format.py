"""A stage's access log settings, read from a template, and one request's line in their ``Format``.

API Gateway writes, per request, the stage's ``Format`` with each ``$context.<name>`` replaced by
the request's value; a variable without a value (unknown, not applicable, or empty) is written
``-``. A format is text: a JSON, XML or CLF format stays what it was with values in place. Pure:
the caller passes the variables in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .model import AccessLog, ApiKind

__all__ = ["access_log_of", "render"]

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_:-]+)*)")
#: Where a name that is not a variable may be cut back to one: before a ``.``, ``-`` or ``:``.
_CUT = re.compile(r"[.:-]")
_LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:(?P<name>[.\-_/#A-Za-z0-9]{1,512})(?::\*)?$")
_FIREHOSE_ARN = re.compile(r"^arn:aws[a-z-]*:firehose:[a-z0-9-]+:\d{12}:deliverystream/(?P<name>.*)$")
#: API Gateway refuses a format that identifies no request.
_IDENTIFIES = ("$context.requestId", "$context.extendedRequestId")
#: Variables whose value is already JSON text (a quoted string): written as they are, even in a JSON format.
_JSON_VALUES = frozenset({"error.messageString"})
#: An HTTP API stage's Format: apigatewayv2's model types it StringWithLengthBetween1And1024, but
#: the service's quota is "Access log template size: 3 KB" (HTTP API quotas), and published SAM apps
#: deploy formats longer than 1024 characters: the quota is what AWS enforces.
_HTTP_FORMAT_MAX = 3072
#: A REST API's Firehose destination must be named so (the AccessLogSetting reference).
_FIREHOSE_PREFIX = "amazon-apigateway-"


def access_log_of(value: Any, where: str, kind: ApiKind = "REST") -> tuple[AccessLog | None, str | None]:
    """The settings (None when access logging is off) and, when they are not served as given, why.

    Raises:
        ValueError: settings API Gateway would refuse (named as ``where``).
    """
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: must be a mapping with DestinationArn and Format")
    destination, line = value.get("DestinationArn"), value.get("Format")
    for name, given in (("DestinationArn", destination), ("Format", line)):
        if given is not None and not isinstance(given, str):
            raise ValueError(f"{where}.{name}: must be a string")
        if given == "":
            # UpdateStage's recorded answer to an empty value; a template's empty value is taken to
            # fail alike (not confirmed against CloudFormation).
            raise ValueError(f"{where}.{name}: Access Log value must not be empty")
    if destination is None and line is None:
        return None, None
    # Both are needed to turn access logging on ("Required: Conditional"), but API Gateway stores
    # either alone (LocalStack's recorded test_stage_access_log_settings: a DestinationArn without
    # a Format is accepted) and writes nothing.
    if destination is None or line is None:
        has, lacks = ("DestinationArn", "Format") if line is None else ("Format", "DestinationArn")
        return None, f"{where}: {has} without {lacks}: the stage writes no access log"
    assert isinstance(destination, str) and isinstance(line, str)
    if kind == "HTTP":
        _check_http_format(line, where)
    if not any(variable in line for variable in _IDENTIFIES):
        raise ValueError(f"{where}.Format: must include $context.requestId or $context.extendedRequestId")
    firehose = _FIREHOSE_ARN.match(destination)
    if firehose is not None:
        # apigatewayv2 documents only CloudWatch Logs destinations; REST wants the stream named
        # amazon-apigateway-*. AWS's wording for either refusal could not be confirmed.
        if kind == "HTTP":
            raise ValueError(f"{where}.DestinationArn: an HTTP API stage logs to a CloudWatch Logs log group, not to Firehose")
        if not firehose["name"].startswith(_FIREHOSE_PREFIX):
            raise ValueError(f"{where}.DestinationArn: a Firehose delivery stream's name must begin with {_FIREHOSE_PREFIX}")
        return None, f"{where}.DestinationArn: a Firehose delivery stream is not served locally; access logs are not written"
    match = _LOG_GROUP_ARN.match(destination)
    if match is None:
        raise ValueError(f"{where}.DestinationArn: {destination!r} is not a CloudWatch Logs log group ARN")
    return AccessLog(destination_arn=destination, group=match["name"], format=line), None


def _check_http_format(line: str, where: str) -> None:
    """An HTTP API's Format: 1 to 1024 characters on one line (the model's length; "A single line format").

    The wording of API Gateway's refusals could not be confirmed.
    """
    if len(line) > _HTTP_FORMAT_MAX:
        raise ValueError(f"{where}.Format: must be at most {_HTTP_FORMAT_MAX} characters (it has {len(line)})")
    if "\n" in line or "\r" in line:
        raise ValueError(f"{where}.Format: must be a single line")


def render(line: str, variables: Mapping[str, Any]) -> str:
    """``line`` with each ``$context.<name>`` (dotted names reach into nested values) replaced.

    A name that is no variable but starts with one, cut before a ``.``, ``-`` or ``:``, is that
    variable followed by the rest as text (``$context.identity.sourceIp-$context.requestId``), the
    longest such variable first; how API Gateway splits such names could not be confirmed.

    A format that is JSON (it starts with ``{``) gets its values escaped as JSON string content, so
    a quote in a user agent keeps the line JSON; ``$context.error.messageString``, already a JSON
    string, goes in as it is. Whether API Gateway escapes values too could not be confirmed;
    unescaped, such a line would not parse at all.
    """
    as_json = line.lstrip().startswith("{")

    def value_of(match: re.Match[str]) -> str:
        name, rest = _variable_in(variables, match[1])
        text = _text(_find(variables, name)[1])
        if as_json and name not in _JSON_VALUES:
            text = json.dumps(text, ensure_ascii=False)[1:-1]
        return text + rest

    return _VARIABLE.sub(value_of, line)


def _variable_in(variables: Mapping[str, Any], name: str) -> tuple[str, str]:
    """(variable, literal rest) for a matched ``name``: the whole name unless only a prefix of it is a value."""
    if _find(variables, name)[0]:
        return name, ""
    for cut in reversed([m.start() for m in _CUT.finditer(name)]):
        found, value = _find(variables, name[:cut])
        if found and not isinstance(value, (Mapping, list)):
            return name[:cut], name[cut:]
    return name, ""


def _find(variables: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """(whether ``name`` names a value, the value); dotted names reach into nested mappings."""
    if name in variables:
        return True, variables[name]
    head, dot, rest = name.partition(".")
    while dot:
        nested = variables.get(head)
        if isinstance(nested, Mapping):
            found = _find(nested, rest)
            if found[0]:
                return found
        # ``$context.authorizer.claims.cognito:groups`` and keys holding dots: try a longer head.
        more, dot, rest = rest.partition(".")
        head = f"{head}.{more}"
    return False, None


def _text(value: Any) -> str:
    if value is None or value == "" or isinstance(value, (Mapping, list)):
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

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

from .model import AccessLog

__all__ = ["access_log_of", "render"]

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_:-]+)*)")
_LOG_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:(?P<name>[.\-_/#A-Za-z0-9]{1,512})(?::\*)?$")
_FIREHOSE_ARN = re.compile(r"^arn:aws[a-z-]*:firehose:[a-z0-9-]+:\d{12}:deliverystream/")
#: API Gateway refuses a format that identifies no request.
_IDENTIFIES = ("$context.requestId", "$context.extendedRequestId")


def access_log_of(value: Any, where: str) -> tuple[AccessLog | None, str | None]:
    """The settings (None when access logging is off) and, when they cannot be served, why.

    Raises:
        ValueError: settings API Gateway would refuse (named as ``where``).
    """
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: must be a mapping with DestinationArn and Format")
    destination, line = value.get("DestinationArn"), value.get("Format")
    if not destination and not line:
        return None, None
    # Both are required to turn access logging on (the CloudFormation reference: "Conditional").
    if not isinstance(destination, str) or not destination:
        raise ValueError(f"{where}.DestinationArn: required with Format")
    if not isinstance(line, str) or not line:
        raise ValueError(f"{where}.Format: required with DestinationArn")
    if not any(variable in line for variable in _IDENTIFIES):
        raise ValueError(f"{where}.Format: must include $context.requestId or $context.extendedRequestId")
    if _FIREHOSE_ARN.match(destination):
        return None, f"{where}.DestinationArn: a Firehose delivery stream is not served locally; access logs are not written"
    match = _LOG_GROUP_ARN.match(destination)
    if match is None:
        raise ValueError(f"{where}.DestinationArn: {destination!r} is not a CloudWatch Logs log group ARN")
    return AccessLog(destination_arn=destination, group=match["name"], format=line), None


def render(line: str, variables: Mapping[str, Any]) -> str:
    """``line`` with each ``$context.<name>`` (dotted names reach into nested values) replaced.

    A format that is JSON (it starts with ``{``) gets its values escaped as JSON string content, so
    a quote in a user agent keeps the line JSON. Whether API Gateway escapes them too could not be
    confirmed; unescaped, such a line would not parse at all.
    """
    as_json = line.lstrip().startswith("{")

    def value_of(match: re.Match[str]) -> str:
        text = _text(_lookup(variables, match[1]))
        return json.dumps(text)[1:-1] if as_json else text

    return _VARIABLE.sub(value_of, line)


def _lookup(variables: Mapping[str, Any], name: str) -> Any:
    if name in variables:
        return variables[name]
    head, dot, rest = name.partition(".")
    while dot:
        nested = variables.get(head)
        if isinstance(nested, Mapping):
            found = _lookup(nested, rest)
            if found is not None:
                return found
        # ``$context.authorizer.claims.cognito:groups`` and keys holding dots: try a longer head.
        more, dot, rest = rest.partition(".")
        head = f"{head}.{more}"
    return None


def _text(value: Any) -> str:
    if value is None or value == "" or isinstance(value, (Mapping, list)):
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

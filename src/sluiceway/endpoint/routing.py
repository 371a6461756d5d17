"""Which service a request is for, told apart as AWS tells them apart.

AWS has one host per service; a single local port has to read the same request for
clues, most specific first:

1. ``X-Amz-Target`` (the json protocol): its prefix names the service's API version.
2. The SigV4 credential scope (``Authorization: ... Credential=AKID/date/region/service/...``),
   or ``X-Amz-Credential`` in the query of a presigned URL: the signing name.
3. ``Action=`` of a query-protocol form post without a signature (old SDKs, curl).
4. Anything else is S3 (its REST API has no other marker), virtual-host style or path style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from .context import HttpRequest

__all__ = ["QUERY_SERVICES", "SIGNING_NAMES", "Route", "TARGET_PREFIXES", "route", "virtual_host_bucket"]

#: SigV4 signing name -> botocore service name (Step Functions signs as ``states``, CloudWatch as ``monitoring``).
SIGNING_NAMES: dict[str, str] = {
    "s3": "s3",
    "apigateway": "apigateway",
    "sqs": "sqs",
    "sns": "sns",
    "dynamodb": "dynamodb",
    "events": "events",
    "scheduler": "scheduler",
    "states": "stepfunctions",
    "kinesis": "kinesis",
    "lambda": "lambda",
    "logs": "logs",
    "sts": "sts",
    "cloudformation": "cloudformation",
    "cognito-idp": "cognito-idp",
    "monitoring": "cloudwatch",
    "ssm": "ssm",
    "secretsmanager": "secretsmanager",
    "ses": "ses",
    "pipes": "pipes",
}

#: ``X-Amz-Target`` prefix (the model's ``targetPrefix``) -> botocore service name.
TARGET_PREFIXES: dict[str, str] = {
    "AmazonSQS": "sqs",
    "DynamoDB_20120810": "dynamodb",
    "DynamoDBStreams_20120810": "dynamodbstreams",
    "AWSEvents": "events",
    "AWSStepFunctions": "stepfunctions",
    "Logs_20140328": "logs",
    "Kinesis_20131202": "kinesis",
    "AWSCognitoIdentityProviderService": "cognito-idp",
    "GraniteServiceVersion20100801": "cloudwatch",
    "AmazonSSM": "ssm",
    "secretsmanager": "secretsmanager",
}

#: Query-protocol actions without a signature, by service (the first service that has it wins).
QUERY_SERVICES = ("sqs", "sns", "sts", "cloudwatch", "ses")  # SES last: the others win a shared action name

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_S3_HOSTS = re.compile(r"^(?P<bucket>.+?)\.s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com$")
_LOCAL_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*[a-z0-9])\.(?:localhost|s3\.localhost)$")


@dataclass(frozen=True)
class Route:
    """Where a request goes."""

    service: str | None
    """botocore's name of the service; None when the request names one Sluiceway does not serve."""
    named: str
    """What the request called the service (for the error naming one we do not serve)."""
    region: str | None = None
    access_key: str | None = None
    body_decides: bool = False
    """S3 by default, told from the head alone; an unsigned form post's body may name a query action instead."""


def route(request: HttpRequest, *, query_actions: dict[str, frozenset[str]] | None = None) -> Route:
    """The service ``request`` is for.

    A request's head decides, except for an unsigned form post without ``Action`` in its
    query: routed before its body is read, it is S3's with :attr:`Route.body_decides` set,
    and routed again once it is.

    Args:
        query_actions: each query-protocol service's operation names, for unsigned form posts.
    """
    scope = _scope(request)
    region = scope[2] if scope else None
    access_key = scope[0] if scope else None
    target = request.header("x-amz-target")
    if target:
        prefix = target.split(".", 1)[0]
        service = TARGET_PREFIXES.get(prefix)
        return Route(service, prefix, region, access_key)
    if scope:
        signing = scope[3]
        service = SIGNING_NAMES.get(signing)
        if service == "ses" and (request.path == "/v2" or request.path.startswith("/v2/")):
            service = "sesv2"  # SES v1 (query, POST /) and v2 (rest-json, /v2/email/...) both sign as "ses"
        return Route(service, signing, region, access_key)
    action = _action(request)
    if action and query_actions:
        for service in QUERY_SERVICES:
            if action in query_actions.get(service, frozenset()):
                return Route(service, service, region, access_key)
    return Route("s3", "s3", region, access_key, body_decides=not request.body and _form_post(request))


def _scope(request: HttpRequest) -> tuple[str, str, str, str] | None:
    """(access key, date, region, signing name) of a SigV4 header or presigned query."""
    found = _CREDENTIAL.search(request.header("authorization") or "")
    if found:
        return found.group(1), found.group(2), found.group(3), found.group(4)
    if "X-Amz-Credential=" in request.query:
        credential = parse_qs(request.query).get("X-Amz-Credential", [""])[0]
        parts = credential.split("/")
        if len(parts) == 5 and parts[4] == "aws4_request":
            return parts[0], parts[1], parts[2], parts[3]
    return None


def _action(request: HttpRequest) -> str | None:
    if "Action=" in request.query:
        return parse_qs(request.query).get("Action", [None])[0]
    if request.body and _form_post(request):
        try:
            return parse_qs(request.body.decode("utf-8")).get("Action", [None])[0]
        except UnicodeDecodeError:
            return None
    return None


def _form_post(request: HttpRequest) -> bool:
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    return request.method == "POST" and content_type == "application/x-www-form-urlencoded"


def virtual_host_bucket(host: str | None) -> str | None:
    """The bucket a virtual-host-style S3 request names in its Host, or None for path style.

    ``photos.s3.us-east-1.amazonaws.com`` (a client pointed at AWS's names through a
    resolver) and ``photos.localhost:4566`` (the local form) both name ``photos``; a
    bare ``127.0.0.1:4566`` or ``localhost:4566`` is path style.
    """
    if not host:
        return None
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    if name in ("s3.localhost", "s3.amazonaws.com") or name.startswith("s3."):
        return None  # the service's own host, path style
    for pattern in (_S3_HOSTS, _LOCAL_HOST):
        found = pattern.match(name)
        if found:
            return found.group("bucket")
    return None

"""The event a function URL sends its function: API Gateway's payload format 2.0, as Lambda fills it in.

Lambda builds it as an HTTP API's ``$default`` route does (:func:`~..apigateway.events.payload_v2`
builds both): ``routeKey`` and ``stage`` are ``$default``, headers lower-cased, cookies apart,
repeated query parameters joined with commas, and a body base64-encoded unless its type is text.
Where a URL's event differs from an HTTP API's, it is AWS's difference:

* ``rawPath`` (and ``requestContext.http.path``) is the path as the client sent it, still
  percent-encoded;
* ``requestContext.accountId`` is ``anonymous`` for a URL with AuthType ``NONE``, and the caller's
  account for ``AWS_IAM``, whose caller is also in ``requestContext.authorizer.iam``;
* ``apiId`` and ``domainPrefix`` are the URL's id.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..apigateway import Api, Integration, Route, Stage
from ..apigateway.events import RequestView, payload_v2

__all__ = ["Caller", "url_event"]

_DEFAULT = "$default"
_ROUTE = Route(method="*", path=_DEFAULT, integration=Integration(kind="lambda", payload_format="2.0"))
_STAGE = Stage(_DEFAULT)


@dataclass(frozen=True)
class Caller:
    """Who signed a request to an ``AWS_IAM`` URL (``requestContext.authorizer.iam``)."""

    access_key: str
    account_id: str
    user_id: str
    user_arn: str

    def to_event(self) -> dict[str, Any]:
        return {
            "accessKey": self.access_key,
            "accountId": self.account_id,
            "callerId": self.user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": self.user_arn,
            "userId": self.user_id,
        }


def url_event(
    *,
    url_id: str,
    region: str,
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    source_ip: str,
    request_id: str,
    caller: Caller | None = None,
) -> dict[str, Any]:
    """The event of one request to a function URL.

    Args:
        raw_path: the path after the URL's root, as sent (``/`` at least).
        headers: lower-cased names, hop-by-hop headers already removed.
        caller: the verified signer of a request to an ``AWS_IAM`` URL; None for ``NONE``.
    """
    forwarded = _forwarded(headers, source_ip)
    domain = forwarded.get("host") or f"{url_id}.lambda-url.{region}.on.aws"
    api = Api(
        api_id=url_id,
        logical_id=url_id,
        kind="HTTP",
        name=url_id,
        region=region,
        account_id=caller.account_id if caller is not None else "anonymous",
    )
    view = RequestView(
        api=api, stage=_STAGE, route=_ROUTE, path_parameters={}, method=method, path=raw_path, stage_path=raw_path,
        query=query, headers=forwarded, body=body, source_ip=source_ip, request_id=request_id, extended_request_id=request_id,
        time_ms=int(time.time() * 1000), domain_name=domain, domain_prefix=url_id,
    )  # fmt: skip
    event = payload_v2(view)
    # payload_v2 decodes an HTTP API's path; a URL passes it on as sent.
    event["rawPath"] = raw_path
    context = event["requestContext"]
    context["http"]["path"] = raw_path
    if caller is not None:
        context["authorizer"] = {"iam": caller.to_event()}
    return event


def _forwarded(headers: Mapping[str, str], source_ip: str) -> dict[str, str]:
    """The headers Lambda's front end adds before the function sees the request."""
    out = dict(headers)
    prior = out.get("x-forwarded-for")
    out["x-forwarded-for"] = f"{prior}, {source_ip}" if prior else source_ip
    host = out.get("host", "")
    port = host.rsplit(":", 1)[1] if ":" in host and host.rsplit(":", 1)[1].isdigit() else "80"
    out["x-forwarded-port"] = port
    out["x-forwarded-proto"] = "http"  # the client spoke plain HTTP to the local endpoint
    out.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}")
    return out

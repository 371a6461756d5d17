"""AWS::Events::Connection and AWS::Events::ApiDestination, made through the endpoint's EventBridge operations.

Ref is the name (CloudFormation's); Fn::GetAtt gives ``Arn`` (and ``SecretArn`` for a connection:
the Secrets Manager secret holding its credentials) and ``ArnForPolicy``, the ARN without its
trailing id (what CloudFormation documents it to be for IAM policies; its exact value is not
confirmed). A template without a Name gets CloudFormation's generated one. Each start brings the
resource to the template: made if missing, updated when its properties changed, replaced (made
anew, the old one deleted) when its Name changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name

__all__ = ["ApiDestination", "Connection"]

_CONNECTION_KEYS: Final = ("AuthorizationType", "AuthParameters", "Description")
_DESTINATION_KEYS: Final = ("ConnectionArn", "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond", "Description")


def _name(env: Env, request: Request) -> str:
    name = request.properties.get("Name")
    if name is None:
        return physical_name(env.stack_name, request.logical_id, 64)
    if not isinstance(name, str):
        raise TemplateError(f"{request.where}.Name: must be a string")
    return name


def _describe(env: Env, operation: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(env.aws.call("events", operation, {"Name": name}))
    except AwsError as error:
        if error.code != "ResourceNotFoundException":
            raise
        return None


def _delete(env: Env, operation: str, name: str) -> None:
    try:
        env.aws.call("events", operation, {"Name": name})
    except AwsError as error:
        if error.code != "ResourceNotFoundException":
            raise


def _given(props: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: props[k] for k in keys if props.get(k) is not None}


def _policy_arn(arn: str) -> str:
    return arn.rsplit("/", 1)[0]


def _unchanged(request: Request, name: str, keys: tuple[str, ...]) -> bool:
    previous = request.previous
    return previous is not None and previous.physical_id == name and _given(previous.properties, keys) == _given(request.properties, keys)


class Connection:
    def apply(self, env: Env, request: Request) -> Made:
        name = _name(env, request)
        given = _given(request.properties, _CONNECTION_KEYS)
        for key in ("AuthorizationType", "AuthParameters"):
            if key not in given:
                raise TemplateError(f"{request.where}.{key}: required for AWS::Events::Connection")
        if request.properties.get("InvocationConnectivityParameters") is not None:
            env.warn(f"{request.logical_id}: InvocationConnectivityParameters (private APIs) not emulated locally")
        current = _describe(env, "DescribeConnection", name)
        if current is None:
            env.aws.call("events", "CreateConnection", {"Name": name, **given})
        elif not _unchanged(request, name, _CONNECTION_KEYS):
            env.aws.call("events", "UpdateConnection", {"Name": name, **given})
        described = env.aws.call("events", "DescribeConnection", {"Name": name})
        if request.previous is not None and request.previous.physical_id != name:
            self.delete(env, request.previous)
        arn, secret = str(described["ConnectionArn"]), str(described["SecretArn"])
        return Made(name, name, {"Arn": arn, "SecretArn": secret, "ArnForPolicy": _policy_arn(arn)})

    def delete(self, env: Env, stored: Stored) -> None:
        _delete(env, "DeleteConnection", stored.physical_id)


class ApiDestination:
    def apply(self, env: Env, request: Request) -> Made:
        name = _name(env, request)
        given = _given(request.properties, _DESTINATION_KEYS)
        for key in ("ConnectionArn", "InvocationEndpoint", "HttpMethod"):
            if key not in given:
                raise TemplateError(f"{request.where}.{key}: required for AWS::Events::ApiDestination")
        current = _describe(env, "DescribeApiDestination", name)
        if current is None:
            env.aws.call("events", "CreateApiDestination", {"Name": name, **given})
        elif not _unchanged(request, name, _DESTINATION_KEYS) or current.get("ConnectionArn") != given["ConnectionArn"]:
            env.aws.call("events", "UpdateApiDestination", {"Name": name, **given})
        described = env.aws.call("events", "DescribeApiDestination", {"Name": name})
        if request.previous is not None and request.previous.physical_id != name:
            self.delete(env, request.previous)
        arn = str(described["ApiDestinationArn"])
        return Made(name, name, {"Arn": arn, "ArnForPolicy": _policy_arn(arn)})

    def delete(self, env: Env, stored: Stored) -> None:
        _delete(env, "DeleteApiDestination", stored.physical_id)

"""CloudFormation's dynamic references, resolved where CloudFormation resolves them: in resource properties.

``{{resolve:ssm:name}}`` and ``{{resolve:ssm:name:3}}`` read a String or StringList parameter
of Parameter Store; ``{{resolve:ssm-secure:name[:version]}}`` a SecureString, only in the
properties CloudFormation takes secure strings in (:data:`SECURE_PROPERTIES`; anywhere else
it fails the deploy, as it does); ``{{resolve:secretsmanager:secret-id[:SecretString[:json-key
[:version-stage[:version-id]]]]}}`` a secret of Secrets Manager, or one key of its JSON. A
reference can be part of a longer text and can be built with ``Fn::Sub``: it is resolved after
the intrinsic functions. The stack's record keeps the references, never the values they
resolve to, as CloudFormation does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from ..endpoint.errors import AwsError
from .errors import TemplateError

__all__ = ["SECURE_PROPERTIES", "AwsCaller", "parameter_reader", "resolve_references"]


class AwsCaller(Protocol):
    """What dynamic references read through: the endpoint's operations (:class:`~sluiceway.endpoint.calls.AwsCalls`)."""

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]: ...


SECURE_PROPERTIES: Final[Mapping[str, tuple[str, ...]]] = {
    "AWS::DirectoryService::MicrosoftAD": ("Password",),
    "AWS::DirectoryService::SimpleAD": ("Password",),
    "AWS::ElastiCache::ReplicationGroup": ("AuthToken",),
    "AWS::IAM::User": ("LoginProfile/Password",),
    "AWS::KinesisFirehose::DeliveryStream": ("RedshiftDestinationConfiguration/Password",),
    "AWS::OpsWorks::App": ("AppSource/Password",),
    "AWS::OpsWorks::Stack": ("CustomCookbooksSource/Password", "RdsDbInstances/DbPassword"),
    "AWS::RDS::DBCluster": ("MasterUserPassword",),
    "AWS::RDS::DBInstance": ("MasterUserPassword",),
    "AWS::Redshift::Cluster": ("MasterUserPassword",),
}
"""The properties CloudFormation resolves ``ssm-secure`` references in (its documented list), as property paths."""

_REFERENCE = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^{}]*)\}\}")
_ANY_REFERENCE = re.compile(r"\{\{resolve:([^:{}]*):")
# ASCII digits: ``\d`` would take ``٣`` and other scripts' digits, which are no version.
_SSM_BODY = re.compile(r"^(?P<name>[a-zA-Z0-9_./-]+)(?::(?P<version>[0-9]+))?$")


def parameter_reader(aws: AwsCaller) -> Callable[[str], tuple[str, str] | None]:
    """``read(name) -> (type, value)`` of a parameter of the local Parameter Store; None if there is none.

    ``read`` raises only :class:`TemplateError`, naming the parameter: a deploy fails with a
    reason that says which reference or parameter it could not read, never with a bare fault.
    """

    def read(name: str) -> tuple[str, str] | None:
        try:
            found = aws.call("ssm", "GetParameter", {"Name": name, "WithDecryption": True})["Parameter"]
        except AwsError as error:
            if error.code in ("ParameterNotFound", "ParameterVersionNotFound", "ValidationException"):
                return None  # no such parameter, version or label, or a name that cannot be one
            raise TemplateError(f"SSM parameter {name}: {error.code}: {error.message}") from None
        except Exception as error:  # a fault below Parameter Store's API: the deploy says which parameter met it
            raise TemplateError(f"SSM parameter {name}: cannot be read ({type(error).__name__}: {error})") from error
        return str(found["Type"]), str(found["Value"])

    return read


def resolve_references(properties: Any, aws: AwsCaller, resource_type: str, where: str) -> Any:
    """``properties`` with every dynamic reference in their texts replaced by its value.

    Raises:
        TemplateError: a reference of an unknown service or in a wrong form, a parameter or secret
            that cannot be found, or ``ssm-secure`` where CloudFormation does not take it.
    """
    refused: list[str] = []
    secure = {tuple(path.split("/")) for path in SECURE_PROPERTIES.get(resource_type, ())}
    custom = resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"
    read = parameter_reader(aws)

    def text(value: str, path: tuple[str, ...]) -> str:
        def one(match: re.Match[str]) -> str:
            service, body = match.group(1), match.group(2)
            if service == "ssm":
                return _ssm(read, body, secure=False)
            if custom:
                # Secure values are never handed to a custom resource's function.
                raise TemplateError(f"{where}: {service} dynamic references are not supported in custom resources")
            if service == "ssm-secure":
                if not any(path[: len(allowed)] == allowed for allowed in secure):
                    refused.append("/".join((resource_type, "Properties", *path)))
                    return match.group(0)
                return _ssm(read, body, secure=True)
            return _secret(aws, body)

        if "{{resolve:" not in value:
            return value
        unknown = [s for s in _ANY_REFERENCE.findall(value) if s not in ("ssm", "ssm-secure", "secretsmanager")]
        if unknown:
            raise TemplateError(f"{where}: the dynamic reference service {unknown[0]!r} is not one of ssm, ssm-secure, secretsmanager")
        return _REFERENCE.sub(one, value)

    def walk(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            return text(value, path)
        if isinstance(value, Mapping):
            return {key: walk(item, (*path, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            # CloudFormation names a property inside a list by the list's own path.
            return [walk(item, path) for item in value]
        return value

    resolved = walk(properties, ())
    if refused:
        raise TemplateError(f"{where}: SSM Secure reference is not supported in: [{','.join(refused)}]")
    return resolved


def _ssm(read: Callable[[str], tuple[str, str] | None], body: str, *, secure: bool) -> str:
    kind = "ssm-secure" if secure else "ssm"
    parsed = _SSM_BODY.match(body)
    if parsed is None:
        raise TemplateError(f"Incorrect format is used in the following SSM reference: [{{{{resolve:{kind}:{body}}}}}]")
    try:
        found = read(body)
    except TemplateError as error:
        raise TemplateError(f"{{{{resolve:{kind}:{body}}}}}: {error}") from None
    if found is None:
        raise TemplateError(f"Parameters: [{kind}:{body}] cannot be found.")
    parameter_type, value = found
    if secure and parameter_type != "SecureString":
        raise TemplateError(f"{{{{resolve:ssm-secure:{body}}}}}: {parsed['name']} is a {parameter_type} parameter, not a SecureString")
    if not secure and parameter_type == "SecureString":
        # CloudFormation reads SecureString parameters only through ssm-secure references.
        raise TemplateError(f"{{{{resolve:ssm:{body}}}}}: {parsed['name']} is a SecureString parameter: use {{{{resolve:ssm-secure:...}}}}")
    return value


def _secret(aws: AwsCaller, body: str) -> str:
    reference = f"{{{{resolve:secretsmanager:{body}}}}}"
    parts = body.split(":")
    # An ARN names the secret with its own colons: arn:aws:secretsmanager:<region>:<account>:secret:<name>.
    cut = 7 if body.startswith("arn:") else 1
    secret_id, rest = ":".join(parts[:cut]), parts[cut:]
    rest += [""] * (4 - len(rest))
    if not secret_id or len(rest) > 4:
        raise TemplateError(f"Incorrect format is used in the following Secrets Manager reference: [{reference}]")
    kind, json_key, stage, version_id = rest
    if kind not in ("", "SecretString"):
        raise TemplateError(f"{reference}: only SecretString can be referenced (not {kind!r})")
    if stage and version_id:
        raise TemplateError(f"{reference}: a reference takes a version stage or a version id, not both")
    params: dict[str, Any] = {"SecretId": secret_id}
    if stage:
        params["VersionStage"] = stage
    if version_id:
        params["VersionId"] = version_id
    try:
        found = aws.call("secretsmanager", "GetSecretValue", params)
    except KeyError:
        raise TemplateError(f"{reference}: Secrets Manager is not served by this Sluiceway endpoint") from None
    except AwsError as error:  # said as CloudFormation says it, with Secrets Manager's message
        if error.code == "ResourceNotFoundException":
            raise TemplateError(f"{reference}: Secrets Manager can't find the specified secret.") from None
        raise TemplateError(f"{reference}: {error.code}: {error.message}") from None
    secret = found.get("SecretString")
    if secret is None:
        raise TemplateError(f"{reference}: the secret has no SecretString (only SecretBinary)")
    if not json_key:
        return str(secret)
    try:
        document = json.loads(secret)
    except ValueError:
        raise TemplateError(f"{reference}: the secret's SecretString is not JSON, so it has no key {json_key!r}") from None
    if not isinstance(document, dict) or json_key not in document:
        raise TemplateError(f"{reference}: the secret has no JSON key {json_key!r}")
    value = document[json_key]
    return value if isinstance(value, str) else json.dumps(value)

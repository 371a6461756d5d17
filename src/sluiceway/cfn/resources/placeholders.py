"""What ``Ref`` and ``Fn::GetAtt`` give for a resource Sluiceway does not emulate.

A real template holds resources nothing local stands for: a KMS key a queue is encrypted
with, a VPC a function is attached to, a Kinesis stream or a Glue database named in a
function's environment. Nothing is made for them, but the rest of the template refers to
them, and would not run if those references failed. Each such resource therefore gets the
values CloudFormation would give it, in their shapes: ``Ref`` its identifier (the name the
template gives it, else a generated one), ``Fn::GetAtt`` its ARN in the service's format,
the template's own value of a property, or an empty value of the attribute's type.

The attributes a type has, what identifies it and its ARN format come from CloudFormation's
resource schemas and IAM's service reference, kept in ``placeholders.json`` (written by
``tools/gen_cfn_placeholders.py``). An attribute the type does not have is an error, as
it is in CloudFormation's template validation.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Mapping
from importlib import resources
from typing import Any

from .base import Env, Made, physical_name

__all__ = ["placeholder"]

_EMPTY: dict[str, Any] = {"integer": 0, "number": 0, "boolean": False}

_EC2_PREFIXES = {
    "VPC": "vpc", "Subnet": "subnet", "SecurityGroup": "sg", "InternetGateway": "igw", "NatGateway": "nat",
    "RouteTable": "rtb", "VPCEndpoint": "vpce", "NetworkInterface": "eni", "Instance": "i", "LaunchTemplate": "lt",
    "NetworkAcl": "acl", "TransitGateway": "tgw", "VPCPeeringConnection": "pcx", "EgressOnlyInternetGateway": "eigw",
    "DHCPOptions": "dopt", "Volume": "vol", "PrefixList": "pl", "CustomerGateway": "cgw", "VPNGateway": "vgw",
}  # fmt: skip
"""EC2 ids start with their kind (``vpc-0abc...``, ``sg-0abc...``): code may check that."""
_DEFAULT_PORTS = {"mysql": 3306, "mariadb": 3306, "aurora": 3306, "aurora-mysql": 3306, "postgres": 5432,
                  "aurora-postgresql": 5432, "oracle": 1521, "sqlserver": 1433, "docdb": 27017, "neptune": 8182}  # fmt: skip
"""A database's port when the template names none (the engines' defaults, as RDS gives them)."""


@functools.cache
def _specs() -> Mapping[str, Any]:
    text = resources.files(__package__).joinpath("placeholders.json").read_text(encoding="utf-8")
    specs: Mapping[str, Any] = json.loads(text)
    return specs


def placeholder(env: Env, logical: str, kind: str, properties: Mapping[str, Any], stored_id: str | None) -> Made:
    """The identity and attributes of ``logical``, a ``kind`` that is not emulated (nothing is made)."""
    spec = _specs().get(kind)
    generated = stored_id or _generated_id(env, logical, kind)
    if spec is None:  # a type CloudFormation's schemas do not know (a third-party one): its id alone
        return Made(generated, generated)
    id_property: str | None = spec["id"]
    _, _, type_name = kind.split("::")
    arn_format: str = spec["arn"]
    named = _lookup(properties, id_property) if id_property else None
    by_arn = bool(id_property) and str(id_property).endswith("Arn")
    if by_arn:
        # The ARN is the identifier; its variable part is the resource's name where the template gives one.
        given_name = _lookup(properties, "Name")
        leaf = str(given_name) if _scalar(given_name) else generated.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        arn = str(named) if _scalar(named) else _arn(env, arn_format, leaf)
        identifier = arn
    else:
        identifier = str(named) if _scalar(named) else generated
        arn = _arn(env, arn_format, identifier)
    service = arn_format.split(":")[2]
    attributes: dict[str, Any] = {}
    for name, json_type in spec["attributes"].items():
        given = _lookup(properties, name)
        if given is not None:
            attributes[name] = given
        elif json_type == "string" and (name in (id_property, "Id") or _names_this(name, type_name)):
            attributes[name] = identifier
        elif name in ("Arn", f"{type_name}Arn"):
            attributes[name] = arn
        elif name.rsplit(".", 1)[-1] == "Port" and json_type in ("string", "integer"):
            port = _port(properties)
            attributes[name] = str(port) if json_type == "string" else port
        elif json_type == "string" and name.endswith("SecretArn"):
            # A managed secret (an RDS master password, a connection's credentials): Secrets Manager's.
            suffix = hashlib.sha256(identifier.encode()).hexdigest()[:6]
            attributes[name] = f"arn:aws:secretsmanager:{env.region}:{env.account_id}:secret:{identifier}-{suffix}"
        elif json_type == "string" and name.rsplit(".", 1)[-1] in ("Address", "DNSName", "DnsName", "Hostname"):
            attributes[name] = f"{identifier.lower()}.{env.region}.{service}.amazonaws.com"
        elif json_type == "string" and name.endswith("Arn"):
            # Another resource's ARN (a cluster's managed secret): shaped as one, named after this resource.
            leaf_kind = name.rsplit(".", 1)[-1][: -len("Arn")].lower() or "resource"
            attributes[name] = f"arn:aws:{service}:{env.region}:{env.account_id}:{leaf_kind}/{identifier}"
        elif json_type == "string":
            attributes[name] = f"{identifier}-{name.lower().replace('.', '-')}"
        elif json_type in ("array", "object"):
            attributes[name] = [] if json_type == "array" else {}
        else:
            attributes[name] = _EMPTY[json_type]
    return Made(identifier, identifier, attributes)


def _generated_id(env: Env, logical: str, kind: str) -> str:
    """An identifier in the shape the service gives one, the same at every deploy of the stack."""
    seed = f"{env.account_id}/{env.region}/{env.stack_name}/{logical}"
    _, namespace, type_name = kind.split("::")
    if kind == "AWS::KMS::Key":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sluiceway-kms-key/{seed}"))  # key ids are UUIDs
    if namespace == "EC2" and type_name in _EC2_PREFIXES:
        return f"{_EC2_PREFIXES[type_name]}-{hashlib.sha256(seed.encode()).hexdigest()[:17]}"
    return physical_name(env.stack_name, logical, 128)


def _port(properties: Mapping[str, Any]) -> int:
    port = properties.get("Port")
    if _scalar(port) and str(port).isdigit():
        return int(str(port))
    return _DEFAULT_PORTS.get(str(properties.get("Engine") or "").lower(), 0)


def _arn(env: Env, arn_format: str, leaf: str) -> str:
    return (
        arn_format.replace("${Partition}", "aws").replace("${Region}", env.region).replace("${Account}", env.account_id).replace("*", leaf)
    )


def _names_this(attribute: str, type_name: str) -> bool:
    """Whether ``attribute`` is this resource's own id: ``GroupId`` of a SecurityGroup, ``KeyId`` of a Key."""
    stem = attribute[: -len("Id")] if attribute.endswith("Id") else ""
    return bool(stem) and "." not in stem and type_name.endswith(stem)


def _lookup(properties: Mapping[str, Any], dotted: str | None) -> Any:
    """The template's value at ``A.B`` (an attribute that is also a property returns what the template set)."""
    if not dotted:
        return None
    value: Any = properties
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    # A dynamic reference is not resolved for what is not made (nothing is read for it): it gives
    # no value, so nothing that uses this attribute reads a parameter or secret either.
    return None if "{{resolve:" in json.dumps(value, default=str) else value


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) != "" and "{{resolve:" not in str(value)

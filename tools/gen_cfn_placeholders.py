"""Write ``src/sluiceway/cfn/resources/placeholders.json`` from cfn-lint's copy of CloudFormation's schemas.

A template may hold resources Sluiceway does not emulate (a KMS key, a Kinesis stream, a VPC).
Nothing is made for them locally, but ``Ref`` and ``Fn::GetAtt`` of them must still resolve,
or the rest of the template could not run. For each resource type this keeps what they need:
the property that identifies it (what ``Ref`` returns), the attributes ``Fn::GetAtt`` may name
with their JSON types, and the resource's ARN format from IAM's service reference.

Run with the dev dependencies installed: ``.venv/bin/python tools/gen_cfn_placeholders.py``.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

REGION = "us-east-1"
OUT = Path(__file__).resolve().parent.parent / "src/sluiceway/cfn/resources/placeholders.json"

# CloudFormation namespaces whose IAM service prefix is not their lower-cased name.
_PREFIXES = {
    "KinesisFirehose": "firehose",
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "ElasticLoadBalancing": "elasticloadbalancing",
    "CertificateManager": "acm",
    "Cognito": "cognito-idp",
    "StepFunctions": "states",
    "OpenSearchService": "es",
    "Elasticsearch": "es",
    "KinesisAnalytics": "kinesisanalytics",
    "KinesisAnalyticsV2": "kinesisanalytics",
    "ApiGatewayV2": "apigateway",
    "CloudWatch": "cloudwatch",
    "ElastiCache": "elasticache",
    "EventSchemas": "schemas",
    "Route53Resolver": "route53resolver",
    "MSK": "kafka",
    "KafkaConnect": "kafkaconnect",
    "RedshiftServerless": "redshift-serverless",
    "DocDB": "rds",
    "Neptune": "rds",
    "EFS": "elasticfilesystem",
    "SSO": "sso",
}


# Resource types IAM's service reference names otherwise than by the type's name.
_IAM_RESOURCES = {
    "AWS::RDS::DBInstance": "db",
    "AWS::RDS::DBSubnetGroup": "subgrp",
    "AWS::RDS::DBParameterGroup": "pg",
    "AWS::RDS::DBClusterParameterGroup": "cluster-pg",
    "AWS::RDS::OptionGroup": "og",
    "AWS::IAM::OIDCProvider": "oidc-provider",
    "AWS::IAM::SAMLProvider": "saml-provider",
    "AWS::Cognito::IdentityPool": "identitypool",
}
# Types whose service prefix is not their namespace's.
_TYPE_PREFIXES = {"AWS::Cognito::IdentityPool": "cognito-identity"}
# Services whose ARNs name no region.
_GLOBAL = {"iam", "cloudfront", "route53", "s3", "organizations", "waf", "globalaccelerator"}


def _json_type(schema: dict[str, Any], node: dict[str, Any]) -> str:
    for _ in range(20):  # follow $ref chains
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/definitions/"):
            break
        node = schema.get("definitions", {}).get(ref.split("/")[-1], {})
    kind = node.get("type", "string")
    if isinstance(kind, list):
        kind = kind[0] if kind else "string"
    if kind not in ("string", "integer", "number", "boolean", "array", "object"):
        return "string"
    return str(kind)


def _node(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    node: dict[str, Any] = schema
    for part in pointer.strip("/").split("/"):
        for _ in range(20):
            ref = node.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/definitions/"):
                break
            node = schema.get("definitions", {}).get(ref.split("/")[-1], {})
        node = node.get("items", {}) if part == "*" else node.get(part, {})
    return node


def _arn_format(policies: dict[str, Any], kind: str) -> str:
    _, namespace, name = kind.split("::")
    prefix = _TYPE_PREFIXES.get(kind) or _PREFIXES.get(namespace, namespace.lower())
    found = (policies.get(prefix) or {}).get("Resources") or {}
    # IAM names a resource in lower case, sometimes hyphenated, and RDS's without their DB prefix.
    candidates = (
        _IAM_RESOURCES.get(kind, name.lower()),
        re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower(),
        re.sub(r"^DB(?=[A-Z])", "", name).lower(),
    )
    for key in candidates:
        formats = (found.get(key) or {}).get("ARNFormats") or []
        if len(formats) == 1 and formats[0].count(".*") == 1 and formats[0].endswith(".*"):
            return str(formats[0][:-2] + "*")
    region = "" if prefix in _GLOBAL else "${Region}"
    return f"arn:${{Partition}}:{prefix}:{region}:${{Account}}:{name.lower()}/*"


def main() -> None:
    policies = json.loads(resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text())
    providers = json.loads(resources.files("cfnlint.data.schemas.providers").joinpath(f"{REGION.replace('_', '-')}.json").read_text())
    out: dict[str, Any] = {}
    for kind in sorted(providers):
        if not kind.startswith("AWS::") or kind.count("::") != 2:
            continue
        resource = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, kind)
        schema = resource.schema
        identifiers = [p.rsplit("/", 1)[-1] for p in schema.get("primaryIdentifier") or []]
        attributes = {
            name: _json_type(schema, _node(schema, pointer))
            for name, pointer in PROVIDER_SCHEMA_MANAGER.get_type_getatts(kind, REGION).items()
            if "*" not in pointer
        }
        out[kind] = {"id": identifiers[0] if identifiers else None, "arn": _arn_format(policies, kind), "attributes": attributes}
    OUT.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{len(out)} resource types written to {OUT}")


if __name__ == "__main__":
    main()

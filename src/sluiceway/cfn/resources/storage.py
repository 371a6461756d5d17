"""AWS::S3::Bucket and AWS::DynamoDB::Table."""

from __future__ import annotations

from typing import Any

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name

__all__ = ["Bucket", "Table"]

# CloudFormation's NotificationConfiguration lists -> PutBucketNotificationConfiguration's.
_NOTIFICATION_LISTS = (
    ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
    ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
    ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
)


def notification_configuration(config: dict[str, Any], where: str) -> dict[str, Any]:
    """A bucket's ``NotificationConfiguration`` as CloudFormation writes it, in the S3 API's shape."""
    result: dict[str, Any] = {}
    for cfn_list, api_list, cfn_target, api_target in _NOTIFICATION_LISTS:
        entries = []
        for index, entry in enumerate(config.get(cfn_list) or []):
            if not isinstance(entry, dict) or not isinstance(entry.get(cfn_target), str) or not isinstance(entry.get("Event"), str):
                raise TemplateError(f"{where}.{cfn_list}[{index}]: needs Event and {cfn_target}")
            made: dict[str, Any] = {api_target: entry[cfn_target], "Events": [entry["Event"]]}
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                made["Filter"] = {"Key": {"FilterRules": [{"Name": r.get("Name"), "Value": r.get("Value")} for r in rules]}}
            entries.append(made)
        if entries:
            result[api_list] = entries
    bridge = config.get("EventBridgeConfiguration")
    if isinstance(bridge, dict) and str(bridge.get("EventBridgeEnabled", True)).lower() == "true":
        result["EventBridgeConfiguration"] = {}
    return result


class Bucket:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("BucketName") or physical_name(env.stack_name, request.logical_id, 63, lowercase=True)
        try:
            env.aws.call("s3", "CreateBucket", {"Bucket": name})
        except AwsError as error:
            if error.code != "BucketAlreadyOwnedByYou":
                raise
        config = props.get("NotificationConfiguration")
        if isinstance(config, dict) or request.previous is not None:
            params = notification_configuration(config if isinstance(config, dict) else {}, f"{request.where}.NotificationConfiguration")
            env.aws.call("s3", "PutBucketNotificationConfiguration", {"Bucket": name, "NotificationConfiguration": params})
        for ignored in ("VersioningConfiguration", "LifecycleConfiguration", "WebsiteConfiguration", "ReplicationConfiguration"):
            if ignored in props:
                env.warn(f"{request.logical_id}: {ignored} is not emulated locally (the bucket is made without it)")
        host = f"{name}.s3.amazonaws.com"
        return Made(
            name,
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": host,
                "DualStackDomainName": f"{name}.s3.dualstack.{env.region}.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{env.region}.amazonaws.com",
                "WebsiteURL": f"http://{name}.s3-website-{env.region}.amazonaws.com",
            },
        )

    def delete(self, env: Env, stored: Stored) -> None:
        # CloudFormation cannot delete a bucket that holds objects (DELETE_FAILED); locally it is kept
        # with its objects then, and said.
        try:
            env.aws.call("s3", "DeleteBucket", {"Bucket": stored.physical_id})
        except AwsError as error:
            if error.code == "BucketNotEmpty":
                env.warn(f"{stored.logical_id}: bucket {stored.physical_id} is not empty and was kept")
            elif error.code != "NoSuchBucket":
                raise


_TABLE_KEYS = (
    "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput", "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes", "SSESpecification", "TableClass", "DeletionProtectionEnabled", "OnDemandThroughput",
)  # fmt: skip


def _keys(schema: Any) -> set[tuple[str, str]]:
    return {(str(k.get("AttributeName")), str(k.get("KeyType"))) for k in schema or [] if isinstance(k, dict)}


class Table:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("TableName") or physical_name(env.stack_name, request.logical_id, 255)
        previous = request.previous
        replaced: str | None = None
        if (
            not props.get("TableName")
            and previous is not None
            and _keys(previous.properties.get("KeySchema")) != _keys(props.get("KeySchema"))
        ):
            # A key change replaces an unnamed table: CloudFormation makes the new one under a new name,
            # then deletes the old one.
            replaced = previous.physical_id
            name = physical_name(env.stack_name, request.logical_id, 255, generation=str(sorted(_keys(props.get("KeySchema")))))
        params: dict[str, Any] = {"TableName": name, **{key: props[key] for key in _TABLE_KEYS if key in props}}
        params.setdefault("BillingMode", "PROVISIONED" if "ProvisionedThroughput" in props else "PAY_PER_REQUEST")
        if params.get("SSESpecification"):
            params["SSESpecification"] = {
                k: v for k, v in params["SSESpecification"].items() if k in ("Enabled", "SSEType", "KMSMasterKeyId")
            }
        stream = props.get("StreamSpecification")
        if isinstance(stream, dict) and stream.get("StreamViewType"):
            # CloudFormation's StreamSpecification has only the view type; the API's says it is on.
            params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        tags = props.get("Tags")
        if tags:
            params["Tags"] = tags
        try:
            description = env.aws.call("dynamodb", "CreateTable", params)["TableDescription"]
        except AwsError as error:
            if error.code != "ResourceInUseException":
                raise
            description = self._update(env, request, name, params)
        ttl = props.get("TimeToLiveSpecification")
        previous_ttl = request.previous.properties.get("TimeToLiveSpecification") if request.previous else None
        if isinstance(ttl, dict) and ttl.get("AttributeName") and ttl != previous_ttl:
            try:
                env.aws.call(
                    "dynamodb",
                    "UpdateTimeToLive",
                    {
                        "TableName": name,
                        "TimeToLiveSpecification": {"Enabled": ttl.get("Enabled", True), "AttributeName": ttl["AttributeName"]},
                    },
                )
            except (AwsError, KeyError):
                env.warn(f"{request.logical_id}: TimeToLiveSpecification is not emulated locally")
        if replaced is not None and replaced != name:
            self.delete(env, Stored(request.logical_id, request.type, replaced, {}))
        attributes = {"Arn": description.get("TableArn", env.arn("dynamodb", f"table/{name}"))}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return Made(name, name, attributes)

    def _update(self, env: Env, request: Request, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Bring an existing table to the template: stream, indexes, billing (one change per UpdateTable, as DynamoDB takes them)."""
        current = env.aws.call("dynamodb", "DescribeTable", {"TableName": name})["Table"]
        if _keys(current.get("KeySchema")) != _keys(params.get("KeySchema")):
            # CloudFormation replaces a table whose key schema changes; a replacement under the same
            # (custom) name fails there too. An unnamed table gets a new name instead (see apply).
            raise TemplateError(f"{request.where}.KeySchema: changing a table's keys replaces it; give the table a new TableName")
        wanted = params.get("StreamSpecification") or {"StreamEnabled": False}
        have = current.get("StreamSpecification") or {"StreamEnabled": False}
        if wanted != have:
            if have.get("StreamEnabled"):
                env.aws.call("dynamodb", "UpdateTable", {"TableName": name, "StreamSpecification": {"StreamEnabled": False}})
            if wanted.get("StreamEnabled"):
                env.aws.call("dynamodb", "UpdateTable", {"TableName": name, "StreamSpecification": wanted})
        existing = {index["IndexName"] for index in current.get("GlobalSecondaryIndexes", [])}
        declared = {index["IndexName"]: index for index in params.get("GlobalSecondaryIndexes", [])}
        for index_name in sorted(existing - set(declared)):
            env.aws.call(
                "dynamodb", "UpdateTable", {"TableName": name, "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": index_name}}]}
            )
        for index_name in sorted(set(declared) - existing):
            update: dict[str, Any] = {
                "TableName": name,
                "AttributeDefinitions": params["AttributeDefinitions"],
                "GlobalSecondaryIndexUpdates": [{"Create": declared[index_name]}],
            }
            env.aws.call("dynamodb", "UpdateTable", update)
        billing = (current.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        if params.get("BillingMode") and params["BillingMode"] != billing:
            change: dict[str, Any] = {"TableName": name, "BillingMode": params["BillingMode"]}
            if params.get("ProvisionedThroughput"):
                change["ProvisionedThroughput"] = params["ProvisionedThroughput"]
            env.aws.call("dynamodb", "UpdateTable", change)
        described: dict[str, Any] = env.aws.call("dynamodb", "DescribeTable", {"TableName": name})["Table"]
        return described

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("dynamodb", "DeleteTable", {"TableName": stored.physical_id})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise

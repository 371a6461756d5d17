"""AWS::Kinesis::Stream: a Kinesis data stream, made through the endpoint's CreateStream.

Without a Name, CloudFormation names it ``<stack>-<LogicalId>-<13 characters>``. Ref gives the
name, Fn::GetAtt ``Arn`` its ARN. Name is create-only: a new name makes a new stream and deletes
the old one; a Name a stream already has (and the stack did not make) fails. Retention,
encryption and tags are brought to the template's on every update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name

__all__ = ["KinesisStream"]

_MAX_NAME: Final = 128
_DEFAULT_SHARDS: Final = 1
"""A PROVISIONED stream without ShardCount gets one shard (not confirmed against CloudFormation itself;
its documentation marks ShardCount as required for PROVISIONED streams, and one is what moto's does)."""
_DEFAULT_RETENTION: Final = 24


class KinesisStream:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = str(props.get("Name") or physical_name(env.stack_name, request.logical_id, _MAX_NAME))
        mode = str((props.get("StreamModeDetails") or {}).get("StreamMode") or "PROVISIONED")
        if mode not in ("PROVISIONED", "ON_DEMAND"):
            raise TemplateError(f"{request.where}.StreamModeDetails.StreamMode: {mode} is not PROVISIONED or ON_DEMAND")
        shards = _int(props.get("ShardCount"), f"{request.where}.ShardCount")
        tags = _tags(props.get("Tags"), request.where)
        current = _describe(env, name)
        previous = request.previous
        if current is not None and (previous is None or previous.physical_id != name):
            # A stream the stack does not own: adopting it would reshape it now and delete it with
            # the stack. CloudFormation fails the resource with its handlers' AlreadyExists error.
            raise TemplateError(f"{request.where}.Name: Resource of type 'AWS::Kinesis::Stream' with identifier '{name}' already exists.")
        if current is None:
            params: dict[str, Any] = {"StreamName": name, "StreamModeDetails": {"StreamMode": mode}}
            if mode == "PROVISIONED":
                params["ShardCount"] = _DEFAULT_SHARDS if shards is None else shards
            if tags:
                params["Tags"] = dict(tags)
            env.aws.call("kinesis", "CreateStream", params)
            current = _describe(env, name)
            assert current is not None
        else:
            open_shards = int(current["OpenShardCount"])
            wanted = _DEFAULT_SHARDS if shards is None else shards
            if mode == "PROVISIONED" and current["StreamModeDetails"]["StreamMode"] == mode and wanted != open_shards:
                # Resharding (UpdateShardCount) is not served locally: say so rather than ignore it.
                raise TemplateError(f"{request.where}.ShardCount: changing a stream's shard count is not supported locally")
            _retag(env, name, tags)
        _retain(env, name, int(current["RetentionPeriodHours"]), props, request.where)
        _encrypt(env, name, current, props.get("StreamEncryption"))
        if previous is not None and previous.physical_id != name:
            self.delete(env, previous)  # Name is create-only: the stream under the old name was replaced
        return Made(name, name, {"Arn": str(current["StreamARN"])})

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("kinesis", "DeleteStream", {"StreamName": stored.physical_id, "EnforceConsumerDeletion": True})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise


def _int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TemplateError(f"{where}: expected type: Integer, found: {type(value).__name__}") from None


def _tags(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) and "Key" in t and "Value" in t for t in raw):
        raise TemplateError(f"{where}.Tags: expected a list of {{Key, Value}}")
    return {str(t["Key"]): str(t["Value"]) for t in raw}


def _describe(env: Env, name: str) -> dict[str, Any] | None:
    try:
        summary: dict[str, Any] = env.aws.call("kinesis", "DescribeStreamSummary", {"StreamName": name})["StreamDescriptionSummary"]
    except AwsError as error:
        if error.code != "ResourceNotFoundException":
            raise
        return None
    return summary


def _retain(env: Env, name: str, held: int, props: Mapping[str, Any], where: str) -> None:
    wanted = _int(props.get("RetentionPeriodHours"), f"{where}.RetentionPeriodHours") or _DEFAULT_RETENTION
    if wanted > held:
        env.aws.call("kinesis", "IncreaseStreamRetentionPeriod", {"StreamName": name, "RetentionPeriodHours": wanted})
    elif wanted < held:
        env.aws.call("kinesis", "DecreaseStreamRetentionPeriod", {"StreamName": name, "RetentionPeriodHours": wanted})


def _encrypt(env: Env, name: str, current: Mapping[str, Any], wanted: Any) -> None:
    held = (current.get("EncryptionType") or "NONE", current.get("KeyId"))
    if isinstance(wanted, Mapping) and wanted.get("EncryptionType", "NONE") != "NONE":
        target = (str(wanted["EncryptionType"]), str(wanted.get("KeyId")))
        if target != held:
            env.aws.call("kinesis", "StartStreamEncryption", {"StreamName": name, "EncryptionType": target[0], "KeyId": target[1]})
    elif held[0] != "NONE":
        env.aws.call("kinesis", "StopStreamEncryption", {"StreamName": name, "EncryptionType": held[0], "KeyId": str(held[1])})


def _retag(env: Env, name: str, tags: Mapping[str, str]) -> None:
    held = {t["Key"]: t["Value"] for t in env.aws.call("kinesis", "ListTagsForStream", {"StreamName": name})["Tags"]}
    gone = [key for key in held if key not in tags]
    if gone:
        env.aws.call("kinesis", "RemoveTagsFromStream", {"StreamName": name, "TagKeys": gone})
    changed = {key: value for key, value in tags.items() if held.get(key) != value}
    if changed:
        env.aws.call("kinesis", "AddTagsToStream", {"StreamName": name, "Tags": changed})

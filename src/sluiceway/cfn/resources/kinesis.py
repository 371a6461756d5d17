"""AWS::Kinesis::Stream: a Kinesis data stream, made through the endpoint's CreateStream.

Without a Name, CloudFormation names it ``<stack>-<LogicalId>-<13 characters>``. Ref gives the
name, Fn::GetAtt ``Arn`` its ARN. Name is create-only: a new name makes a new stream and deletes
the old one; a Name a stream already has (and the stack did not make) fails. A generated name
is the stack's own: a stream left under it by a run that failed before recording it is taken
over. Retention, encryption and tags are brought to the template's on every update.
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
_MIN_RETENTION: Final = 24
_MAX_RETENTION: Final = 8760
"""365 days, Kinesis's longest retention."""
_MAX_KEY_ID: Final = 2048


class KinesisStream:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        given = props.get("Name")
        name = str(given or physical_name(env.stack_name, request.logical_id, _MAX_NAME))
        mode = str((props.get("StreamModeDetails") or {}).get("StreamMode") or "PROVISIONED")
        if mode not in ("PROVISIONED", "ON_DEMAND"):
            raise TemplateError(f"{request.where}.StreamModeDetails.StreamMode: {mode} is not PROVISIONED or ON_DEMAND")
        shards = _int(props.get("ShardCount"), f"{request.where}.ShardCount")
        tags = _tags(props.get("Tags"), request.where)
        # Checked before anything is made: a stream made and then refused its retention or its
        # encryption would be left behind by a failed deploy.
        retention = _retention(props, request.where)
        encryption = _encryption(props.get("StreamEncryption"), request.where)
        current = _describe(env, name)
        previous = request.previous
        owned = previous is not None and previous.physical_id == name
        if current is not None and not owned:
            if given:
                # A stream the stack does not own: adopting it would reshape it now and delete it
                # with the stack. CloudFormation fails the resource with its handlers' AlreadyExists error.
                raise TemplateError(
                    f"{request.where}.Name: Resource of type 'AWS::Kinesis::Stream' with identifier '{name}' already exists."
                )
            # A generated name is this stack's and this resource's alone (it is derived from both), so
            # an unrecorded stream under it was made by an earlier run of this stack that failed, or
            # was killed, before recording it. It is taken over; made again if its shape is not the
            # template's (nothing but that failed run has used it).
            if not _same_shape(current, mode, shards):
                env.aws.call("kinesis", "DeleteStream", {"StreamName": name, "EnforceConsumerDeletion": True})
                current = None
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
            if not _same_shape(current, mode, shards):
                # Resharding (UpdateShardCount) is not served locally: say so rather than ignore it.
                raise TemplateError(f"{request.where}.ShardCount: changing a stream's shard count is not supported locally")
            _retag(env, name, tags)
        _retain(env, name, int(current["RetentionPeriodHours"]), retention)
        _encrypt(env, name, current, encryption)
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


def _same_shape(current: Mapping[str, Any], mode: str, shards: int | None) -> bool:
    """Whether the stream has the shard count the template asks of a PROVISIONED stream."""
    wanted = _DEFAULT_SHARDS if shards is None else shards
    held_mode = current["StreamModeDetails"]["StreamMode"]
    return not (mode == "PROVISIONED" and held_mode == mode and wanted != int(current["OpenShardCount"]))


def _retention(props: Mapping[str, Any], where: str) -> int:
    """The template's RetentionPeriodHours, refused as Increase/DecreaseStreamRetentionPeriod refuse it."""
    hours = _int(props.get("RetentionPeriodHours"), f"{where}.RetentionPeriodHours")
    if hours is None:
        return _DEFAULT_RETENTION
    if hours < _MIN_RETENTION:
        raise TemplateError(
            f"{where}.RetentionPeriodHours: InvalidArgumentException: Minimum allowed retention period is {_MIN_RETENTION} hours. "
            f"Requested retention period ({hours} hours) is too short."
        )
    if hours > _MAX_RETENTION:
        raise TemplateError(
            f"{where}.RetentionPeriodHours: InvalidArgumentException: Maximum allowed retention period is {_MAX_RETENTION} hours. "
            f"Requested retention period ({hours} hours) is too long."
        )
    return hours


def _encryption(raw: Any, where: str) -> tuple[str, str] | None:
    """The template's StreamEncryption as (type, key), or None when it asks for none.

    The resource's schema requires both keys and allows only ``KMS``; ``NONE`` is taken as no
    encryption too, as StartStreamEncryption's own enum has it (not confirmed that CloudFormation
    accepts it).
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise TemplateError(f"{where}.StreamEncryption: expected type: JSONObject, found: {type(raw).__name__}")
    kind = raw.get("EncryptionType")
    if kind is None:
        raise TemplateError(f"{where}.StreamEncryption: required key [EncryptionType] not found")
    if kind == "NONE":
        return None
    if kind != "KMS":
        raise TemplateError(f"{where}.StreamEncryption.EncryptionType: {kind} is not a valid enum value")
    key = raw.get("KeyId")
    if key is None:
        raise TemplateError(f"{where}.StreamEncryption: required key [KeyId] not found")
    if not isinstance(key, str) or not 1 <= len(key) <= _MAX_KEY_ID:
        raise TemplateError(f"{where}.StreamEncryption.KeyId: expected a string of 1 to {_MAX_KEY_ID} characters")
    return str(kind), key


def _retain(env: Env, name: str, held: int, wanted: int) -> None:
    if wanted > held:
        env.aws.call("kinesis", "IncreaseStreamRetentionPeriod", {"StreamName": name, "RetentionPeriodHours": wanted})
    elif wanted < held:
        env.aws.call("kinesis", "DecreaseStreamRetentionPeriod", {"StreamName": name, "RetentionPeriodHours": wanted})


def _encrypt(env: Env, name: str, current: Mapping[str, Any], wanted: tuple[str, str] | None) -> None:
    held = (current.get("EncryptionType") or "NONE", current.get("KeyId"))
    if wanted is not None:
        if wanted != held:
            env.aws.call("kinesis", "StartStreamEncryption", {"StreamName": name, "EncryptionType": wanted[0], "KeyId": wanted[1]})
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

"""AWS::SSM::Parameter: a Parameter Store parameter, made through the endpoint's PutParameter.

Without a Name, CloudFormation names it ``CFN-<LogicalId>-<12 characters>``; Ref gives the
name, Fn::GetAtt ``Type`` and ``Value``. CloudFormation does not create SecureString
parameters (its Type takes String and StringList), and Name is create-only: a new name
makes a new parameter and deletes the old one. Tags are an object of keys and values here.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping
from typing import Any

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, require

__all__ = ["Parameter", "generated_name"]

_ALPHABET = string.ascii_letters + string.digits
_TYPES = ("String", "StringList")
_DATA_TYPES = ("text", "aws:ec2:image")
_SETTINGS = ("Description", "AllowedPattern", "Tier", "Policies", "DataType")


def generated_name(stack_name: str, logical_id: str) -> str:
    """``CFN-<LogicalId>-<12 letters and digits>``, the same at each start of the same stack."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()
    return f"CFN-{logical_id}-" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:12])


class Parameter:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        kind = require(request, "Type")
        if kind not in _TYPES:
            # CloudFormation's schema of the type takes String and StringList only.
            raise TemplateError(f"{request.where}.Type: #/Type: {kind} is not a valid enum value (String, StringList)")
        value = props.get("Value")
        if value is None:
            raise TemplateError(f"{request.where}: #: required key [Value] not found")
        text = _text(value)
        data_type = props.get("DataType")
        if data_type is not None and data_type not in _DATA_TYPES:
            raise TemplateError(f"{request.where}.DataType: #/DataType: {data_type} is not a valid enum value (text, aws:ec2:image)")
        previous = request.previous
        name = str(props.get("Name") or generated_name(env.stack_name, request.logical_id))
        tags = _tags(props.get("Tags"), request.where)
        current = _current(env, name)
        params: dict[str, Any] = {"Name": name, "Value": text, "Type": kind}
        params.update({key: _text(props[key]) for key in _SETTINGS if props.get(key) is not None})
        if current is None:
            if tags:
                params["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
            env.aws.call("ssm", "PutParameter", params)
        else:
            unchanged = previous is not None and dict(previous.properties) == dict(props) and current == (kind, text)
            if not unchanged:
                env.aws.call("ssm", "PutParameter", {**params, "Overwrite": True})
            _retag(env, name, tags)
        if previous is not None and previous.physical_id != name:
            # Name is create-only: the parameter under the old name was replaced.
            self.delete(env, previous)
        return Made(name, name, {"Type": kind, "Value": text})

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("ssm", "DeleteParameter", {"Name": stored.physical_id})
        except AwsError as error:
            if error.code != "ParameterNotFound":
                raise


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        # A list given for a StringList's value is its items joined as CloudFormation takes them.
        return ",".join(_text(item) for item in value)
    return str(value)


def _tags(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError(f"{where}.Tags: #/Tags: expected type: JSONObject, found: {type(raw).__name__}")
    return {str(k): _text(v) for k, v in raw.items()}


def _current(env: Env, name: str) -> tuple[str, str] | None:
    try:
        found = env.aws.call("ssm", "GetParameter", {"Name": name, "WithDecryption": True})["Parameter"]
    except AwsError as error:
        if error.code != "ParameterNotFound":
            raise
        return None
    return str(found["Type"]), str(found["Value"])


def _retag(env: Env, name: str, tags: Mapping[str, str]) -> None:
    held = {
        t["Key"]: t["Value"]
        for t in env.aws.call("ssm", "ListTagsForResource", {"ResourceType": "Parameter", "ResourceId": name})["TagList"]
    }
    gone = [key for key in held if key not in tags]
    if gone:
        env.aws.call("ssm", "RemoveTagsFromResource", {"ResourceType": "Parameter", "ResourceId": name, "TagKeys": gone})
    changed = {key: value for key, value in tags.items() if held.get(key) != value}
    if changed:
        tag_list = [{"Key": k, "Value": v} for k, v in changed.items()]
        env.aws.call("ssm", "AddTagsToResource", {"ResourceType": "Parameter", "ResourceId": name, "Tags": tag_list})

"""``AWS::Pipes::Pipe``: an EventBridge pipe, made through the Pipes API (``endpoint/services/pipes.py``).

``Ref`` gives the pipe's name; ``Fn::GetAtt`` its ``Arn``, ``CurrentState``, ``StateReason``,
``CreationTime`` and ``LastModifiedTime``. A new ``Name`` or ``Source`` replaces the pipe (both are
immutable in Pipes' API, and CloudFormation replaces on them); any other change is an UpdatePipe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...endpoint.errors import AwsError
from .base import Env, Made, Request, Stored, physical_name, require

__all__ = ["Pipe"]

_DEFINITION: Final = (
    "Description",
    "DesiredState",
    "Source",
    "SourceParameters",
    "Enrichment",
    "EnrichmentParameters",
    "Target",
    "TargetParameters",
    "RoleArn",
    "LogConfiguration",
    "KmsKeyIdentifier",
)


#: What UpdatePipe takes to clear a top-level member the template no longer has (UpdatePipe
#: keeps the members it is not sent): Pipes documents the empty Enrichment, InputTemplate and
#: KmsKeyIdentifier; a pipe without DesiredState runs.
_TOP_RESETS: Final = {"Description": "", "Enrichment": "", "KmsKeyIdentifier": "", "DesiredState": "RUNNING"}
_PARAMETER_OBJECTS: Final = ("SourceParameters", "EnrichmentParameters", "TargetParameters")


def _member_reset(member: str) -> Any:
    """A parameter object's member left out: an empty template or filter, or a service's object
    sent empty (UpdatePipe then sets each of its fields to its default)."""
    return "" if member == "InputTemplate" else {}


def _resets(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """UpdatePipe's members that clear what the previous template set and this one leaves out."""
    out: dict[str, Any] = {}
    for key, empty in _TOP_RESETS.items():
        if before.get(key) is not None and after.get(key) is None:
            out[key] = empty
    for key in _PARAMETER_OBJECTS:
        if key == "EnrichmentParameters" and after.get("Enrichment") is None:
            continue  # the empty Enrichment removes its parameters too
        old, new = dict(before.get(key) or {}), dict(after.get(key) or {})
        gone = {member: _member_reset(member) for member in old if new.get(member) is None}
        if gone:
            out[key] = {**new, **gone}
    return out


class Pipe:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        require(request, "Source")
        require(request, "Target")
        require(request, "RoleArn")
        name = props.get("Name") or physical_name(env.stack_name, request.logical_id, 64)
        params: dict[str, Any] = {"Name": name, **{key: props[key] for key in _DEFINITION if props.get(key) is not None}}
        previous = request.previous
        same = previous is not None and previous.physical_id == name and previous.properties.get("Source") == props.get("Source")
        if same:
            update = {key: value for key, value in params.items() if key != "Source"}
            update.update(_resets(previous.properties if previous else {}, props))
            env.aws.call("pipes", "UpdatePipe", update)
            tags = dict(props.get("Tags") or {})
            arn = env.arn("pipes", f"pipe/{name}")
            gone = [key for key in dict((previous.properties if previous else {}).get("Tags") or {}) if key not in tags]
            if gone:
                env.aws.call("pipes", "UntagResource", {"resourceArn": arn, "tagKeys": gone})
            if tags:
                env.aws.call("pipes", "TagResource", {"resourceArn": arn, "tags": tags})
        else:
            if previous is not None:
                self.delete(env, previous)
            if props.get("Tags"):
                params["Tags"] = dict(props["Tags"])
            env.aws.call("pipes", "CreatePipe", params)
        described = env.aws.call("pipes", "DescribePipe", {"Name": name})
        attributes = {
            "Arn": described["Arn"],
            "CurrentState": described["CurrentState"],
            "StateReason": described.get("StateReason", ""),
            "CreationTime": described["CreationTime"].isoformat(),
            "LastModifiedTime": described["LastModifiedTime"].isoformat(),
        }
        return Made(name, name, attributes)

    def delete(self, env: Env, stored: Stored) -> None:
        try:
            env.aws.call("pipes", "DeletePipe", {"Name": stored.physical_id})
        except AwsError as error:
            if error.code != "NotFoundException":
                raise

"""The SAM transform, run offline with AWS's own translator (aws-sam-translator), as ``sam deploy`` has it run.

Before CloudFormation transforms a SAM template, ``sam package`` uploads each local
artifact (a function's ``CodeUri``, a state machine's ``DefinitionUri``, a layer's
``ContentUri``, an API's ``DefinitionUri``) and puts its S3 location in the template.
Locally the same happens without the upload: each local path becomes a placeholder
location ``s3://sluiceway-local-artifacts/<n>`` that :class:`Artifacts` maps back to
the file or folder, so the translator sees exactly what it sees on AWS and its output
(``Code: {S3Bucket, S3Key}``, ``DefinitionS3Location``) leads back to the local files.

The translator reads no AWS account: managed policy names resolve from its bundled
map, and the region is the stack's.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .errors import TemplateError

__all__ = ["ARTIFACT_BUCKET", "SAM_TRANSFORM", "Artifacts", "is_sam", "nested", "transform"]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
ARTIFACT_BUCKET = "sluiceway-local-artifacts"

#: Where each serverless resource type keeps a local artifact path (as ``sam package`` reads them).
_ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Lambda::Function": ("Code",),
    "AWS::Lambda::LayerVersion": ("Content",),
    "AWS::StepFunctions::StateMachine": ("DefinitionS3Location",),
}
_GLOBAL_ARTIFACTS = {"Function": "CodeUri", "Api": "DefinitionUri", "HttpApi": "DefinitionUri"}


@dataclass
class Artifacts:
    """Local artifact paths by their placeholder S3 key."""

    root: Path
    paths: dict[str, Path] = field(default_factory=dict)

    def placeholder(self, local: str, where: str) -> dict[str, str]:
        path = (self.root / local).resolve()
        if not path.exists():
            raise TemplateError(f"{where}: {local!r} does not exist (looked for {path})")
        key = str(len(self.paths))
        self.paths[key] = path
        return {"Bucket": ARTIFACT_BUCKET, "Key": key}

    def local(self, bucket: Any, key: Any) -> Path | None:
        """The local file or folder a translated S3 location stands for (None: a real S3 location)."""
        if bucket != ARTIFACT_BUCKET or not isinstance(key, str):
            return None
        return self.paths.get(key)


_NESTED = ("AWS::Serverless::Application", "AWS::CloudFormation::Stack")


def nested(template: dict[str, Any]) -> list[str]:
    """The logical ids of nested applications and stacks, which are not emulated locally."""
    return [
        logical_id
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") in _NESTED
    ]


def is_sam(template: dict[str, Any]) -> bool:
    transforms = template.get("Transform")
    names = transforms if isinstance(transforms, list) else [transforms]
    return SAM_TRANSFORM in names


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("s3://") and bool(value)


def _swap_artifacts(template: dict[str, Any], artifacts: Artifacts, source: str) -> None:
    globals_ = template.get("Globals")
    if isinstance(globals_, dict):
        for section, prop in _GLOBAL_ARTIFACTS.items():
            props = globals_.get(section)
            if isinstance(props, dict) and _is_local(props.get(prop)):
                location = artifacts.placeholder(props[prop], f"{source}: Globals.{section}.{prop}")
                props[prop] = _as_uri(location)
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict):
            continue
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        for prop in _ARTIFACT_PROPERTIES.get(str(resource.get("Type")), ()):
            value = props.get(prop)
            if not isinstance(value, str) or not _is_local(value):
                continue
            location = artifacts.placeholder(value, f"{source}: {logical_id}.Properties.{prop}")
            if prop in ("Code", "Content"):
                props[prop] = {"S3Bucket": location["Bucket"], "S3Key": location["Key"]}
            else:
                props[prop] = _as_uri(location)


def _as_uri(location: dict[str, str]) -> str:
    return f"s3://{location['Bucket']}/{location['Key']}"


def transform(
    template: dict[str, Any], root: Path, parameters: dict[str, Any], *, region: str, account_id: str, source: str
) -> tuple[dict[str, Any], Artifacts]:
    """The CloudFormation template SAM makes of ``template`` (a copy), and the local artifacts it names.

    A template without the SAM transform only has its local artifact paths swapped.

    Raises:
        TemplateError: what the translator refused, each problem with its resource.
    """
    document = copy.deepcopy(template)
    artifacts = Artifacts(root)
    # Nested applications and stacks would make the translator call the Serverless Application
    # Repository (or need a second deploy): they are set aside, and said (see nested()).
    for logical_id in nested(document):
        document["Resources"].pop(logical_id)
    _swap_artifacts(document, artifacts, source)
    if not is_sam(document):
        return document, artifacts
    from samtranslator.model.exceptions import InvalidDocumentException  # type: ignore[import-untyped]
    from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
    from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

    # The translator's metrics are for AWS's own service; unpublished, they only warn.
    logging.getLogger("samtranslator.metrics").setLevel(logging.ERROR)
    values = {**parameters, "AWS::Region": region, "AWS::AccountId": account_id, "AWS::Partition": "aws"}
    # The translator takes the region from a boto3 session; it reads nothing else from it.
    session = SimpleNamespace(region_name=region)
    translator = Translator(None, Parser(), boto_session=session)
    try:
        translated: dict[str, Any] = translator.translate(document, parameter_values=values, get_managed_policy_map=dict)
    except InvalidDocumentException as exc:
        problems = "; ".join(str(getattr(cause, "message", cause)) for cause in exc.causes)
        raise TemplateError(f"{source}: the SAM transform refused the template: {problems}") from None
    except Exception as exc:  # the translator's other refusals are its own exception types
        raise TemplateError(f"{source}: the SAM transform failed: {exc}") from None
    return translated, artifacts

"""A template file read as CloudFormation reads it: YAML short forms, JSON, and ``AWS::Include`` inlined.

CloudFormation's YAML has short forms for intrinsics (``!Ref X``, ``!GetAtt A.B``,
``!Sub ...``) and keeps what YAML 1.1 would turn into dates or booleans as text
(``Version: 2012-10-17`` is the string IAM expects). ``AWS::Include`` transforms
(``Fn::Transform: {Name: AWS::Include, Parameters: {Location: api.yaml}}``) are replaced
by the file they name, read from beside the template: ``sam deploy`` uploads such files
and CloudFormation reads them back, so locally the file is read where it lies. A
location may not leave the template's folder, nor follow a link out of it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import TemplateError

__all__ = ["MAX_TEMPLATE_BYTES", "inline_includes", "load_template", "parse_text"]

MAX_TEMPLATE_BYTES = 1_000_000
"""CloudFormation's largest template (a template in S3); an included file gets the same bound."""

_MAX_NODES = 200_000


class _Loader(yaml.SafeLoader):
    """SafeLoader with CloudFormation's tags, no timestamps and YAML 1.2 booleans."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

_SHORT_FORMS = (
    "Ref", "Condition", "Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split",
    "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "Length", "ToJsonString",
)  # fmt: skip


def _construct(tag: str) -> Any:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt" and isinstance(value, str):
                # `!GetAtt A.B.C` is [A, "B.C"]: the logical id has no dots, an attribute may.
                logical, _, attribute = value.partition(".")
                value = [logical, attribute]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return build


for _tag in _SHORT_FORMS:
    _Loader.add_constructor(f"!{_tag}", _construct(_tag))


def parse_text(text: str, source: str) -> Any:
    """A template's (or an included file's) text as plain data: JSON, or YAML with CloudFormation's short forms.

    Raises:
        TemplateError: not JSON or YAML (with the line), or aliases that expand it beyond reason.
    """
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise TemplateError(f"{source}: not valid JSON: {exc}") from None
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            if _count(node, set()) > _MAX_NODES:
                raise TemplateError(f"{source}: YAML aliases expand the template beyond {_MAX_NODES} values")
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise TemplateError(f"{source}{where}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise TemplateError(f"{source}: nested too deeply") from None


def _count(node: yaml.Node, seen_on_path: set[int]) -> int:
    # An alias is the same node object again: counted each time it is used, as a walk expands it.
    if id(node) in seen_on_path:
        raise TemplateError("a YAML alias refers to itself")
    if isinstance(node, yaml.ScalarNode):
        return 1
    seen_on_path.add(id(node))
    try:
        total = 1
        children: list[yaml.Node] = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        for child in children:
            total += _count(child, seen_on_path)
            if total > _MAX_NODES:
                return total
        return total
    finally:
        seen_on_path.discard(id(node))


def load_template(path: Path) -> dict[str, Any]:
    """The template at ``path``, with every ``AWS::Include`` replaced by its file's content.

    Raises:
        TemplateError: the file is missing, too large, not a template, or an include is wrong.
    """
    text = _read(path, path.name)
    document = parse_text(text, str(path))
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources section)")
    inlined = inline_includes(document, path.parent.resolve(), str(path))
    assert isinstance(inlined, dict)
    return inlined


def _read(path: Path, name: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_TEMPLATE_BYTES:
            raise TemplateError(f"{path}: {size} bytes; a template may have at most {MAX_TEMPLATE_BYTES}")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TemplateError(f"{path}: a folder, not a template file") from None
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read {name}: {exc.strerror}") from None


def inline_includes(value: Any, root: Path, source: str, depth: int = 0) -> Any:
    """``value`` with each ``{"Fn::Transform": {"Name": "AWS::Include", ...}}`` replaced by the file it names."""
    if isinstance(value, list):
        return [inline_includes(item, root, source, depth) for item in value]
    if not isinstance(value, dict):
        return value
    transform = value.get("Fn::Transform")
    if len(value) == 1 and isinstance(transform, dict) and transform.get("Name") == "AWS::Include":
        if depth >= 5:
            raise TemplateError(f"{source}: AWS::Include nested more than 5 deep")
        location = (transform.get("Parameters") or {}).get("Location")
        if not isinstance(location, str) or not location:
            raise TemplateError(f"{source}: AWS::Include needs Parameters.Location (a file beside the template)")
        path = _include_path(root, location, source)
        included = parse_text(_read(path, location), str(path))
        return inline_includes(included, root, str(path), depth + 1)
    return {key: inline_includes(item, root, source, depth) for key, item in value.items()}


def _include_path(root: Path, location: str, source: str) -> Path:
    if location.startswith("s3://") or "://" in location:
        raise TemplateError(
            f"{source}: AWS::Include location {location!r} is remote; locally an include must be a file beside the template"
        )
    candidate = (root / location).resolve()  # resolve(): a link pointing out of the folder is caught below
    if candidate != root and root not in candidate.parents:
        raise TemplateError(f"{source}: AWS::Include location {location!r} leaves the template's folder")
    return candidate

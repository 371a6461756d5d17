"""What every provisioner gets and gives back."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ...endpoint.calls import AwsCalls
from ..errors import TemplateError
from ..sam import Artifacts

if TYPE_CHECKING:
    from ...runtime.stack import Stack

__all__ = ["Env", "Made", "Provisioner", "Request", "Stored", "physical_name", "require"]


@dataclass(frozen=True)
class Stored:
    """A resource as the stack's record keeps it."""

    logical_id: str
    type: str
    physical_id: str
    properties: Mapping[str, Any]
    ref: Any = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)
    """What the provisioner needs to delete or update it later (an event source mapping's id...)."""


@dataclass(frozen=True)
class Request:
    """One resource to make or bring up to date: its resolved properties, and what was made before."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    previous: Stored | None

    @property
    def where(self) -> str:
        return f"Resources.{self.logical_id}.Properties"


@dataclass(frozen=True)
class Made:
    """What a provisioner made: the physical id, what Ref and Fn::GetAtt give, and its own notes."""

    physical_id: str
    ref: Any
    attributes: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Env:
    """The running stack a template is made on."""

    stack: Stack
    aws: AwsCalls
    stack_name: str
    artifacts: Artifacts
    cache_dir: Path
    warn: Callable[[str], None]
    layers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """The folders of the layers made so far, by layer version ARN (a function's ``Layers`` name them)."""
    invoke_custom: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    """Runs a custom resource's request through its function and returns its response (see custom.py)."""

    @property
    def region(self) -> str:
        return self.stack.settings.region

    @property
    def account_id(self) -> str:
        return self.stack.settings.account_id

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"


class Provisioner(Protocol):
    def apply(self, env: Env, request: Request) -> Made:
        """Make the resource, or bring the one made before to the request's properties (idempotent: run at each start)."""
        ...

    def delete(self, env: Env, stored: Stored) -> None:
        """Remove the resource (it left the template)."""
        ...


_ALPHABET = string.ascii_uppercase + string.digits


def physical_name(stack_name: str, logical_id: str, limit: int, *, lowercase: bool = False, suffix: str = "", generation: str = "") -> str:
    """The name CloudFormation gives a resource the template does not name: ``<stack>-<logical>-<13 chars>``.

    The 13 characters are derived from the stack and logical id, so a restart names it again the same;
    ``generation`` tells a replacement's name from the resource it replaces.
    """
    digest = hashlib.sha256(
        f"{stack_name}/{logical_id}/{generation}".encode() if generation else f"{stack_name}/{logical_id}".encode()
    ).digest()
    tail = "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:13])
    room = limit - len(tail) - len(suffix) - 2
    # CloudFormation shortens the stack name and the logical id to fit, keeping the random tail.
    stack_part = stack_name[: max(1, room // 2)] if len(stack_name) + len(logical_id) > room else stack_name
    logical_part = logical_id[: max(1, room - len(stack_part))]
    name = f"{stack_part}-{logical_part}-{tail}{suffix}"
    return name.lower() if lowercase else name


def require(request: Request, name: str, kind: type | tuple[type, ...] = str) -> Any:
    value = request.properties.get(name)
    if value is None:
        raise TemplateError(f"{request.where}.{name}: required for {request.type}")
    if not isinstance(value, kind):
        raise TemplateError(f"{request.where}.{name}: must be {_kind_name(kind)}, not {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(
        {"str": "a string", "dict": "an object", "list": "a list", "int": "a number"}.get(k.__name__, k.__name__) for k in kinds
    )

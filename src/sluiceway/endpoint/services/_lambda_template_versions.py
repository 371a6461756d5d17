"""The published versions and aliases of a template's functions, and the version a qualifier runs.

A template publishes versions and aliases with ``AWS::Lambda::Version`` and ``AWS::Lambda::Alias``
(SAM's ``AutoPublishAlias`` makes one of each). The stack's record (``backends/local/stacks.py``)
keeps them with their resolved properties and attributes, written as each is made: it is what
the reads answer from, so that they agree with what the template made across a restart, and an
alias or version the template dropped is gone. An API-made function keeps its own
(``backends/local/lambda_functions.py``).

Locally a version is no snapshot: every qualifier runs the function's current code (see
``runtime/lambdas/invoker.py``). What a qualifier names is still answered as Lambda does: the
version an alias points to, which Invoke reports as ``ExecutedVersion``.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..context import Context
from ._lambda_catalog import stored

if TYPE_CHECKING:
    from ...runtime.stack import Stack

__all__ = ["TemplateVersion", "aliases_of", "executed_version", "template_aliases", "template_versions", "version_of"]

_VERSION = "AWS::Lambda::Version"
_ALIAS = "AWS::Lambda::Alias"


@dataclass(frozen=True)
class TemplateVersion:
    """A version a template published."""

    version: str
    """Its number, as Lambda counts them ("1", "2", ...)."""
    description: str
    """The Version resource's Description ("" when it has none)."""


def _resources(stack: Stack, name: str, kind: str) -> Iterator[Mapping[str, Any]]:
    """The recorded resources of type ``kind`` whose FunctionName names function ``name``."""
    invoker = stack.invoker
    for document in stack.local.stacks.list():
        for resource in document.get("Resources") or ():
            if resource.get("ResourceType") != kind:
                continue
            reference = (resource.get("Properties") or {}).get("FunctionName")
            if isinstance(reference, str) and invoker.resolve(reference) == name:
                yield resource


def template_versions(stack: Stack, name: str) -> list[TemplateVersion]:
    """The versions the templates published of function ``name``, oldest first."""
    versions = {
        str(version): TemplateVersion(str(version), str((resource.get("Properties") or {}).get("Description") or ""))
        for resource in _resources(stack, name, _VERSION)
        if (version := (resource.get("Attributes") or {}).get("Version")) is not None
    }
    return [versions[number] for number in sorted(versions, key=int)]


def template_aliases(stack: Stack, name: str) -> dict[str, dict[str, Any]]:
    """The aliases the templates made of function ``name``, shaped as an API-made function keeps them."""
    aliases: dict[str, dict[str, Any]] = {}
    for resource in _resources(stack, name, _ALIAS):
        props = resource.get("Properties") or {}
        alias = str(props.get("Name"))
        weights = (props.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or []
        aliases[alias] = {
            "FunctionVersion": str(props.get("FunctionVersion")),
            "Description": str(props.get("Description") or ""),
            # Lambda gives an alias a new RevisionId each time it changes: derived from what the
            # template says, it stays the same across reads and restarts and changes with the alias.
            "RevisionId": str(uuid.UUID(bytes=hashlib.sha256(json.dumps([name, props], sort_keys=True).encode()).digest()[:16], version=4)),
            # The template lists weights ({FunctionVersion, FunctionWeight}); the API keeps and answers a map.
            "RoutingConfig": {"AdditionalVersionWeights": {str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights}}
            if weights
            else None,
        }
    return aliases


def aliases_of(ctx: Context, name: str) -> Mapping[str, Mapping[str, Any]]:
    """Function ``name``'s aliases: an API-made function's own, or those its template made."""
    function = stored(ctx, name)
    return function.aliases if function is not None else template_aliases(ctx.stack, name)


def version_of(ctx: Context, name: str, qualifier: str | None) -> str:
    """The version a qualifier names: ``$LATEST`` or a number as it is, an alias its FunctionVersion."""
    if qualifier is None or qualifier == "$LATEST" or qualifier.isdigit():
        return qualifier or "$LATEST"
    alias = aliases_of(ctx, name).get(qualifier)
    return str(alias["FunctionVersion"]) if alias is not None else qualifier


def executed_version(ctx: Context, name: str, qualifier: str | None) -> str:
    """The version an invocation through ``qualifier`` runs, as Invoke reports it (``ExecutedVersion``).

    An alias with routing weights sends that share of its invocations to the other version, at
    random, as Lambda does.
    """
    alias = aliases_of(ctx, name).get(qualifier) if qualifier and not qualifier.isdigit() and qualifier != "$LATEST" else None
    weights = ((alias or {}).get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    draw = random.random()  # noqa: S311 -- traffic shifting, not cryptography
    for version, weight in weights.items():
        if draw < float(weight):
            return str(version)
        draw -= float(weight)
    return version_of(ctx, name, qualifier)

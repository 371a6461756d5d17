"""The published versions and aliases of a template's functions, and the version a qualifier runs.

A template publishes versions and aliases with ``AWS::Lambda::Version`` and ``AWS::Lambda::Alias``
(SAM's ``AutoPublishAlias`` makes one of each). The versions are kept in the state database
(``backends/local/lambda_template_versions.py``): a version SAM retains (``DeletionPolicy: Retain``)
leaves the stack's record when it leaves the template, but stays published, listed and invokable,
across restarts too. The aliases are the stack's record's (``backends/local/stacks.py``), written
as each is made: an alias the template dropped is gone. An API-made function keeps its own
(``backends/local/lambda_functions.py``).

Locally a version is no snapshot: every qualifier runs the function's current code (see
``runtime/lambdas/invoker.py``). What a qualifier names is still answered as Lambda does: the
version an alias points to (or, by its weights, its other version), which Invoke reports as
``ExecutedVersion`` and the handler sees as ``context.function_version``.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...backends.local.lambda_template_versions import PublishedVersion, SqliteTemplateVersions
from ..context import Context
from ._lambda_catalog import stored
from ._lambda_routing import routed_version

if TYPE_CHECKING:
    from ...runtime.stack import Stack

__all__ = [
    "PublishedVersion",
    "aliases_of",
    "executed_version",
    "published_version",
    "template_aliases",
    "template_qualifiers",
    "template_version_store",
    "template_versions",
    "version_of",
]

_ALIAS = "AWS::Lambda::Alias"


_draw: Callable[[], float] = random.random
"""Where an alias's weighted routing draws from (uniform in [0, 1)); tests replace it to choose the draw."""


def template_version_store(stack: Stack) -> SqliteTemplateVersions:
    """The versions templates published, in ``stack``'s state database."""
    return SqliteTemplateVersions(stack.local.db)


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


def template_versions(stack: Stack, name: str) -> list[PublishedVersion]:
    """The versions templates published of function ``name`` and have not deleted, oldest first."""
    return template_version_store(stack).of(name)


def published_version(stack: Stack, name: str, qualifier: str | None) -> PublishedVersion | None:
    """The template version a numeric qualifier names, if it was published (and not deleted)."""
    if qualifier is None or not qualifier.isdigit():
        return None
    return template_version_store(stack).get(name, int(qualifier))


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
            # The template lists weights ({FunctionVersion, FunctionWeight}, checked when the alias was
            # made); the API keeps and answers a map.
            "RoutingConfig": {"AdditionalVersionWeights": _weights(weights)} if weights else None,
        }
    return aliases


def _weights(listed: Any) -> dict[str, float]:
    return {
        str(w["FunctionVersion"]): float(w["FunctionWeight"])
        for w in listed
        if isinstance(w, Mapping) and w.get("FunctionVersion") is not None and w.get("FunctionWeight") is not None
    }


def template_qualifiers(stack: Stack, name: str) -> frozenset[str]:
    """The versions and aliases a template's function ``name`` has now (besides ``$LATEST``)."""
    return frozenset((*(str(v.version) for v in template_versions(stack, name)), *template_aliases(stack, name)))


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

    Decided before the function runs, so that the handler is told the same version
    (``context.function_version``). An alias with routing weights sends that share of its
    invocations to the other version, at random, as Lambda does.
    """
    alias = aliases_of(ctx, name).get(qualifier) if qualifier and not qualifier.isdigit() and qualifier != "$LATEST" else None
    if alias is None:
        return version_of(ctx, name, qualifier)
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return routed_version(str(alias["FunctionVersion"]), weights, _draw()) if weights else str(alias["FunctionVersion"])

"""The aliases a template made of its functions, and the version an invocation through an alias runs.

Apart from ``_lambda_template_versions.py`` (which reads the API-made functions through
``_lambda_catalog.py``) so that the catalog can hand the asynchronous invocations' deliverer the
same routing (:func:`delivered_version`) without importing round a circle.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...backends.local.lambda_functions import StoredFunction
from ._lambda_routing import routed_version

if TYPE_CHECKING:
    from ...runtime.stack import Stack

__all__ = ["alias_version", "delivered_version", "template_aliases"]

_ALIAS = "AWS::Lambda::Alias"


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


def alias_version(aliases: Mapping[str, Mapping[str, Any]], qualifier: str, draw: Callable[[], float]) -> str:
    """The version an invocation through alias ``qualifier`` runs: its version or, by its weights (a
    uniform ``draw()`` in [0, 1)), its other one; a qualifier that names no alias is returned as it is."""
    alias = aliases.get(qualifier)
    if alias is None:
        return qualifier
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return routed_version(str(alias["FunctionVersion"]), weights, draw()) if weights else str(alias["FunctionVersion"])


def delivered_version(stack: Stack, function: StoredFunction | None, name: str, qualifier: str | None) -> str:
    """The version an asynchronous invocation of ``name`` through ``qualifier`` runs when it is delivered.

    As Invoke decides it (``executed_version``): ``function`` is the API-made function of that name
    (its aliases are its own), None for a template's function.
    """
    if qualifier is None or qualifier == "$LATEST" or qualifier.isdigit():
        return qualifier or "$LATEST"
    aliases = function.aliases if function is not None else template_aliases(stack, name)
    return alias_version(aliases, qualifier, random.random)

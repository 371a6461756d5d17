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

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...backends.local.lambda_template_versions import PublishedVersion, SqliteTemplateVersions
from ..context import Context
from ._lambda_alias_versions import alias_version, template_aliases
from ._lambda_catalog import stored

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

_draw: Callable[[], float] = random.random
"""Where an alias's weighted routing draws from (uniform in [0, 1)); tests replace it to choose the draw."""


def template_version_store(stack: Stack) -> SqliteTemplateVersions:
    """The versions templates published, in ``stack``'s state database."""
    return SqliteTemplateVersions(stack.local.db)


def template_versions(stack: Stack, name: str) -> list[PublishedVersion]:
    """The versions templates published of function ``name`` and have not deleted, oldest first."""
    return template_version_store(stack).of(name)


def published_version(stack: Stack, name: str, qualifier: str | None) -> PublishedVersion | None:
    """The template version a numeric qualifier names, if it was published (and not deleted)."""
    if qualifier is None or not qualifier.isdigit():
        return None
    return template_version_store(stack).get(name, int(qualifier))


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
    if qualifier is None or qualifier == "$LATEST" or qualifier.isdigit():
        return qualifier or "$LATEST"
    return alias_version(aliases_of(ctx, name), qualifier, lambda: _draw())

"""The Lambda functions made through the API, and their registration with the stack's invoker.

The functions are kept in the data dir (``backends/local/lambda_functions.py``). After a
start they are registered with the invoker again when the endpoint is made (:func:`restore`),
with the versions they had published, so that a notification or an event finds them as
soon as anything serves it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ...backends.local.lambda_functions import SqliteFunctionCatalog, StoredFunction
from ...runtime.lambdas.code import FunctionCodeError, prepare_function_code
from ...runtime.lambdas.invoker import FunctionSpec
from ..context import Context, Shared
from ._lambda_alias_versions import delivered_version
from ._lambda_mapping_runs import mapping_runs

if TYPE_CHECKING:
    from ...runtime.stack import Stack

logger = logging.getLogger(__name__)

__all__ = ["catalog", "restore", "spec_of", "stored"]


def catalog(ctx: Context) -> SqliteFunctionCatalog:
    """The kept functions (registered with the invoker by the first call after a start)."""
    return restore(ctx.stack, ctx.shared)


def restore(stack: Stack, shared: Shared) -> SqliteFunctionCatalog:
    """The kept functions, registered with ``stack``'s invoker once (the endpoint calls it when made),
    then the kept event source mappings of those functions, started."""
    functions = shared.get("lambda.catalog", lambda: _open(stack))
    mapping_runs(stack, shared)
    shared.get("lambda.async-versions", lambda: _route_async_versions(stack, functions))
    return functions


def _route_async_versions(stack: Stack, functions: SqliteFunctionCatalog) -> bool:
    """Let the asynchronous invocations run the version their alias points to, as Invoke does.

    What an alias points to is kept here (API-made functions' aliases, and the templates'), so the
    deliverer, which runs below the API, is handed the lookup once the endpoint exists.
    """
    stack.async_invocations.route_versions(lambda name, qualifier: delivered_version(stack, functions.get(name), name, qualifier))
    return True


def _open(stack: Stack) -> SqliteFunctionCatalog:
    data_dir = stack.settings.data_dir
    functions = SqliteFunctionCatalog(data_dir / "lambda.db", data_dir / "lambda" / "code")
    for function in functions.all():
        if function.name in stack.invoker.functions:
            continue  # the running template defines a function of that name: it wins, as at start
        try:
            stack.invoker.register(_spec(stack, functions, function))
        except (FunctionCodeError, ValueError):
            logger.warning("could not restore function", extra={"function": function.name}, exc_info=True)
            continue
        for qualifier in (*(version.version for version in function.published), *function.aliases):
            stack.invoker.add_qualifier(function.name, qualifier)
    return functions


def stored(ctx: Context, name: str) -> StoredFunction | None:
    """The kept configuration of an API-made function (None for the template's functions)."""
    return catalog(ctx).get(name)


def spec_of(ctx: Context, functions: SqliteFunctionCatalog, function: StoredFunction) -> FunctionSpec:
    return _spec(ctx.stack, functions, function)


def _spec(stack: Stack, functions: SqliteFunctionCatalog, function: StoredFunction) -> FunctionSpec:
    code = prepare_function_code(
        function.name, cache_dir=stack.settings.data_dir / "lambda-cache", code_uri=functions.package_path(function)
    )
    return FunctionSpec(
        function.name,
        function.handler,
        timeout_s=function.timeout_s,
        memory_mb=function.memory_mb,
        environment=function.environment,
        code=code,
        runtime=function.runtime,
        reserved_concurrency=function.reserved_concurrency,
        tenancy_mode=function.tenancy_mode,
    )

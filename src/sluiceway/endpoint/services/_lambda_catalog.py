"""The Lambda functions made through the API, and their registration with the stack's invoker.

The functions are kept in the data dir (``backends/local/lambda_functions.py``). After a
start they are registered with the invoker again on the endpoint's first Lambda request
(:func:`catalog`), with the versions they had published.
"""

from __future__ import annotations

import logging

from ...backends.local.lambda_functions import SqliteFunctionCatalog, StoredFunction
from ...runtime.lambdas.code import FunctionCodeError, prepare_function_code
from ...runtime.lambdas.invoker import FunctionSpec
from ..context import Context

logger = logging.getLogger(__name__)

__all__ = ["catalog", "spec_of", "stored"]


def catalog(ctx: Context) -> SqliteFunctionCatalog:
    """The kept functions; the first call after a start registers them with the invoker."""
    return ctx.shared.get("lambda.catalog", lambda: _open(ctx))


def _open(ctx: Context) -> SqliteFunctionCatalog:
    data_dir = ctx.stack.settings.data_dir
    functions = SqliteFunctionCatalog(data_dir / "lambda.db", data_dir / "lambda" / "code")
    for function in functions.all():
        if function.name in ctx.stack.invoker.functions:
            continue  # the running template defines a function of that name: it wins, as at start
        try:
            ctx.stack.invoker.register(spec_of(ctx, functions, function))
        except (FunctionCodeError, ValueError):
            logger.warning("could not restore function", extra={"function": function.name}, exc_info=True)
            continue
        for qualifier in (*(version.version for version in function.published), *function.aliases):
            ctx.stack.invoker.add_qualifier(function.name, qualifier)
    return functions


def stored(ctx: Context, name: str) -> StoredFunction | None:
    """The kept configuration of an API-made function (None for the template's functions)."""
    return catalog(ctx).get(name)


def spec_of(ctx: Context, functions: SqliteFunctionCatalog, function: StoredFunction) -> FunctionSpec:
    code = prepare_function_code(
        function.name, cache_dir=ctx.stack.settings.data_dir / "lambda-cache", code_uri=functions.package_path(function)
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
    )

"""The function URLs kept in the data dir, opened once per endpoint: made by the Lambda API's
operations (``_lambda_urls.py``), read by the URLs' own paths (``endpoint/lambda_urls``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...backends.local.function_urls import SqliteFunctionUrls, StoredUrl
from ..context import Shared

if TYPE_CHECKING:
    from ...runtime.stack import Stack

__all__ = ["StoredUrl", "kept_urls"]


def kept_urls(stack: Stack, shared: Shared) -> SqliteFunctionUrls:
    """The function URLs kept in ``lambda.db`` beside the functions."""
    return shared.get("lambda.urls", lambda: SqliteFunctionUrls(stack.settings.data_dir / "lambda.db"))

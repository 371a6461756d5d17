"""The Lambda function an API Gateway ``uri`` (``authorizerUri``) names."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["function_of"]

_LAMBDA_URI = re.compile(r"^arn:[a-z-]+:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(?P<function>arn:[^/]+)/invocations$")
_FUNCTION_ARN = re.compile(r"^arn:[a-z-]+:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]+)?$")


def function_of(uri: Any) -> str | None:
    """The function ARN of an ``arn:aws:apigateway:...:lambda:path/.../functions/<arn>/invocations`` URI
    (HTTP APIs also take a bare function ARN), or None when ``uri`` names no function."""
    if not isinstance(uri, str):
        return None
    match = _LAMBDA_URI.match(uri)
    function = match["function"] if match else uri
    return function if _FUNCTION_ARN.match(function) else None

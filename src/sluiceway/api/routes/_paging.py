"""Every item of an AWS listing, read page by page."""

from __future__ import annotations

from typing import Any

from ..aws import Aws

__all__ = ["paged"]


def paged(
    aws: Aws, service: str, operation: str, params: dict[str, Any], items: str, token: str = "NextToken", request_token: str | None = None
) -> list[Any]:
    """Every item of a listing; ``request_token`` names the token in the request when it differs (Lambda's Marker)."""
    found: list[Any] = []
    while True:
        page = aws.call(service, operation, params)
        found.extend(page.get(items, []))
        if not page.get(token):
            return found
        params = {**params, request_token or token: page[token]}

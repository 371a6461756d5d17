"""What every route takes: the AWS interface, the caller at a role, and the errors it may answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from ..auth import Principal
from ..aws import Aws
from ..roles import Role, require
from ..schemas import Problem, ValidationProblem

__all__ = ["Admin", "AwsApi", "Operator", "StackNames", "Viewer", "errors", "pool_id"]


def _aws(request: Request) -> Aws:
    aws: Aws = request.app.state.aws
    return aws


def pool_id(request: Request) -> str:
    """The user pool the API's users live in."""
    found: str = request.app.state.user_pool_id()
    return found


def _stack_names(request: Request) -> list[str] | None:
    stacks: Callable[[], list[str]] | None = request.app.state.stacks
    return None if stacks is None else stacks()


AwsApi = Annotated[Aws, Depends(_aws)]
#: The app's stacks by name; None: every stack the backend holds.
StackNames = Annotated[list[str] | None, Depends(_stack_names)]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

_DESCRIPTIONS = {
    400: "AWS refused the request's values",
    401: "No valid access token (see WWW-Authenticate)",
    403: "The caller's role is too low",
    404: "No such resource",
    409: "The resource's state does not allow it",
    422: "The request does not match this API's schema",
    501: "The backend does not serve this AWS service (the local endpoint)",
    502: "AWS failed",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route answering these statuses besides its own (401, 403 and 422 always)."""
    found: dict[int | str, dict[str, Any]] = {}
    for status in sorted({400, 401, 403, 422, 502, *statuses}):
        model = ValidationProblem if status == 422 else Problem
        found[status] = {"model": model, "description": _DESCRIPTIONS.get(status, "Error")}
    return found

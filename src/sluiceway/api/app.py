"""The management API's FastAPI app, the same locally (the endpoint's ``/_sluiceway/api``) and on AWS (a Lambda)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from . import errors
from .auth import Authenticator
from .aws import Aws
from .routes import alarms, dashboard, executions, functions, graph, objects, pipeline, queues, resources, rules, topics, users

__all__ = ["API_PREFIX", "create_app"]

#: Where the API is served, locally and behind the HttpApi alike, so clients change only the host.
API_PREFIX = "/_sluiceway/api"


class RootPath:
    """Sets the scope's ``root_path`` when the server did not (Mangum on Lambda; the endpoint's bridge sets it).

    The HttpApi passes the whole path (``/_sluiceway/api/executions``): with the root path known,
    routing takes what follows it, and the OpenAPI document names it as its server.
    """

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope.get("root_path") and self.root_path:
            scope = {**scope, "root_path": self.root_path}
        await self.app(scope, receive, send)


def _no_pool() -> str:
    raise errors.ApiError(501, "NotConfigured", "no user pool is configured for the management API's users")


def create_app(
    aws: Aws,
    authenticator: Authenticator,
    *,
    user_pool_id: Callable[[], str] | None = None,
    stacks: Callable[[], list[str]] | None = None,
    root_path: str = API_PREFIX,
) -> FastAPI:
    """The management API.

    Args:
        aws: how it reaches AWS (in-process on the local endpoint, boto3 in the Lambda).
        authenticator: how it knows the caller (a verified access token of the user pool).
        user_pool_id: the pool whose users ``/users`` manages (looked up per request: the local
            default pool is made on first use).
        stacks: the names of the app's stacks, which ``/resources`` shows (looked up per request);
            None: every stack the backend holds (the local endpoint's are the app's).
        root_path: the path the app is mounted at; its OpenAPI document is at ``{root_path}/openapi.json``.
    """
    app = FastAPI(
        title="Sluiceway management API",
        version=__version__,
        description=(
            "Executions, objects, queues, topics, rules, alarms and users of a Sluiceway stack. "
            "Every route needs `Authorization: Bearer <access token>` of Sluiceway's user pool: "
            "`viewer` reads; `operator` also starts, stops, redrives and uploads; `admin` also manages users. "
            "Machine clients get the same roles through the scopes sluiceway/read, sluiceway/operate, sluiceway/admin."
        ),
        # Starlette's redirect from /executions/ to /executions would be an unauthenticated hop: none.
        redirect_slashes=False,
    )
    app.add_middleware(RootPath, root_path=root_path)
    app.state.aws = aws
    app.state.authenticator = authenticator
    app.state.user_pool_id = user_pool_id or _no_pool
    app.state.stacks = stacks
    errors.install(app)
    for module in (executions, graph, pipeline, objects, queues, topics, rules, alarms, functions, resources, dashboard, users):
        app.include_router(module.router)
    return app

"""The web console on the endpoint: its files at ``/_sluiceway/console`` and the settings it signs in with.

``GET /_sluiceway/console/config.json`` tells the app the region, the default user pool and its
public client (the one ``sluiceway token`` uses), so it can call Cognito's InitiateAuth on this
same endpoint; everything else it reads through the management API with the access token.
None of it is secret: a pool id and a public client id are what any sign-in page carries.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..console.assets import CONSOLE_PATH, SECURITY_HEADERS, Asset, Assets
from .context import HttpRequest, HttpResponse, Shared

if TYPE_CHECKING:
    from ..runtime.stack import Stack

__all__ = ["serves", "handle"]

_CONFIG = CONSOLE_PATH + "/config.json"
_ASSETS = CONSOLE_PATH + "/assets/"


def serves(request: HttpRequest) -> bool:
    return request.path == CONSOLE_PATH or request.path.startswith(CONSOLE_PATH + "/")


def handle(request: HttpRequest, stack: Stack, shared: Shared) -> HttpResponse:
    """Answer one request :func:`serves` accepted."""
    if request.method not in ("GET", "HEAD"):
        return _text(405, f"{request.method} is not allowed here", {"Allow": "GET, HEAD"})
    if request.path == _CONFIG:
        return _config(stack)
    assets: Assets = shared.get("console-assets", Assets)
    if request.path.startswith(_ASSETS):
        asset = assets.get(request.path[len(_ASSETS) :])
        if asset is None:
            return _text(404, "no such console file")
        return _file(request, asset)
    # Any other path under the console is one of the app's pages: the browser routes it.
    return _file(request, assets.index())


def _config(stack: Stack) -> HttpResponse:
    pool = stack.local.user_pools.default_pool()
    body = json.dumps(
        {
            "region": stack.settings.region,
            "userPoolId": pool.pool_id,
            "clientId": pool.client_id,
            "apiPath": "/_sluiceway/api",
            "consolePath": CONSOLE_PATH,
        }
    ).encode()
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store", **SECURITY_HEADERS}
    return HttpResponse(200, {**headers, "Content-Length": str(len(body))}, body)


def _file(request: HttpRequest, asset: Asset) -> HttpResponse:
    # Revalidated on every load (an upgrade shows at once), answered 304 while unchanged.
    headers = {"Content-Type": asset.content_type, "ETag": asset.etag, "Cache-Control": "no-cache", **SECURITY_HEADERS}
    if request.header("if-none-match") == asset.etag:
        return HttpResponse(304, headers)
    body = b"" if request.method == "HEAD" else asset.body
    return HttpResponse(200, {**headers, "Content-Length": str(len(asset.body))}, body)


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> HttpResponse:
    body = message.encode()
    return HttpResponse(status, {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(body)), **(headers or {})}, body)

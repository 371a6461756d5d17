"""The console's files: a fixed set from the package, served by name only, with the page's security headers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sluiceway.console.assets import Assets
from sluiceway.endpoint import console_routes
from sluiceway.endpoint.context import HttpRequest, Shared


def request(path: str, method: str = "GET", **headers: str) -> HttpRequest:
    return HttpRequest(method, path, "", {k.replace("_", "-"): v for k, v in headers.items()})


@dataclass
class _Pool:
    pool_id: str = "us-east-1_Console1"
    client_id: str = "client123"


class _Pools:
    def default_pool(self) -> _Pool:
        return _Pool()


@dataclass
class _Stack:
    """Only what the console's routes read: the region and the default user pool."""

    settings: Any
    local: Any


@pytest.fixture
def stack() -> Any:
    return _Stack(settings=type("S", (), {"region": "eu-west-1"})(), local=type("L", (), {"user_pools": _Pools()})())


def test_the_package_ships_the_shell_and_every_page_the_router_names() -> None:
    names = Assets().names()
    assert {"index.html", "app.js", "api.js", "auth.js", "ui.js", "styles.css"} <= names
    app = Assets().get("app.js")
    assert app is not None
    for page in ("home", "executions", "execution", "queues", "topics", "rules", "functions", "resources"):
        assert f'import("./pages/{page}.js")' in app.body.decode()
        assert f"pages/{page}.js" in names, f"the router loads pages/{page}.js, which the package does not ship"


def test_the_index_refers_only_to_files_the_package_ships() -> None:
    index = Assets().index().body.decode()
    for name in ("styles.css", "app.js", "icon.svg"):
        assert f"/_sluiceway/console/assets/{name}" in index
    assert "http://" not in index and "https://" not in index  # offline: no CDN


def test_a_path_out_of_the_folder_or_an_encoded_one_is_not_a_file(tmp_path: Path, stack: Any) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "index.html").write_text("<!doctype html>")
    (tmp_path / "secret.js").write_text("secret")
    shared = Shared()
    shared.get("console-assets", lambda: Assets(tmp_path / "static"))
    for path in ("../secret.js", "%2e%2e/secret.js", "..%2Fsecret.js", "/secret.js", "index.html/../../secret.js"):
        answer = console_routes.handle(request("/_sluiceway/console/assets/" + path), stack, shared)
        assert answer.status == 404, path
        assert answer.body != b"secret"


def test_only_what_a_browser_loads_is_served(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "app.js~").write_text("x")
    assert Assets(tmp_path).names() == frozenset({"index.html"})


def test_a_file_is_served_with_its_type_an_etag_and_the_security_headers(stack: Any) -> None:
    shared = Shared()
    answer = console_routes.handle(request("/_sluiceway/console/assets/app.js"), stack, shared)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    again = console_routes.handle(request("/_sluiceway/console/assets/app.js", if_none_match=answer.headers["ETag"]), stack, shared)
    assert again.status == 304 and again.body == b""
    head = console_routes.handle(request("/_sluiceway/console/assets/app.js", "HEAD"), stack, shared)
    assert head.status == 200 and head.body == b"" and head.headers["Content-Length"] == answer.headers["Content-Length"]


def test_every_other_console_path_is_the_app_and_writes_are_refused(stack: Any) -> None:
    shared = Shared()
    for path in ("/_sluiceway/console", "/_sluiceway/console/", "/_sluiceway/console/executions/x"):
        answer = console_routes.handle(request(path), stack, shared)
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html"), path
    refused = console_routes.handle(request("/_sluiceway/console/assets/app.js", "POST"), stack, shared)
    assert refused.status == 405 and refused.headers["Allow"] == "GET, HEAD"


def test_the_config_names_the_default_pool_and_its_public_client(stack: Any) -> None:
    answer = console_routes.handle(request("/_sluiceway/console/config.json"), stack, Shared())
    assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
    assert json.loads(answer.body) == {
        "region": "eu-west-1",
        "userPoolId": "us-east-1_Console1",
        "clientId": "client123",
        "apiPath": "/_sluiceway/api",
        "consolePath": "/_sluiceway/console",
    }

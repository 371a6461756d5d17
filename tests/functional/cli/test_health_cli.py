"""``sluiceway health``: a running endpoint's liveness or readiness, one line per check; exit 0 healthy,
1 unhealthy, 2 when no Sluiceway endpoint answers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sluiceway.cli.main import app
from sluiceway.endpoint.health import CHECKS
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

runner = CliRunner()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Endpoint]:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1, endpoint_port=0)
    stack = build_stack(settings, app=None, invoker_mode="thread")
    stack.start("health cli tests")
    endpoint = Endpoint(stack, host="127.0.0.1", port=0)
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.close()
        stack.close()


def health(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["health", *args], env={"COLUMNS": "200", **(env or {})})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_a_running_endpoint_is_alive(served: Endpoint) -> None:
    code, out = health("--url", served.url)

    assert code == 0
    assert out.startswith(f"running {served.url}/_sluiceway/health (sluiceway ")


def test_readiness_prints_one_line_per_check(served: Endpoint) -> None:
    code, out = health("--ready", "--url", served.url)

    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"ready {served.url}/_sluiceway/health/ready"
    assert [line.split()[:2] for line in lines[1:]] == [["ok", name] for name in CHECKS]


def test_the_default_url_comes_from_the_settings(served: Endpoint) -> None:
    code, out = health("--ready", env={"SLUICEWAY_ENDPOINT_HOST": "127.0.0.1", "SLUICEWAY_ENDPOINT_PORT": str(served.port)})

    assert code == 0, out
    assert f"127.0.0.1:{served.port}" in out


def test_an_unready_stack_exits_1_naming_the_failing_check(served: Endpoint) -> None:
    served.stack.invoker.close()

    code, out = health("--ready", "--url", served.url)

    assert code == 1
    assert out.splitlines()[0].startswith("not ready ")
    failing = [line.split()[1] for line in out.splitlines()[1:] if line.split()[0] == "FAILING"]
    assert failing == ["workers"]


def test_a_starting_stack_is_not_alive_yet(served: Endpoint) -> None:
    served.starting = "making the template's resources"

    code, out = health("--url", served.url)

    assert code == 1
    assert out.startswith(f"starting {served.url}/_sluiceway/health: making the template's resources")


def test_json_prints_the_endpoints_answer(served: Endpoint) -> None:
    served.stack.invoker.close()

    code, out = health("--ready", "--json", "--url", served.url)

    assert code == 1
    body = json.loads(out)
    assert body["status"] == "not ready" and body["failing"] == ["workers"]
    assert set(body["checks"]) == set(CHECKS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_nothing_listening_exits_2_with_a_message_and_no_traceback() -> None:
    port = free_port()

    code, out = health("--ready", "--url", f"http://127.0.0.1:{port}")

    assert code == 2
    assert out.startswith(f"error: no endpoint answered at http://127.0.0.1:{port}/_sluiceway/health/ready:")
    assert "sluiceway up" in out and "Traceback" not in out


def test_another_server_on_the_port_exits_2() -> None:
    class NotSluiceway(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotSluiceway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code, out = health("--url", f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()

    assert code == 2
    assert "not as Sluiceway's health route does" in out


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:4566", "127.0.0.1:4566", "http://"])
def test_a_url_that_is_not_http_is_refused(url: str) -> None:
    code, out = health("--url", url)

    assert code == 2
    assert out.startswith("error: --url must be an http(s) URL")

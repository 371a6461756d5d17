"""``sluiceway health``: ask a running endpoint whether it is alive (or, with --ready, ready), one line per check.

Exit codes: 0 healthy, 1 answered but unhealthy (starting, or a readiness check failing), 2 no
Sluiceway endpoint answered at the URL (nothing listening, a timeout, another server).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import typer
from rich.text import Text

from ._common import EXIT_FAILED, console, fail, settings_from, shown

__all__ = ["EXIT_UNREACHABLE", "health"]

EXIT_UNREACHABLE = 2
LIVENESS_PATH = "/_sluiceway/health"
READINESS_PATH = "/_sluiceway/health/ready"


def health(
    url: str | None = typer.Option(
        None, "--url", help="The endpoint's URL [default: http://SLUICEWAY_ENDPOINT_HOST:SLUICEWAY_ENDPOINT_PORT]"
    ),
    ready: bool = typer.Option(False, "--ready", help="Readiness (database, workers, event lag) rather than liveness"),
    as_json: bool = typer.Option(False, "--json", help="Print the endpoint's answer as JSON"),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Give up after this many seconds"),
) -> None:
    """Check a running `sluiceway up`: exit 0 healthy, 1 unhealthy, 2 unreachable."""
    base = url if url is not None else settings_from().endpoint_url
    target = _health_url(base, READINESS_PATH if ready else LIVENESS_PATH)
    status, body = _get(target, timeout)
    healthy = status == 200 and body.get("status") in ("ready", "running")
    if as_json:
        print(json.dumps(body, indent=2, sort_keys=False))
    else:
        _print(target, body, healthy)
    raise typer.Exit(0 if healthy else EXIT_FAILED)


def _health_url(base: str, path: str) -> str:
    parsed = urllib.parse.urlsplit(base)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        fail(f"--url must be an http(s) URL such as http://127.0.0.1:4566, not {base!r}")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/") + path, "", ""))


def _get(url: str, timeout: float) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of ``url``; exits with EXIT_UNREACHABLE when no Sluiceway endpoint answers."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:  # 503 is an answer: unhealthy, not unreachable
        status, raw = error.code, error.read()
        error.close()
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        fail(f"no endpoint answered at {url}: {reason} (is `sluiceway up` running?)", EXIT_UNREACHABLE)
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict) or status == 404 or "status" not in body:
        fail(f"{url} answered HTTP {status} but not as Sluiceway's health route does (another server on that port?)", EXIT_UNREACHABLE)
    return status, body


def _print(url: str, body: dict[str, Any], healthy: bool) -> None:
    style = "green" if healthy else "red"
    headline = Text.assemble((str(body.get("status")), f"bold {style}"), " ", shown(url))
    if body.get("reason"):
        headline.append_text(Text.assemble(": ", shown(body["reason"])))
    if body.get("version"):
        headline.append_text(Text.assemble(" (sluiceway ", shown(body["version"]), ")"))
    console.print(headline, highlight=False)
    checks = body.get("checks")
    if not isinstance(checks, dict):
        return
    width = max((len(str(name)) for name in checks), default=0)
    for name, check in checks.items():
        check = check if isinstance(check, dict) else {}
        ok = check.get("status") == "ok"
        line = Text.assemble(
            "  ",
            ("ok     " if ok else "FAILING", "green" if ok else "bold red"),
            "  ",
            shown(str(name).ljust(width)),
            "  ",
            shown(check.get("detail", "")),
        )
        console.print(line, highlight=False, soft_wrap=True)

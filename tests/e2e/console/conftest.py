"""The console in a real browser: Debian's chromium driven by Playwright, against an app under ``sluiceway up``.

The app (``app/template.yaml``) runs as a user runs one: ``sluiceway up --template`` in its own
process. Chromium is the system's (``apt-get install chromium``, which ``make test`` does):
Playwright is pointed at it and never downloads a browser. Where either is missing the tests
skip, saying which.

Screenshots: every page test calls ``shot(page, name)``; they land in ``docs/console/`` when
``SLUICEWAY_SCREENSHOTS`` names that folder (``make screenshots``), in the test's temp dir otherwise.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functional" / "examples"))
from example_harness import RunningApp, run_template  # noqa: E402

CHROMIUM = os.environ.get("SLUICEWAY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
APP = Path(__file__).resolve().parent / "app"
PASSWORD = "Console-test-9-password"

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install -e '.[dev]')"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"chromium not found at {CHROMIUM} (apt-get install chromium)"),
]


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in this thread
# while it is open, which would break every later test that runs a loop (Mangum, asyncio.run);
# and the app's stack need not run through the rest of the suite.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if sync_playwright is None or not Path(CHROMIUM).exists():
        pytest.skip("playwright or chromium is missing")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium refuses its sandbox.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="package")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with run_template(APP, tmp_path_factory.mktemp("console-app"), "console-app") as running:
        yield running


@pytest.fixture(scope="package")
def users(app: RunningApp) -> dict[str, str]:
    """A viewer and an operator of the stack's default user pool, by role."""
    import httpx

    config = httpx.get(f"{app.url}/_sluiceway/console/config.json", timeout=10).json()
    idp = app.client("cognito-idp")
    made: dict[str, str] = {}
    for role in ("viewer", "operator"):
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        idp.admin_create_user(UserPoolId=config["userPoolId"], Username=name, MessageAction="SUPPRESS")
        idp.admin_set_user_password(UserPoolId=config["userPoolId"], Username=name, Password=PASSWORD, Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=config["userPoolId"], Username=name, GroupName=role)
        made[role] = name
    return made


# Every page reports its Content-Security-Policy violations to the test: the browser blocks what the
# policy forbids (an inline style, a script from elsewhere) and the console would break quietly.
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.sluicewayCspViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
});
"""


@dataclass
class Problems:
    """What went wrong in the page while a test ran: each fails the test at its end."""

    errors: list[str] = field(default_factory=list)
    """Uncaught exceptions of the console's scripts."""
    violations: list[str] = field(default_factory=list)
    """Content-Security-Policy violations, from the page's events and chromium's console."""


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(browser: Browser, problems: Problems) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(10_000)
    # Bindings and init scripts go through the DevTools protocol: the page's policy does not block them.
    context.expose_function("sluicewayCspViolation", lambda violation: problems.violations.append(str(violation)))
    context.add_init_script(_REPORT_VIOLATIONS)
    opened = context.new_page()
    opened.on("pageerror", lambda error: problems.errors.append(str(error)))
    opened.on("console", lambda message: _csp_message(message, problems))
    try:
        yield opened
        assert not problems.errors, f"the console threw: {problems.errors}"
        assert not problems.violations, f"the console broke its Content-Security-Policy: {problems.violations}"
    finally:
        context.close()


def _csp_message(message: ConsoleMessage, problems: Problems) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        problems.violations.append(message.text)


@pytest.fixture
def sign_in(app: RunningApp, users: dict[str, str]) -> Callable[[Page, str], None]:
    """Open the console and sign in as the user with ``role``."""

    def signed_in(page: Page, role: str) -> None:
        page.goto(f"{app.url}/_sluiceway/console")
        page.get_by_label("User name").fill(users[role])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Main").wait_for()

    return signed_in


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("SLUICEWAY_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shot(shots: Path) -> Callable[[Page, str], Path]:
    def take(page: Page, name: str) -> Path:
        path = shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def outputs(app: RunningApp) -> dict[str, Any]:
    return app.outputs

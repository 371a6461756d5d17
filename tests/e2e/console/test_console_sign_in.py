"""Signing in to the console: the default pool's users, wrong passwords refused, roles shown, sign-out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from example_harness import RunningApp
from playwright.sync_api import Page, Request, Route, expect


def test_a_viewer_signs_in_and_out(
    page: Page, sign_in: Callable[[Page, str], None], users: dict[str, str], shot: Callable[[Page, str], Path]
) -> None:
    sign_in(page, "viewer")
    expect(page.locator("#who-name")).to_contain_text(f"{users['viewer']} (viewer)")
    expect(page.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()


def test_a_wrong_password_is_refused_with_cognitos_message(
    page: Page, app: RunningApp, users: dict[str, str], shot: Callable[[Page, str], Path]
) -> None:
    page.goto(f"{app.url}/_sluiceway/console")
    page.get_by_label("User name").fill(users["viewer"])
    page.get_by_label("Password").fill("not-the-password-1A")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Incorrect username or password.")
    shot(page, "sign-in")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()


def test_the_console_is_served_with_a_strict_content_security_policy(page: Page, app: RunningApp) -> None:
    answer = page.request.get(f"{app.url}/_sluiceway/console")
    assert answer.status == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert page.request.get(f"{app.url}/_sluiceway/console/assets/nope.js").status == 404


def test_the_sign_in_form_works_from_the_keyboard(page: Page, app: RunningApp, users: dict[str, str]) -> None:
    page.goto(f"{app.url}/_sluiceway/console")
    expect(page.get_by_label("User name")).to_be_focused()
    page.keyboard.type(users["operator"])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("Console-test-9-password")
    page.keyboard.press("Enter")
    expect(page.locator("#who-name")).to_contain_text("(operator)")


SESSION = "sluiceway.console.session"


def stored_session(page: Page) -> dict[str, Any]:
    session: dict[str, Any] = page.evaluate("key => JSON.parse(sessionStorage.getItem(key))", SESSION)
    return session


def expire_soon(page: Page) -> None:
    """Make the access token look 30 s from expiry: the next API call refreshes it first."""
    page.evaluate(
        """key => {
          const session = JSON.parse(sessionStorage.getItem(key));
          session.expiresAt = Date.now() + 30000;
          sessionStorage.setItem(key, JSON.stringify(session));
        }""",
        SESSION,
    )


def is_refresh(request: Request) -> bool:
    return request.method == "POST" and (request.post_data or "").find("REFRESH_TOKEN_AUTH") >= 0


def test_signing_out_revokes_the_refresh_token(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    sign_in(page, "viewer")
    refresh_token = stored_session(page)["refreshToken"]
    client_id = httpx.get(f"{app.url}/_sluiceway/console/config.json", timeout=10).json()["clientId"]
    idp = app.client("cognito-idp")

    def refresh() -> dict[str, Any]:
        answer: dict[str, Any] = idp.initiate_auth(
            AuthFlow="REFRESH_TOKEN_AUTH", ClientId=client_id, AuthParameters={"REFRESH_TOKEN": refresh_token}
        )
        return answer

    assert refresh()["AuthenticationResult"]["AccessToken"]
    with page.expect_request(lambda request: request.headers.get("x-amz-target", "").endswith(".RevokeToken")) as revoking:
        page.get_by_role("button", name="Sign out").click()
    revoked = revoking.value.response()
    assert revoked is not None and revoked.status == 200, revoked
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        refresh()


def test_a_refresh_that_cannot_reach_cognito_keeps_the_session(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    sign_in(page, "viewer")
    expect(page.get_by_role("table", name="The newest run of each state machine")).to_be_visible()
    cognito = f"{app.url}/"

    def unreachable(route: Route) -> None:
        if is_refresh(route.request):
            route.abort("internetdisconnected")
        else:
            route.fallback()

    page.route(cognito, unreachable)
    expire_soon(page)
    # The refresh fails, the token still valid is used: signed in, and the API still answers.
    with page.expect_request(is_refresh):
        pass
    with page.expect_response(lambda answer: "/_sluiceway/api/" in answer.url and answer.status == 200):
        pass
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert stored_session(page)["expiresAt"] < time.time() * 1000 + 60_000

    # Cognito back: the next call refreshes the session.
    page.unroute(cognito, unreachable)
    page.wait_for_function("key => JSON.parse(sessionStorage.getItem(key)).expiresAt > Date.now() + 120000", arg=SESSION)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_a_refresh_token_cognito_refuses_signs_out(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    sign_in(page, "viewer")
    expect(page.get_by_role("table", name="The newest run of each state machine")).to_be_visible()

    def refused(route: Route) -> None:
        if is_refresh(route.request):
            body = {"__type": "NotAuthorizedException", "message": "Refresh Token has been revoked"}
            route.fulfill(status=400, content_type="application/x-amz-json-1.1", body=json.dumps(body))
        else:
            route.fallback()

    page.route(f"{app.url}/", refused)
    expire_soon(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert page.evaluate("key => sessionStorage.getItem(key)", SESSION) is None


def test_a_content_security_policy_violation_fails_the_test(page: Page, app: RunningApp, problems: Any) -> None:
    """``problems`` is conftest's: what the ``page`` fixture fails a test on at its end."""
    page.goto(f"{app.url}/_sluiceway/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert not problems.violations
    # An inline style attribute: what the console must never set (it styles through the CSSOM).
    page.evaluate("() => document.body.setAttribute('style', 'color: red')")
    deadline = time.monotonic() + 5
    while not problems.violations and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright deliver the page's events
    assert any("style-src" in violation for violation in problems.violations), problems.violations
    problems.violations.clear()  # seen: the fixture's check at teardown is what this test proves

"""Signing in to the console: the default pool's users, wrong passwords refused, roles shown, sign-out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from example_harness import RunningApp
from playwright.sync_api import Page, expect


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

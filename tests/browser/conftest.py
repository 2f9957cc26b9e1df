"""Playwright (sync API) driving Debian's chromium against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, and Django refuses ORM calls from
a thread with a running loop unless told otherwise; the tests' own ORM calls are plain sync
code, so allowing it here is safe.
"""
from __future__ import annotations

import os

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from django.conf import settings as django_settings  # noqa: E402
from django.test import Client  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run",
                 # The studio and the voices page record audio; a fake device keeps the tests headless.
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 "--autoplay-policy=no-user-gesture-required"]
# Screenshots go to the ignored test-artifacts/ folder, so a test run leaves the committed images in
# docs/screenshots alone; `make screenshots` points this at docs/screenshots to refresh them.
SCREENSHOTS = Path(os.environ.get("VOICEGATE_SCREENSHOTS_DIR")
                   or Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots")
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def new_page(browser, live_server):
    """Factory: a fresh browser context (own cookies), optionally signed in as ``user``."""
    contexts = []

    def make(user=None, *, viewport=DESKTOP, locale="en-US"):
        context = browser.new_context(viewport=viewport, locale=locale, base_url=live_server.url,
                                      accept_downloads=True)
        context.set_default_timeout(20_000)
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                                  "url": live_server.url}])
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        # The Content-Security-Policy must not block anything the UI does (Chromium logs each refusal).
        page.on("console", lambda message: errors.append(f"CSP: {message.text}")
                if "Content Security Policy" in message.text else None)
        return page

    errors: list[str] = []
    make.errors = errors  # a test that provokes a refusal on purpose clears it
    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors or Content-Security-Policy refusals on the page: {errors}"


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot into SCREENSHOTS (docs/screenshots under `make screenshots`)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

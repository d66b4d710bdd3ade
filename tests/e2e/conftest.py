"""Browser tests: Playwright for Python driving Debian's chromium against pytest-django's live server.

The live server needs committed data (transactional tests), so the audit table's append-only triggers
are lifted around each test for the closing flush. Static files (htmx, Bootstrap, caredesk.js) are served
by the live server's static-files handler, since django.contrib.staticfiles is installed. Browsers are
never downloaded: the system's /usr/bin/chromium is launched directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from playwright.sync_api import Browser, Page, sync_playwright

from caredesk.demo.services import DEMO_PASSWORD, seed_demo
from tests.patients.factories import audit_triggers_lifted

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium per module. Playwright's sync API runs an event loop in this thread, which
    Django's async-safety check takes for async code: the module's own database calls (setting data up,
    checking what was saved) are allowed explicitly while the browser is open."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()


@pytest.fixture(scope="module", autouse=True)
def _flushable_audit_table(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Module-wide, so the triggers are still lifted when pytest-django's own (autouse) live-server
    helper flushes the database after each test."""
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.fixture
def demo_network(transactional_db, tmp_path) -> Iterator[None]:
    """The demo clinic with a handful of patients; documents go to a temporary media root."""
    with override_settings(MEDIA_ROOT=tmp_path / "media"):
        seed_demo(patients=12, seed=7)
        yield


@pytest.fixture
def page(browser: Browser, live_server, demo_network) -> Iterator[Page]:
    """A fresh tab; the test fails on any script error or Content-Security-Policy violation in it (a
    4xx answer the page renders, such as a form's 400, is expected and not counted)."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    context.close()
    assert problems == []


@pytest.fixture
def sign_in(page: Page):
    """Sign in through the real sign-in form."""

    def sign_in_as(username: str, password: str = DEMO_PASSWORD) -> Page:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return sign_in_as

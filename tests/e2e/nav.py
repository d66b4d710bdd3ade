"""Following the main navigation as a person does: a link in a menu is reached by opening its menu."""

from __future__ import annotations

from playwright.sync_api import Page


def follow(page: Page, label: str) -> None:
    """Click the main navigation's link named `label`, opening the menu that holds it first."""
    nav = page.get_by_role("navigation", name="Main")
    link = nav.get_by_role("link", name=label, exact=True)
    if not link.is_visible():
        # A closed menu's links are hidden, so not in the accessibility tree: find the menu by its text.
        nav.locator(f'details[data-nav-menu]:has(a:text-is("{label}")) > summary').click()
    link.click()

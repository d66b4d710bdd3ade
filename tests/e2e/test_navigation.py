"""Every page in the main navigation opens in a real browser for each demo role: no error answer, no
script error, no Content-Security-Policy violation (the `page` fixture fails the test on either)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("username", "must_see"),
    [
        ("coordinator", {"Patients", "Schedule", "Worklist", "Referrals", "Transitions", "CCM"}),
        ("frontdesk", {"Patients", "Register patient", "Schedule", "Eligibility"}),
        ("billing", {"Patients", "Eligibility", "Payers"}),
        ("patient", {"My record", "My appointments", "My care plans"}),
    ],
)
def test_each_navigation_page_opens_for_the_role(
    page: Page, sign_in, username: str, must_see: set[str]
) -> None:
    sign_in(username)
    nav = page.get_by_role("navigation", name="Main")
    links = nav.locator("a.nav-link")
    names_and_urls = [
        (links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href")) for i in range(links.count())
    ]
    names = {name for name, _ in names_and_urls}
    assert must_see <= names, names
    assert "Audit trail" not in names  # administrators only

    for name, href in names_and_urls:
        assert href is not None
        response = page.goto(href)
        assert response is not None
        assert response.status == 200, f"{name} ({href}) answered {response.status}"
        expect(page.get_by_role("heading").first).to_be_visible()

"""Every page in the main navigation opens in a real browser for each demo role: no error answer, no
script error, no Content-Security-Policy violation (the `page` fixture fails the test on either)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("username", "must_see"),
    [
        ("coordinator", {"Patient lookup", "Schedule", "Worklist", "Referrals", "Transitions", "CCM"}),
        ("frontdesk", {"Patient lookup", "Register patient", "Schedule", "Eligibility"}),
        ("billing", {"Patient lookup", "Eligibility", "Payers"}),
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
        ((links.nth(i).text_content() or "").strip(), links.nth(i).get_attribute("href"))
        for i in range(links.count())
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


def test_the_menus_open_one_at_a_time_and_close_on_escape_or_a_click_elsewhere(page: Page, sign_in) -> None:
    sign_in("coordinator")
    page.goto("/scheduling/waitlist/")
    nav = page.get_by_role("navigation", name="Main")
    # The whole bar fits: who is signed in and Sign out are on screen, not pushed off to the right.
    expect(page.get_by_test_id("whoami")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Sign out")).to_be_in_viewport()
    scheduling = nav.locator("details[data-nav-menu]", has_text="Scheduling")
    care = nav.locator("details[data-nav-menu]", has_text="Care")
    referrals = nav.get_by_role("link", name="Referrals", exact=True)
    expect(referrals).to_be_hidden()
    # The page's own place is marked: the Scheduling menu, and in it the waitlist.
    expect(scheduling.locator("summary")).to_have_class(re.compile(r"\bactive\b"))
    expect(nav.locator("[aria-current=page]")).to_have_text("Waitlist")

    care.locator("summary").click()
    expect(referrals).to_be_visible()
    scheduling.locator("summary").click()
    expect(nav.get_by_role("link", name="Surgery", exact=True)).to_be_visible()
    expect(referrals).to_be_hidden()  # opening one menu closed the other
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Surgery", exact=True)).to_be_hidden()
    care.locator("summary").click()
    page.get_by_role("heading", name="Waitlists").click()
    expect(referrals).to_be_hidden()
    care.locator("summary").click()
    referrals.click()
    expect(page.get_by_role("heading", name="Referrals", exact=True)).to_be_visible()

"""Scheduling setup in a real browser: a coordinator (who manages the schedule) adds a procedure room, a
visit type that needs it and the room's weekly hours; a second, overlapping set of hours is refused with
the reason; and the new hours show up as bookable times on the slot search page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from caredesk.scheduling.models import AvailabilityTemplate, Resource

pytestmark = pytest.mark.e2e

LOCATION = "Riverside Family Health Center"
ROOM = "Minor Procedure 7"


def test_a_manager_sets_up_a_room_and_its_hours_become_bookable(page: Page, sign_in) -> None:
    sign_in("coordinator")
    page.goto("/scheduling/")
    page.get_by_role("link", name="Scheduling setup").click()
    expect(page.get_by_role("heading", name="Scheduling setup")).to_be_visible()

    # A room at the clinic.
    page.get_by_role("link", name="Add a resource").click()
    page.get_by_label("Kind").select_option(label="Room")
    page.get_by_label("Location").select_option(label=LOCATION)
    page.get_by_label("Name").fill(ROOM)
    page.get_by_label("Category").fill("procedure")
    page.get_by_role("button", name="Save resource").click()
    expect(page.get_by_role("alert").filter(has_text=f"{ROOM} is schedulable")).to_be_visible()
    expect(page.get_by_test_id("resources")).to_contain_text(ROOM)

    # A visit type that needs exactly that room.
    page.get_by_role("link", name="Visit types").click()
    page.get_by_role("link", name="Add a visit type").click()
    page.get_by_label("Name").fill("Wound check in the procedure room")
    page.get_by_label("Code").fill("wound-check-7")
    page.get_by_label("Duration (minutes)").fill("30")
    page.get_by_label("Start times every (minutes)").fill("30")
    requirements = page.get_by_test_id("requirements")
    requirements.locator("select[name='req-0-kind']").select_option("room")
    requirements.locator("select[name='req-0-resource']").select_option(label=f"{ROOM} (room, {LOCATION})")
    page.get_by_role("button", name="Save visit type").click()
    expect(page.get_by_test_id("visit-types")).to_contain_text("Wound check in the procedure room")

    # The room's week: every day 08:00-12:00.
    page.get_by_role("link", name="Weekly hours").click()
    page.get_by_role("link", name="Add weekly hours").click()
    page.get_by_label("Resource").select_option(label=f"{ROOM} (room, {LOCATION})")
    first_row = page.get_by_test_id("window-row").first
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        first_row.get_by_label(day).check()
    first_row.locator("input[name='win-0-start']").fill("08:00")
    first_row.locator("input[name='win-0-end']").fill("12:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_role("alert").filter(has_text="7 weekly windows saved")).to_be_visible()
    card = page.get_by_test_id("template").filter(has_text=ROOM)
    expect(card.locator("table.wk-grid td.wk-open").first).to_be_visible()
    expect(card.get_by_test_id("windows")).to_contain_text("Mon-Sun 08:00-12:00")

    # More hours that overlap them are refused, with where they overlap; nothing is saved.
    page.get_by_role("link", name="Add weekly hours").click()
    page.get_by_label("Resource").select_option(label=f"{ROOM} (room, {LOCATION})")
    page.get_by_label("Name", exact=True).fill("Extra Monday")
    row = page.get_by_test_id("window-row").first
    row.get_by_label("Mon").check()
    row.locator("input[name='win-0-start']").fill("11:00")
    row.locator("input[name='win-0-end']").fill("13:00")
    page.get_by_role("button", name="Save weekly hours").click()
    expect(page.get_by_test_id("window-errors")).to_contain_text(
        re.compile(
            rf"Monday 11:00-13:00 overlaps {ROOM}'s template 'Regular week' \(first on \d{{4}}-\d\d-\d\d\)\."
        )
    )
    room = Resource.objects.get(name=ROOM)
    assert AvailabilityTemplate.objects.filter(resource=room).count() == 1

    # The new hours are bookable times.
    page.goto("/scheduling/slots/")
    page.get_by_label("Visit type").select_option(label="Wound check in the procedure room")
    page.get_by_test_id("find-times").click()
    slots = page.get_by_test_id("slot")
    expect(slots.first).to_contain_text(ROOM)
    expect(slots.first).to_contain_text(re.compile(r"\b(08|09|10|11):(00|30)\b"))
    assert slots.count() >= 8

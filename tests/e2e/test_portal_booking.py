"""The demo patient books a follow-up in the portal, changes its time and cancels it, in a real browser."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from caredesk.accounts.models import Location, User
from caredesk.scheduling.choices import AppointmentSource, AppointmentStatus, CancelReason
from caredesk.scheduling.models import Appointment

pytestmark = pytest.mark.e2e
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _working_days_two_days_out(zone: ZoneInfo) -> tuple[int, int]:
    """The first two working days at least two days ahead (as weekdays): their visits are well outside
    the 24-hour cancellation notice whatever the time of day the test runs."""
    days: list[int] = []
    day = dt.datetime.now(zone).date() + dt.timedelta(days=2)
    while len(days) < 2:
        if day.weekday() < 5:
            days.append(day.weekday())
        day += dt.timedelta(days=1)
    return days[0], days[1]


def _demo_patient() -> tuple[User, ZoneInfo]:
    user = User.objects.get(username="patient")
    assert user.patient_id is not None
    zone = ZoneInfo(Location.objects.filter(organization_id=user.organization_id).order_by("pk")[0].timezone)
    return user, zone


def _pick_the_first_time(page: Page, weekday: int) -> None:
    """On a "find times" page: only `weekday`, find times, choose the first one offered."""
    page.get_by_label(WEEKDAY_LABELS[weekday], exact=True).check()
    page.get_by_role("button", name="Find times").click()
    times = page.get_by_test_id("portal-slots").get_by_role("link")
    expect(times.first).to_be_visible()
    times.first.click()


def _book_a_follow_up(page: Page, user: User, weekday: int) -> Appointment:
    """Signed in as the patient: book the first follow-up offered on `weekday`, through the pages."""
    before = set(Appointment.objects.filter(patient_id=user.patient_id).values_list("pk", flat=True))
    page.goto("/scheduling/my/")
    page.get_by_role("link", name="Book a visit").click()
    expect(page.get_by_role("heading", name="Book a visit")).to_be_visible()
    page.get_by_label("Type of visit").select_option(label="Follow-up visit")
    _pick_the_first_time(page, weekday)
    expect(page.get_by_test_id("portal-confirm")).to_contain_text("Follow-up visit")
    page.get_by_role("button", name="Book this visit").click()

    expect(page).to_have_url(re.compile(r"/scheduling/my/$"))
    expect(page.get_by_role("alert").filter(has_text="Booked: Follow-up visit")).to_be_visible()
    booked = Appointment.objects.exclude(pk__in=before).get(patient_id=user.patient_id)
    assert booked.source == AppointmentSource.PORTAL
    assert booked.status == AppointmentStatus.BOOKED
    return booked


def test_the_demo_patient_books_a_follow_up_and_then_cancels_it(page: Page, sign_in) -> None:
    user, zone = _demo_patient()
    sign_in("patient")
    booked = _book_a_follow_up(page, user, _working_days_two_days_out(zone)[0])

    cancel_url = reverse("scheduling:my_cancel", args=[booked.pk])
    visit = page.get_by_test_id("upcoming-visit").filter(has=page.locator(f"form[action='{cancel_url}']"))
    expect(visit).to_have_count(1)
    visit.get_by_text("Cancel visit").click()
    visit.get_by_label("Reason (optional)").fill("Feeling much better")
    visit.get_by_role("button", name="Confirm cancellation").click()

    expect(page.get_by_role("alert").filter(has_text="Cancelled: Follow-up visit")).to_be_visible()
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED
    assert booked.cancel_reason == CancelReason.PATIENT_REQUEST
    assert booked.cancel_note == "Feeling much better"
    expect(page.locator(f"form[action='{cancel_url}']")).to_have_count(0)


def test_the_demo_patient_books_a_follow_up_and_then_changes_its_time(page: Page, sign_in) -> None:
    user, zone = _demo_patient()
    first_day, other_day = _working_days_two_days_out(zone)
    sign_in("patient")
    booked = _book_a_follow_up(page, user, first_day)
    was = booked.starts_at

    change_url = reverse("scheduling:my_reschedule", args=[booked.pk])
    visit = page.get_by_test_id("upcoming-visit").filter(has=page.locator(f"a[href='{change_url}']"))
    expect(visit).to_have_count(1)
    visit.get_by_role("link", name="Change time").click()
    expect(page.get_by_role("heading", name="Change the time of your visit")).to_be_visible()
    _pick_the_first_time(page, other_day)
    expect(page.get_by_test_id("portal-confirm")).to_contain_text("Follow-up visit")
    page.get_by_role("button", name="Move my visit").click()

    expect(page).to_have_url(re.compile(r"/scheduling/my/$"))
    expect(page.get_by_role("alert").filter(has_text="Moved: Follow-up visit on")).to_be_visible()
    moved = Appointment.objects.get(pk=booked.pk)
    assert moved.starts_at != was
    assert moved.starts_at.astimezone(zone).weekday() == other_day
    assert moved.status == AppointmentStatus.BOOKED
    when = moved.starts_at.astimezone(zone)
    visit = page.get_by_test_id("upcoming-visit").filter(has=page.locator(f"a[href='{change_url}']"))
    expect(visit).to_contain_text(f"{when:%A} {when.day} {when:%B %Y}, {when:%H:%M}")

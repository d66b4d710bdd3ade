"""The demo patient books a follow-up in the portal and cancels it again, in a real browser."""

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


def _a_weekday_two_days_out(zone: ZoneInfo) -> int:
    """A working day at least two days ahead: its visits are well outside the 24-hour cancellation
    notice whatever the time of day the test runs."""
    day = dt.datetime.now(zone).date() + dt.timedelta(days=2)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.weekday()


def test_the_demo_patient_books_a_follow_up_and_then_cancels_it(page: Page, sign_in) -> None:
    user = User.objects.get(username="patient")
    assert user.patient_id is not None
    zone = ZoneInfo(Location.objects.filter(organization_id=user.organization_id).order_by("pk")[0].timezone)
    before = set(Appointment.objects.filter(patient_id=user.patient_id).values_list("pk", flat=True))

    sign_in("patient")
    page.goto("/scheduling/my/")
    page.get_by_role("link", name="Book a visit").click()
    expect(page.get_by_role("heading", name="Book a visit")).to_be_visible()
    page.get_by_label("Type of visit").select_option(label="Follow-up visit")
    page.get_by_label(WEEKDAY_LABELS[_a_weekday_two_days_out(zone)], exact=True).check()
    page.get_by_role("button", name="Find times").click()

    times = page.get_by_test_id("portal-slots").get_by_role("link")
    expect(times.first).to_be_visible()
    times.first.click()
    expect(page.get_by_test_id("portal-confirm")).to_contain_text("Follow-up visit")
    page.get_by_role("button", name="Book this visit").click()

    expect(page).to_have_url(re.compile(r"/scheduling/my/$"))
    expect(page.get_by_role("alert").filter(has_text="Booked: Follow-up visit")).to_be_visible()
    booked = Appointment.objects.exclude(pk__in=before).get(patient_id=user.patient_id)
    assert booked.source == AppointmentSource.PORTAL
    assert booked.status == AppointmentStatus.BOOKED

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

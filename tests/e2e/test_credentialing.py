"""Credentialing in a real browser, on the seeded demo network: the medical-staff coordinator sees a
license lapsing in 45 days on the report and its notice on the worklist; booking a video visit for a New
Jersey patient with the practitioner whose New Jersey license lapsed is refused, with the reason and the
colleagues who could take it, and nothing is booked."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role, permissions_for
from caredesk.core.context import system_actor
from caredesk.credentialing import clock
from caredesk.credentialing.models import StateLicense
from caredesk.scheduling.models import Appointment, VisitType
from caredesk.worklist.models import Task
from tests.e2e.nav import follow
from tests.patients.factories import make_patient

pytestmark = pytest.mark.e2e


def test_coordinator_sees_the_expiring_license_and_its_task(page: Page, sign_in) -> None:
    org = Organization.objects.get(short_code="RSH")
    expiring = StateLicense.objects.get(organization=org, expires_on=clock.today() + dt.timedelta(days=45))
    task = Task.objects.get(source_type="credentialing.license", source_id=str(expiring.pk))
    sign_in("coordinator")
    follow(page, "Credentialing")
    page.get_by_role("link", name="Expiring in 90 days").click()
    row = page.get_by_test_id("expiring-table").locator("tr", has_text=expiring.number)
    expect(row).to_contain_text("45")
    expect(page.get_by_test_id("chart-months")).to_be_visible()
    page.goto("/worklist/?queue=medical_staff")
    expect(page.get_by_text(task.title)).to_be_visible()
    page.goto(f"/credentialing/practitioners/{expiring.practitioner_id}/")
    expect(page.get_by_test_id("licenses")).to_contain_text(expiring.number)


def test_booking_where_the_license_lapsed_is_refused_with_reasons_and_alternatives(
    page: Page, sign_in
) -> None:
    org = Organization.objects.get(short_code="RSH")
    lapsed = StateLicense.objects.get(organization=org, state="NJ", expires_on__lt=clock.today())
    admin = system_actor(organization_id=org.pk, permissions=permissions_for(Role.ADMINISTRATOR))
    patient = make_patient(admin, state="NJ", given_name="Nadia", family_name="Jerseyan")
    video = VisitType.objects.get(organization=org, code="video-follow-up")
    sign_in("coordinator")
    page.goto(f"/scheduling/book/?patient={patient.pk}")
    page.get_by_label("Visit type").select_option(str(video.pk))
    page.get_by_label("Practitioner").select_option(str(lapsed.practitioner_id))
    page.get_by_test_id("find-times").click()
    # The search offers no time the booking would refuse, and says why instead of a bare "no times".
    refusal = page.get_by_test_id("no-slots")
    expect(refusal).to_contain_text(f"New Jersey license {lapsed.number} expired on")
    expect(refusal).to_contain_text("and has not been renewed")
    expect(refusal).to_contain_text("Who could:")
    expect(page.get_by_test_id("slot")).to_have_count(0)
    assert not Appointment.objects.filter(patient=patient).exists()

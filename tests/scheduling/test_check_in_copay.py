"""Check-in at the desk: the appointment page shows the co-pay due from the patient's active primary
coverage and the latest eligibility result, and records what the desk confirmed with the patient."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.coverage import services as coverage_services
from caredesk.coverage.services import CoverageInput
from caredesk.scheduling import services
from caredesk.scheduling.models import Appointment
from tests.patients.factories import staff_actor

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db
SELF_PAY = "Self-pay / co-pay unknown — verify eligibility"


@pytest.fixture
def desk(client_as, make_user, org):
    return client_as(make_user(Role.FRONT_DESK, org))


def insure(org, patient, copay: str | None, route: str = "file_drop"):
    billing = staff_actor(org, Role.ADMINISTRATOR)
    payer = coverage_services.create_payer(actor=billing, name="Hudson Mutual", payer_id="HM001", route=route)
    plan = coverage_services.create_plan(actor=billing, payer_id=payer.pk, name="Hudson Silver", copay=copay)
    return coverage_services.add_coverage(
        actor=billing,
        patient_id=patient.pk,
        data=CoverageInput(
            plan_id=plan.pk, member_id="HM123456", order=1, effective_from=dt.date(2026, 1, 1)
        ),
    )


def today_appointment(clinic, patient) -> Appointment:
    return book(clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])


def test_the_check_in_shows_the_plan_co_pay_and_the_eligibility_result(clinic, desk, org):
    patient = clinic.patient()
    coverage = insure(org, patient, "35.00")
    coverage_services.request_eligibility_check(
        actor=staff_actor(org, Role.ADMINISTRATOR), coverage_id=coverage.pk
    )
    appointment = today_appointment(clinic, patient)
    before = AuditEvent.objects.filter(action=AuditAction.COVERAGE_VIEW, patient_id=patient.pk).count()

    body = desk.get(reverse("scheduling:detail", args=[appointment.pk])).content.decode()

    assert "Co-pay due: <strong>$35.00</strong>" in body
    assert "Hudson Mutual, Hudson Silver; the plan's usual co-pay" in body
    assert "Eligibility: Waiting to be sent" in body
    assert "member ID HM123456" in body
    assert SELF_PAY not in body
    # Reading the coverage went through the coverage app's audited path.
    assert (
        AuditEvent.objects.filter(action=AuditAction.COVERAGE_VIEW, patient_id=patient.pk).count()
        == before + 1
    )


def test_no_coverage_or_no_amount_says_self_pay_unknown(clinic, desk, org):
    uninsured = clinic.patient()
    no_amount = clinic.patient()
    insure(org, no_amount, None)
    first = today_appointment(clinic, uninsured)
    second = book(
        clinic, at(MONDAY, 10), patient=no_amount, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )

    page = desk.get(reverse("scheduling:detail", args=[first.pk])).content.decode()
    assert SELF_PAY in page
    assert "no active primary coverage on file" in page
    page = desk.get(reverse("scheduling:detail", args=[second.pk])).content.decode()
    assert SELF_PAY in page
    assert "Hudson Silver" in page
    assert "not checked yet" in page


def test_checking_in_records_what_the_desk_confirmed(clinic, desk, org, frozen_clock):
    confirmed, unconfirmed = clinic.patient(), clinic.patient()
    insure(org, confirmed, "20.00")
    one = today_appointment(clinic, confirmed)
    two = book(
        clinic, at(MONDAY, 9), patient=unconfirmed, resource_ids=[clinic.dr_family.pk, clinic.exam2.pk]
    )
    frozen_clock(at(MONDAY, 8, 50))

    response = desk.post(
        reverse("scheduling:check_in", args=[one.pk]),
        {"version": one.version, "demographics_confirmed": "on", "coverage_confirmed": "on"},
    )
    assert response.status_code == 302
    desk.post(reverse("scheduling:check_in", args=[two.pk]), {"version": two.version})

    event = Appointment.objects.get(pk=one.pk).events.get(kind="checked_in")
    assert (event.detail["demographics_confirmed"], event.detail["coverage_confirmed"]) == (True, True)
    event = Appointment.objects.get(pk=two.pk).events.get(kind="checked_in")
    assert (event.detail["demographics_confirmed"], event.detail["coverage_confirmed"]) == (False, False)
    page = desk.get(reverse("scheduling:detail", args=[one.pk])).content.decode()
    assert "demographics confirmed, coverage confirmed" in page
    assert 'data-testid="check-in"' not in page  # arrived: nothing left to check in


def test_a_refused_check_in_changes_nothing(clinic, desk, org, frozen_clock):
    patient = clinic.patient()
    appointment = book(
        clinic,
        at(MONDAY + dt.timedelta(days=1), 9),
        patient=patient,
        resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk],
    )
    response = desk.post(
        reverse("scheduling:check_in", args=[appointment.pk]),
        {"version": appointment.version, "demographics_confirmed": "on"},
    )
    assert response.status_code == 409
    assert "on the day of the appointment only" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    assert not appointment.events.filter(kind="checked_in").exists()


def test_the_check_in_shows_earlier_no_shows(clinic, desk, org, frozen_clock, settings):
    settings.CAREDESK_NO_SHOW_GRACE_MINUTES = 15
    patient = clinic.patient()
    missed = today_appointment(clinic, patient)
    later = book(clinic, at(MONDAY, 11), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    frozen_clock(at(MONDAY, 9, 30))
    services.mark_no_show(actor=clinic.desk, appointment_id=missed.pk)
    page = desk.get(reverse("scheduling:detail", args=[later.pk])).content.decode()
    assert "1 earlier no-show" in page

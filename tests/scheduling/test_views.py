"""Scheduling pages as people use them: the calendar grid, booking with slot search, the appointment page
and its actions, rescheduling, and the portal list."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.scheduling import selectors
from caredesk.scheduling.models import Appointment
from tests.patients.factories import portal_user_for

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
TUESDAY = MONDAY + dt.timedelta(days=1)


@pytest.fixture
def desk(client_as, make_user, org):
    return client_as(make_user(Role.FRONT_DESK, org))


def detail_url(appointment: Appointment) -> str:
    return reverse("scheduling:detail", args=[appointment.pk])


def test_the_day_calendar_draws_a_column_per_resource_with_appointments_spanning_rows(clinic, desk):
    patient = clinic.patient(family_name="Quill")
    book(clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    book(clinic, at(MONDAY, 10), clinic.echo)
    response = desk.get(
        reverse("scheduling:calendar"), {"location": clinic.location.pk, "date": "2027-03-01"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    for column in ("Cora Heart, MD", "Finn Family, MD", "Exam 1", "Exam 2", "Procedure", "Echo cart"):
        assert column in body
    assert body.count("<strong>Quill, ") == 2  # in Dr. Heart's column and in Exam 1's
    assert 'rowspan="3"' in body  # the echo: 60 minutes over 20-minute rows (visits here are 20 min)
    assert "Monday 1 March 2027" in body
    assert 'href="/scheduling/book/?resource=' in body  # free cells offer booking
    # The calendar read is audited with the appointments shown.
    event = AuditEvent.objects.filter(action=int(AuditAction.APPOINTMENT_SEARCH)).latest("pk")
    assert len(event.detail["ids"]) == 2


def test_calendar_navigation_is_a_fragment_for_htmx_and_the_week_shows_one_resource(clinic, desk):
    book(clinic, at(TUESDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    fragment = desk.get(reverse("scheduling:calendar"), {"date": "2027-03-02"}, **HTMX).content.decode()
    assert "<html" not in fragment
    assert 'id="calendar"' in fragment
    week = desk.get(
        reverse("scheduling:calendar"), {"view": "week", "date": "2027-03-03", "resource": clinic.dr_heart.pk}
    )
    assert week.status_code == 200
    body = week.content.decode()
    assert "Mon 01 Mar" in body
    assert "Sun 07 Mar" in body
    assert "week of Mon 1 Mar 2027" in body
    assert 'data-testid="day-group"' not in body  # one resource: a column per day
    assert body.count('data-testid="appointment"') == 1


def test_booking_page_finds_slots_and_books_the_one_picked(clinic, desk):
    patient = clinic.patient(family_name="Booker")
    page = desk.get(reverse("scheduling:book"), {"patient": patient.pk}).content.decode()
    assert "Booker, " in page
    slots = desk.get(
        reverse("scheduling:slots"),
        {"visit_type": clinic.follow_up.pk, "practitioner": clinic.family.pk, "first_day": "2027-03-02"},
        **HTMX,
    )
    assert slots.status_code == 200
    tokens = re.findall(r'name="slot" id="slot-\d+" value="([^"]+)"', slots.content.decode())
    assert tokens[0].startswith("2027-03-02T08:00:00-05:00|")
    assert "Tue 2 Mar, 08:00" in slots.content.decode()
    response = desk.post(
        reverse("scheduling:book"),
        {
            "patient": patient.pk,
            "visit_type": clinic.follow_up.pk,
            "slot": tokens[1],
            "source": "phone",
            "notes": "x",
        },
    )
    appointment = Appointment.objects.get(patient=patient)
    assert response.status_code == 302
    assert response["Location"] == detail_url(appointment)
    assert appointment.local_start == at(TUESDAY, 8, 15)
    assert appointment.source == "phone"
    detail = desk.get(response["Location"]).content.decode()
    assert "Finn Family, MD" in detail
    assert "Tuesday 2 March 2027, 08:15" in detail


def test_booking_a_taken_slot_says_why_with_409(clinic, desk):
    patient = clinic.patient()
    slot = selectors.find_slots(
        actor=clinic.desk, query=selectors.SlotQuery(visit_type_id=clinic.follow_up.pk, limit=1)
    )[0]
    book(clinic, slot.start, resource_ids=list(slot.resource_ids))
    response = desk.post(
        reverse("scheduling:book"),
        {"patient_mrn": patient.mrn, "visit_type": clinic.follow_up.pk, "slot": slot.token, "source": "desk"},
    )
    assert response.status_code == 409
    assert "already booked at an overlapping time" in response.content.decode()
    assert not Appointment.objects.filter(patient=patient).exists()
    missing = desk.post(reverse("scheduling:book"), {"visit_type": clinic.follow_up.pk, "source": "desk"})
    assert missing.status_code == 400
    assert "Enter the MRN" in missing.content.decode()


def test_a_series_with_a_conflict_lists_the_visits_that_cannot_be_booked(clinic, desk):
    patient = clinic.patient()
    book(clinic, at(MONDAY + dt.timedelta(weeks=1), 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    token = f"{at(MONDAY, 9).isoformat()}|{clinic.location.pk}|{clinic.dr_heart.pk},{clinic.exam1.pk}"
    response = desk.post(
        reverse("scheduling:book"),
        {
            "patient": patient.pk,
            "visit_type": clinic.follow_up.pk,
            "slot": token,
            "source": "desk",
            "every_weeks": 1,
            "occurrences": 3,
        },
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "1 of 3 appointments in the series cannot be booked" in body
    assert "Visit 2 (Mon 08 Mar 2027 09:00)" in body
    assert not Appointment.objects.filter(patient=patient).exists()


def test_the_appointment_page_shows_history_and_the_actions_allowed(clinic, desk, client_as, make_user, org):
    appointment = book(clinic, at(MONDAY, 9))
    body = desk.get(detail_url(appointment)).content.decode()
    for text in ("Booked", "Check in", "Confirm", "Cancel appointment", "Reschedule", "Exam 1"):
        assert text in body
    assert "No-show" not in body  # not before the grace period
    nurse = client_as(make_user(Role.NURSE, org)).get(detail_url(appointment))
    assert nurse.status_code == 200
    assert "Cancel appointment" not in nurse.content.decode()
    assert client_as(make_user(Role.BILLING, org)).get(detail_url(appointment)).status_code == 403
    assert (
        AuditEvent.objects.filter(
            action=int(AuditAction.APPOINTMENT_VIEW), patient_id=appointment.patient_id
        ).count()
        == 2
    )


def test_another_organization_gets_404(clinic, client_as, make_user, other_org):
    appointment = book(clinic, at(MONDAY, 9))
    outsider = client_as(make_user(Role.FRONT_DESK, other_org))
    assert outsider.get(detail_url(appointment)).status_code == 404
    assert (
        outsider.post(reverse("scheduling:cancel", args=[appointment.pk]), {"reason": "other"}).status_code
        == 404
    )


def test_cancel_check_in_and_no_show_from_the_page(clinic, desk, frozen_clock):
    first = book(clinic, at(MONDAY, 9))
    second = book(clinic, at(MONDAY, 10))
    refused = desk.post(reverse("scheduling:cancel", args=[first.pk]), {"reason": ""})
    assert refused.status_code == 400
    done = desk.post(reverse("scheduling:cancel", args=[first.pk]), {"reason": "weather", "version": 1})
    assert done.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.cancel_reason) == ("cancelled", "weather")
    stale = desk.post(reverse("scheduling:check_in", args=[second.pk]), {"version": 7})
    assert stale.status_code == 409
    assert "changed this appointment" in stale.content.decode()
    too_early = desk.post(reverse("scheduling:no_show", args=[second.pk]))
    assert too_early.status_code == 409
    assert "no-show 15 minutes after the start" in too_early.content.decode()
    frozen_clock(at(MONDAY, 9, 55))
    assert desk.post(reverse("scheduling:check_in", args=[second.pk]), {"version": 1}).status_code == 302
    assert (
        desk.post(reverse("scheduling:status", args=[second.pk]), {"status": "in_progress"}).status_code
        == 302
    )
    second.refresh_from_db()
    assert second.status == "in_progress"
    assert desk.get(reverse("scheduling:cancel", args=[second.pk])).status_code == 405


def test_reschedule_page_offers_times_and_moves_the_appointment(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    page = desk.get(reverse("scheduling:reschedule", args=[appointment.pk]))
    assert page.status_code == 200
    assert f'name="exclude_appointment" value="{appointment.pk}"' in page.content.decode()
    slots = desk.get(
        reverse("scheduling:slots"),
        {
            "visit_type": clinic.follow_up.pk,
            "practitioner": clinic.heart.pk,
            "first_day": "2027-03-01",
            "earliest": "09:00",
            "exclude_appointment": appointment.pk,
        },
        **HTMX,
    ).content.decode()
    tokens = re.findall(r'value="([^"]+\|[^"]+)"', slots)
    assert tokens[0].startswith("2027-03-01T09:00:00-05:00|")  # its own time counts as free
    response = desk.post(
        reverse("scheduling:reschedule", args=[appointment.pk]),
        {"visit_type": clinic.follow_up.pk, "slot": tokens[2], "version": 1, "reason": "Later please"},
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.local_start == at(MONDAY, 9, 30)
    assert "Later please" in desk.get(detail_url(appointment)).content.decode()


def test_portal_patients_see_their_own_appointments(clinic, client_as):
    patient = clinic.patient()
    book(clinic, at(MONDAY, 9), patient=patient)
    book(clinic, at(MONDAY, 10), clinic.video, modality="telehealth", patient=patient)
    other = book(clinic, at(MONDAY, 11))
    client = client_as(portal_user_for(patient))
    response = client.get(reverse("scheduling:my_appointments"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Monday 1 March 2027, 09:00" in body
    assert "Join video visit" in body
    assert body.count("list-group-item") == 2
    assert client.get(detail_url(other)).status_code == 403
    assert AuditEvent.objects.filter(
        action=int(AuditAction.APPOINTMENT_SEARCH), patient_id=patient.pk
    ).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, clinic):
    response = client.get(reverse("scheduling:calendar"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))

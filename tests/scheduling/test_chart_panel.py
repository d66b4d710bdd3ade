"""The patient chart's appointments panel: what the desk sees of a patient's visits before booking again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.scheduling import services
from caredesk.scheduling.choices import CancelReason
from tests.patients.factories import make_patient, portal_user_for

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db


def _panel(client, patient_id: int):
    return client.get(reverse("scheduling:patient_panel", args=[patient_id]))


def test_the_panel_lists_the_next_visits_soonest_first_and_the_no_shows_of_the_year(
    clinic, client_as, make_user, org, frozen_clock
):
    patient = clinic.patient(family_name="Panel")
    later = book(clinic, at(MONDAY + dt.timedelta(days=7), 10), patient=patient)
    sooner = book(clinic, at(MONDAY, 11), patient=patient)
    dropped = book(clinic, at(MONDAY + dt.timedelta(days=2), 9), patient=patient)
    services.cancel_appointment(
        actor=clinic.desk, appointment_id=dropped.pk, reason=CancelReason.PATIENT_REQUEST
    )
    missed = book(clinic, at(MONDAY, 8), patient=patient)
    frozen_clock(at(MONDAY, 9, 30))
    services.mark_no_show(actor=clinic.desk, appointment_id=missed.pk)
    book(clinic, at(MONDAY, 14))  # someone else's

    desk = client_as(make_user(Role.FRONT_DESK, org))
    response = _panel(desk, patient.pk)
    assert response.status_code == 200
    body = response.content.decode()
    listed = [body.index(reverse("scheduling:detail", args=[a.pk])) for a in (sooner, later)]
    assert listed == sorted(listed)  # Monday 11:00 before next Monday 10:00
    assert "Mon 1 Mar 2027, 11:00" in body
    assert reverse("scheduling:detail", args=[dropped.pk]) not in body  # cancelled
    assert reverse("scheduling:detail", args=[missed.pk]) not in body  # past
    assert "1 no-show in the last year" in body


def test_nothing_ahead_is_said_and_strangers_and_patients_are_refused(
    clinic, client_as, make_user, org, other_org
):
    patient = clinic.patient(family_name="Quiet")
    desk = client_as(make_user(Role.FRONT_DESK, org))
    assert "Nothing booked ahead." in _panel(desk, patient.pk).content.decode()
    stranger = client_as(make_user(Role.FRONT_DESK, other_org))
    assert _panel(stranger, patient.pk).status_code == 404
    assert (
        client_as(portal_user_for(patient))
        .get(reverse("scheduling:patient_panel", args=[patient.pk]))
        .status_code
        == 403
    )


def test_the_chart_loads_the_panel_for_staff_who_see_the_schedule(clinic, client_as, make_user, org):
    patient = make_patient(clinic.admin, family_name="Charted")
    desk = client_as(make_user(Role.FRONT_DESK, org))
    chart = desk.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert reverse("scheduling:patient_panel", args=[patient.pk]) in chart

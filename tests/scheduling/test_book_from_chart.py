"""Booking from the patient chart: the chart links to the booking page with the patient chosen, for users
who may book."""

from __future__ import annotations

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role

pytestmark = pytest.mark.django_db


def test_the_chart_offers_booking_for_this_patient_to_those_who_may_book(clinic, client_as, make_user, org):
    patient = clinic.patient(given_name="Ingrid", family_name="Lindqvist")
    chart = reverse("patients:chart", args=[patient.pk])
    desk = client_as(make_user(Role.FRONT_DESK, org))
    page = desk.get(chart).content.decode()
    link = f'href="{reverse("scheduling:book")}?patient={patient.pk}" data-testid="book-link"'
    assert link in page
    assert ">Book appointment</a>" in page

    booking = desk.get(reverse("scheduling:book"), {"patient": patient.pk})
    assert booking.status_code == 200
    assert f"Lindqvist, Ingrid ({patient.mrn})" in booking.content.decode()

    nurse = client_as(make_user(Role.NURSE, org))
    seen = nurse.get(chart)
    assert seen.status_code == 200
    assert 'data-testid="book-link"' not in seen.content.decode()

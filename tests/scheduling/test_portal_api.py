"""Patient self-scheduling over the JSON API (/api/v1/portal/...): a patient's token lists what may be
booked online, finds times, books one for themselves, moves it and cancels it; staff tokens are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.accounts.permissions import Role
from caredesk.scheduling.choices import AppointmentSource, AppointmentStatus, CancelReason
from caredesk.scheduling.models import Appointment
from tests.interop.conftest import TokenClient, token_for
from tests.patients.factories import portal_user_for

from .conftest import MONDAY, at, book
from .test_portal_booking import online_visit_type

pytestmark = pytest.mark.django_db
API = "/api/v1/portal"
THURSDAY = MONDAY + dt.timedelta(days=3)
FRIDAY = MONDAY + dt.timedelta(days=4)


@pytest.fixture
def online(clinic):
    return online_visit_type(clinic)


@pytest.fixture
def patient(clinic):
    return clinic.patient(family_name="Apiwright")


@pytest.fixture
def patient_api(patient) -> TokenClient:
    return TokenClient(token_for(portal_user_for(patient)))


def test_a_patient_finds_books_and_cancels_over_the_api(clinic, online, patient, patient_api):
    listed = patient_api.get(f"{API}/visit-types")
    assert listed.status_code == 200
    assert [v["code"] for v in listed.json()["results"]] == [online.code]

    found = patient_api.get(f"{API}/visit-types/{online.pk}/slots", {"weekdays": [3], "limit": 3})
    assert found.status_code == 200
    slot = found.json()["results"][0]
    assert slot["start"] == "2027-03-04T08:00:00-05:00"

    created = patient_api.post_json(
        f"{API}/appointments",
        {
            "visit_type_id": online.pk,
            "location_id": slot["location_id"],
            "start": slot["start"],
            "resource_ids": [r["id"] for r in slot["resources"]],
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["patient_id"] == patient.pk
    assert body["source"] == AppointmentSource.PORTAL
    assert body["warnings"] == []

    again = patient_api.post_json(
        f"{API}/appointments",
        {"visit_type_id": online.pk, "location_id": slot["location_id"], "start": slot["start"],
         "resource_ids": [r["id"] for r in slot["resources"]]},
    )  # fmt: skip
    assert again.status_code == 409
    assert again.json()["code"] == "slot_conflict"
    assert again.json()["message"] == "That time was just taken; pick another."

    cancelled = patient_api.post_json(f"{API}/appointments/{body['id']}/cancel", {"note": "Better now"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == AppointmentStatus.CANCELLED
    assert cancelled.json()["cancel_reason"] == CancelReason.PATIENT_REQUEST


def test_the_api_refuses_what_the_portal_refuses(clinic, online, patient, patient_api, frozen_clock):
    not_online = patient_api.post_json(
        f"{API}/appointments",
        {
            "visit_type_id": clinic.follow_up.pk,
            "location_id": clinic.location.pk,
            "start": at(THURSDAY, 9).isoformat(),
        },
    )
    assert not_online.status_code == 404
    assert patient_api.get(f"{API}/visit-types/{clinic.follow_up.pk}/slots").status_code == 404
    too_soon = patient_api.post_json(
        f"{API}/appointments",
        {
            "visit_type_id": online.pk,
            "location_id": clinic.location.pk,
            "start": at(MONDAY, 7, 30).isoformat(),
        },
    )
    assert too_soon.status_code == 400
    assert too_soon.json()["code"] == "booking_rule"

    theirs = book(clinic, at(THURSDAY, 10), online)
    assert patient_api.post_json(f"{API}/appointments/{theirs.pk}/cancel", {}).status_code == 404
    mine = book(clinic, at(MONDAY + dt.timedelta(days=1), 9), online, patient=patient)
    frozen_clock(at(MONDAY, 12))
    refused = patient_api.post_json(f"{API}/appointments/{mine.pk}/cancel", {})
    assert refused.status_code == 409
    assert refused.json()["code"] == "call_to_cancel"
    assert Appointment.objects.get(pk=mine.pk).status == AppointmentStatus.BOOKED
    assert Appointment.objects.get(pk=theirs.pk).status == AppointmentStatus.BOOKED


def test_staff_tokens_cannot_use_the_portal_api(clinic, online, make_user, org):
    desk = TokenClient(token_for(make_user(Role.FRONT_DESK, org)))
    assert desk.get(f"{API}/visit-types").status_code == 403
    start = at(THURSDAY, 9).isoformat()
    response = desk.post_json(
        f"{API}/appointments", {"visit_type_id": online.pk, "location_id": clinic.location.pk, "start": start}
    )
    assert response.status_code == 403
    assert not Appointment.objects.exists()


# --- changing the time --------------------------------------------------------------------------------------


def test_a_patient_moves_their_own_visit_over_the_api(clinic, online, patient, patient_api):
    mine = book(
        clinic, at(THURSDAY, 8), online, patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    found = patient_api.get(
        f"{API}/appointments/{mine.pk}/slots",
        {"weekdays": [3], "practitioner_id": clinic.heart.pk, "limit": 3},
    )
    assert found.status_code == 200
    starts = [s["start"] for s in found.json()["results"]]
    assert starts[0] == "2027-03-04T08:00:00-05:00"  # its own time counts as free
    friday = patient_api.get(f"{API}/appointments/{mine.pk}/slots", {"weekdays": [4], "limit": 1})
    slot = friday.json()["results"][0]

    moved = patient_api.post_json(
        f"{API}/appointments/{mine.pk}/reschedule",
        {"start": slot["start"], "location_id": slot["location_id"],
         "resource_ids": [r["id"] for r in slot["resources"]]},
    )  # fmt: skip

    assert moved.status_code == 200
    body = moved.json()
    assert (body["id"], body["start"], body["status"]) == (mine.pk, slot["start"], AppointmentStatus.BOOKED)
    assert Appointment.objects.filter(patient=patient).count() == 1

    someone = book(clinic, at(FRIDAY, 9), online, resource_ids=[clinic.dr_family.pk, clinic.exam2.pk])
    taken = patient_api.post_json(
        f"{API}/appointments/{mine.pk}/reschedule",
        {"start": at(FRIDAY, 9).isoformat(), "location_id": clinic.location.pk,
         "resource_ids": [clinic.dr_family.pk, clinic.exam2.pk]},
    )  # fmt: skip
    assert taken.status_code == 409
    assert taken.json()["code"] == "slot_conflict"
    assert taken.json()["message"] == "That time was just taken; pick another."
    assert str(someone.pk) not in taken.content.decode()
    assert Appointment.objects.get(pk=mine.pk).local_start.isoformat() == slot["start"]


def test_the_api_refuses_moves_the_portal_refuses(clinic, online, patient, patient_api, frozen_clock):
    theirs = book(clinic, at(THURSDAY, 10), online)
    friday = {"start": at(FRIDAY, 9).isoformat(), "location_id": clinic.location.pk}
    assert patient_api.get(f"{API}/appointments/{theirs.pk}/slots").status_code == 404
    assert patient_api.post_json(f"{API}/appointments/{theirs.pk}/reschedule", friday).status_code == 404

    mine = book(clinic, at(MONDAY + dt.timedelta(days=1), 9), online, patient=patient)
    frozen_clock(at(MONDAY, 12))
    refused = patient_api.post_json(f"{API}/appointments/{mine.pk}/reschedule", friday)
    assert refused.status_code == 409
    assert refused.json()["code"] == "call_to_cancel"
    assert "please call the clinic" in refused.json()["message"]
    assert patient_api.get(f"{API}/appointments/{mine.pk}/slots").json()["code"] == "call_to_cancel"
    assert Appointment.objects.get(pk=mine.pk).starts_at == at(MONDAY + dt.timedelta(days=1), 9)
    assert Appointment.objects.get(pk=theirs.pk).starts_at == at(THURSDAY, 10)


def test_staff_tokens_cannot_move_visits_through_the_portal_api(clinic, online, patient, make_user, org):
    mine = book(clinic, at(THURSDAY, 9), online, patient=patient)
    desk = TokenClient(token_for(make_user(Role.FRONT_DESK, org)))
    assert desk.get(f"{API}/appointments/{mine.pk}/slots").status_code == 403
    moved = desk.post_json(
        f"{API}/appointments/{mine.pk}/reschedule",
        {"start": at(FRIDAY, 9).isoformat(), "location_id": clinic.location.pk},
    )
    assert moved.status_code == 403
    assert Appointment.objects.get(pk=mine.pk).starts_at == at(THURSDAY, 9)

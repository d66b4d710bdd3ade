"""Scheduling in the JSON API (interop/scheduling_api.py): slots, booking, conflicts, series, changes."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.accounts.permissions import Role
from caredesk.scheduling.models import Appointment
from tests.interop.conftest import TokenClient, token_for
from tests.patients.factories import portal_user_for

from .conftest import MONDAY, at, book

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def desk_api(make_user, org) -> TokenClient:
    return TokenClient(token_for(make_user(Role.FRONT_DESK, org)))


def booking(clinic, patient, start: dt.datetime, **extra) -> dict:
    return {
        "patient_id": patient.pk,
        "visit_type_id": clinic.follow_up.pk,
        "location_id": clinic.location.pk,
        "start": start.isoformat(),
        **extra,
    }


def test_find_slots_then_book_one(clinic, desk_api):
    response = desk_api.get(f"{API}/visit-types/{clinic.follow_up.pk}/slots", {"limit": 2, "weekdays": [1]})
    assert response.status_code == 200
    slots = response.json()["results"]
    assert [s["start"] for s in slots] == ["2027-03-02T08:00:00-05:00", "2027-03-02T08:15:00-05:00"]
    first = slots[0]
    patient = clinic.patient()
    created = desk_api.post_json(
        f"{API}/appointments",
        booking(
            clinic,
            patient,
            dt.datetime.fromisoformat(first["start"]),
            resource_ids=[r["id"] for r in first["resources"]],
        ),
    )
    assert created.status_code == 201
    body = created.json()
    assert body["start"] == "2027-03-02T08:00:00-05:00"
    assert body["status"] == "booked"
    assert body["source"] == "api"
    assert [r["name"] for r in body["resources"]] == ["Cora Heart, MD", "Exam 1"]
    assert created["Location"].endswith(f"/api/v1/appointments/{body['id']}")
    assert desk_api.get(f"{API}/appointments/{body['id']}").json()["id"] == body["id"]
    listed = desk_api.get(f"{API}/patients/{patient.pk}/appointments").json()["results"]
    assert [a["id"] for a in listed] == [body["id"]]


def test_a_conflict_answers_409_with_the_appointments_in_the_way(clinic, desk_api):
    blocker = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    response = desk_api.post_json(
        f"{API}/appointments",
        booking(
            clinic, clinic.patient(), at(MONDAY, 9, 10), resource_ids=[clinic.dr_heart.pk, clinic.exam2.pk]
        ),
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "slot_conflict"
    assert body["detected_by"] == "check"
    assert body["conflicts"][0]["appointment_id"] == blocker.pk
    assert Appointment.objects.count() == 1


def test_bad_times_are_400_with_a_code(clinic, desk_api):
    naive = booking(clinic, clinic.patient(), at(MONDAY, 9))
    naive["start"] = "2027-03-01T09:00:00"
    response = desk_api.post_json(f"{API}/appointments", naive)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_timezone")
    past = desk_api.post_json(f"{API}/appointments", booking(clinic, clinic.patient(), at(MONDAY, 6)))
    assert (past.status_code, past.json()["code"]) == (400, "invalid_time")
    unknown = desk_api.post_json(
        f"{API}/appointments", {**booking(clinic, clinic.patient(), at(MONDAY, 9)), "visit_type_id": 999999}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "visit_type_not_found")


def test_a_series_is_all_or_nothing(clinic, desk_api):
    book(clinic, at(MONDAY + dt.timedelta(weeks=2), 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    payload = {
        **booking(
            clinic, clinic.patient(), at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
        ),
        "every_weeks": 1,
        "occurrences": 4,
    }
    refused = desk_api.post_json(f"{API}/appointment-series", payload)
    assert refused.status_code == 409
    assert [o["index"] for o in refused.json()["occurrences"]] == [3]
    payload["resource_ids"] = None
    created = desk_api.post_json(f"{API}/appointment-series", payload)
    assert created.status_code == 201
    assert len(created.json()["appointments"]) == 4


def test_cancel_and_reschedule(clinic, desk_api):
    appointment = book(clinic, at(MONDAY, 9))
    moved = desk_api.post_json(
        f"{API}/appointments/{appointment.pk}/reschedule", {"start": at(MONDAY, 10).isoformat(), "version": 1}
    )
    assert moved.status_code == 200
    assert moved.json()["start"] == "2027-03-01T10:00:00-05:00"
    stale = desk_api.post_json(
        f"{API}/appointments/{appointment.pk}/cancel", {"reason": "weather", "version": 1}
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "stale_appointment")
    cancelled = desk_api.post_json(f"{API}/appointments/{appointment.pk}/cancel", {"reason": "weather"})
    assert cancelled.json()["status"] == "cancelled"


def test_third_next_available_and_visit_types(clinic, desk_api):
    third = desk_api.get(
        f"{API}/visit-types/{clinic.follow_up.pk}/third-next-available", {"practitioner_id": clinic.family.pk}
    ).json()
    assert third == {"start": "2027-03-01T08:30:00-05:00", "days_out": 0}
    codes = [v["code"] for v in desk_api.get(f"{API}/visit-types").json()["results"]]
    assert codes == ["echo", "video-follow-up", "follow-up", "new-patient"]  # by name


def test_portal_users_read_their_own_appointments_only(clinic):
    patient = clinic.patient()
    mine = book(clinic, at(MONDAY, 9), patient=patient)
    theirs = book(clinic, at(MONDAY, 10))
    portal = TokenClient(token_for(portal_user_for(patient)))
    assert portal.get(f"{API}/appointments/{mine.pk}").status_code == 200
    assert portal.get(f"{API}/appointments/{theirs.pk}").status_code == 404
    assert portal.get(f"{API}/patients/{theirs.patient_id}/appointments").status_code == 404
    assert portal.post_json(f"{API}/appointments/{mine.pk}/cancel", {"reason": "weather"}).status_code == 403

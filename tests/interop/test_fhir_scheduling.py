"""FHIR Schedule, Slot and Appointment over HTTP with bearer tokens: what a client of the scheduling facade
sees, what it may book and change, and what it is refused (with nothing changed).

The clinic is tests/scheduling/conftest.py's (Riverside Main Clinic, New York; the scheduling clock stands
at Monday 1 March 2027, 07:00 local)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.interop.fhir.scheduling import parse_slot_id
from caredesk.scheduling.models import Appointment
from tests.interop.conftest import FHIR_JSON, TokenClient, token_for
from tests.patients.factories import portal_user_for
from tests.scheduling.conftest import MONDAY, Clinic, at, book, build_clinic
from tests.scheduling.conftest import frozen_clock as frozen_clock

pytestmark = pytest.mark.django_db
TUESDAY = MONDAY + dt.timedelta(days=1)
VISIT_TYPES = "urn:caredesk:visit-type"


@pytest.fixture
def clinic(org, frozen_clock) -> Clinic:
    return build_clinic(org)


@pytest.fixture
def desk(clinic, make_user, org) -> TokenClient:
    return TokenClient(token_for(make_user(Role.FRONT_DESK, org)))


def new_appointment(clinic: Clinic, start: str, **extra: Any) -> dict[str, Any]:
    patient = extra.pop("patient", None) or clinic.patient()
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "booked",
        "start": start,
        "serviceType": [{"coding": [{"system": VISIT_TYPES, "code": "follow-up"}]}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{clinic.heart.pk}"}, "status": "accepted"},
        ],
    }
    body.update(extra)
    return body


def post(client: TokenClient, body: dict[str, Any], **headers: str) -> Any:
    return client.post_json("/fhir/Appointment", body, content_type=FHIR_JSON, headers=headers)


def put(client: TokenClient, appointment_id: int, body: dict[str, Any], **headers: str) -> Any:
    return client.put(
        f"/fhir/Appointment/{appointment_id}", data=body, content_type=FHIR_JSON, headers=headers
    )


def issues(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"]


def entries(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resourceType"] == "Bundle"
    return [e["resource"] for e in body.get("entry", [])]


# --- CapabilityStatement, Schedule ---------------------------------------------------------------------


def test_the_capability_statement_lists_scheduling(desk):
    statement = desk.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert [i["code"] for i in resources["Appointment"]["interaction"]] == [
        "read",
        "search-type",
        "create",
        "update",
    ]
    assert {p["name"] for p in resources["Slot"]["searchParam"]} == {
        "schedule",
        "service-type",
        "start",
        "status",
    }
    assert "Schedule" in resources


def test_schedules_are_the_resources_with_the_visit_types_they_serve(clinic, desk):
    found = entries(desk.get("/fhir/Schedule"))
    assert len(found) == 6  # two practitioners, three rooms, one machine
    [heart] = entries(desk.get(f"/fhir/Schedule?actor=Practitioner/{clinic.heart.pk}"))
    assert heart["id"] == str(clinic.dr_heart.pk)
    assert heart["actor"][0]["reference"] == f"Practitioner/{clinic.heart.pk}"
    assert heart["actor"][1]["display"] == "Riverside Main Clinic"
    codes = {c["coding"][0]["code"] for c in heart["serviceType"]}
    assert codes == {"follow-up", "new-patient", "echo", "video-follow-up"}
    echo = entries(desk.get(f"/fhir/Schedule?service-type={VISIT_TYPES}|echo"))
    assert {s["id"] for s in echo} == {
        str(r.pk) for r in (clinic.dr_heart, clinic.procedure, clinic.echo_machine)
    }
    room = desk.get(f"/fhir/Schedule/{clinic.exam1.pk}").json()
    assert room["actor"][0]["type"] == "Location"
    assert room["actor"][0]["display"] == "Exam 1"
    machine = desk.get(f"/fhir/Schedule/{clinic.echo_machine.pk}").json()
    assert machine["actor"][0]["type"] == "Device"


def test_another_organization_sees_no_schedule(clinic, make_user, other_org):
    outsider = TokenClient(token_for(make_user(Role.FRONT_DESK, other_org)))
    assert outsider.get(f"/fhir/Schedule/{clinic.dr_heart.pk}").status_code == 404
    assert entries(outsider.get("/fhir/Schedule")) == []
    assert entries(outsider.get(f"/fhir/Slot?schedule=Schedule/{clinic.dr_heart.pk}")) == []


# --- Slot ----------------------------------------------------------------------------------------------


def test_free_slots_of_a_visit_type_in_a_time_range(clinic, desk):
    found = entries(
        desk.get(
            "/fhir/Slot",
            {
                "service-type": "follow-up",
                "start": ["ge2027-03-01T09:00:00-05:00", "lt2027-03-01T10:00:00-05:00"],
            },
        )
    )
    starts = sorted({s["start"] for s in found})
    assert starts == [f"2027-03-01T09:{m:02d}:00-05:00" for m in (0, 15, 30, 45)]
    assert {s["status"] for s in found} == {"free"}
    assert {s["serviceType"][0]["coding"][0]["code"] for s in found} == {"follow-up"}
    slot = parse_slot_id(found[0]["id"])
    assert slot is not None
    assert slot.location_id == clinic.location.pk


def test_a_schedule_loses_the_slots_its_bookings_take(clinic, desk):
    url = f"/fhir/Slot?schedule=Schedule/{clinic.dr_heart.pk}&service-type=follow-up&start=2027-03-01"
    before = [s["start"] for s in entries(desk.get(url))]
    assert before[:2] == ["2027-03-01T08:00:00-05:00", "2027-03-01T08:15:00-05:00"]
    book(clinic, at(MONDAY, 8), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    after = entries(desk.get(url))
    assert after[0]["start"] == "2027-03-01T08:30:00-05:00"  # 08:00-08:20 is taken: 08:15 overlaps it
    assert all(s["schedule"]["reference"] == f"Schedule/{clinic.dr_heart.pk}" for s in after)
    assert all(s["start"].startswith("2027-03-01") for s in after)  # the eq date is a local day


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("service-type=follow-up&status=busy", "Only free slots"),
        ("start=ge2027-03-01", "service-type"),
        ("service-type=follow-up&start=ge2027-03-01T09:00:00", "no time zone"),
        ("service-type=follow-up&start=sa2027-03-01", "prefix 'sa'"),
        ("service-type=follow-up&_page=2", "search again with start=gt"),
    ],
)
def test_slot_searches_it_cannot_answer_are_refused_with_the_reason(clinic, desk, query, fragment):
    response = desk.get(f"/fhir/Slot?{query}")
    assert response.status_code == 400
    assert fragment in issues(response)[0]["diagnostics"]


# --- Appointment: booking -------------------------------------------------------------------------------


def test_booking_answers_201_with_the_appointment_and_its_address(clinic, desk):
    patient = clinic.patient()
    response = post(
        desk, new_appointment(clinic, "2027-03-01T14:00:00+00:00", patient=patient, comment="Bring list")
    )
    assert response.status_code == 201, response.content
    body = response.json()
    appointment = Appointment.objects.get(patient=patient)
    assert response["Location"] == f"http://testserver/fhir/Appointment/{appointment.pk}"
    assert response["ETag"] == 'W/"1"'
    assert body["status"] == "booked"
    assert body["start"] == "2027-03-01T09:00:00-05:00"  # given in UTC, answered in the clinic's zone
    assert body["end"] == "2027-03-01T09:20:00-05:00"
    actors = [p["actor"].get("reference") or p["actor"]["display"] for p in body["participant"]]
    assert actors[0] == f"Patient/{patient.pk}"
    assert f"Practitioner/{clinic.heart.pk}" in actors
    assert "Riverside Main Clinic" in actors
    assert (appointment.source, appointment.notes) == ("api", "Bring list")
    assert AuditEvent.objects.filter(action=AuditAction.APPOINTMENT_CREATE, patient_id=patient.pk).exists()


def test_booking_a_slot_from_the_search(clinic, desk):
    [slot] = entries(
        desk.get(f"/fhir/Slot?schedule=Schedule/{clinic.dr_family.pk}&service-type=follow-up&_count=1")
    )
    patient = clinic.patient()
    body = {
        "resourceType": "Appointment",
        "status": "proposed",
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"}],
    }
    response = post(desk, body)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "proposed"
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.starts_at == dt.datetime.fromisoformat(slot["start"])
    assert {b.resource_id for b in appointment.bookings.all()} >= {clinic.dr_family.pk}


def test_a_taken_time_answers_409_and_books_nothing(clinic, desk):
    book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    count = Appointment.objects.count()
    response = post(desk, new_appointment(clinic, "2027-03-01T09:00:00-05:00"))
    assert response.status_code == 409
    found = issues(response)
    assert found[0]["code"] == "conflict"
    assert "already booked" in found[0]["diagnostics"]
    assert any("In the way" in i["diagnostics"] for i in found[1:])
    assert Appointment.objects.count() == count


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        ({"serviceType": [{"coding": [{"system": VISIT_TYPES, "code": "tap-dance"}]}]}, 422, "no visit type"),
        ({"start": "2027-03-01T06:00:00-05:00"}, 422, "in the past"),
        ({"end": "2027-03-01T08:00:00-05:00"}, 422, "not after the start"),
        ({"end": "2027-03-01T09:45:00-05:00"}, 422, "lasts 20 minutes"),
        ({"start": "2027-03-01T09:00:00"}, 400, "no time zone"),
        ({"status": "fulfilled"}, 422, "booked or proposed"),
        (
            {"participant": [{"actor": {"reference": "Practitioner/1"}, "status": "accepted"}]},
            422,
            "Name the Patient",
        ),
        ({"participant": "nobody"}, 400, "participant"),
    ],
)
def test_bad_bookings_are_refused_with_the_reason_and_change_nothing(clinic, desk, change, status, fragment):
    body = new_appointment(clinic, "2027-03-01T09:00:00-05:00")
    body.update(change)
    before = (
        Appointment.objects.count(),
        AuditEvent.objects.filter(action=AuditAction.APPOINTMENT_CREATE).count(),
    )
    response = post(desk, body)
    assert response.status_code == status, response.content
    assert fragment in " ".join(i["diagnostics"] for i in issues(response))
    after = (
        Appointment.objects.count(),
        AuditEvent.objects.filter(action=AuditAction.APPOINTMENT_CREATE).count(),
    )
    assert after == before


# --- Appointment: read and search ----------------------------------------------------------------------


def test_read_an_appointment_with_its_version_and_an_audit_row(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    response = desk.get(f"/fhir/Appointment/{appointment.pk}")
    assert response.status_code == 200
    assert response["ETag"] == 'W/"1"'
    body = response.json()
    assert body["serviceType"][0]["coding"][0] == {
        "system": VISIT_TYPES,
        "code": "follow-up",
        "display": "Follow-up visit",
    }
    assert body["meta"]["tag"][0]["code"] == "booked"
    assert AuditEvent.objects.filter(
        action=AuditAction.APPOINTMENT_VIEW, patient_id=appointment.patient_id, object_id=str(appointment.pk)
    ).exists()
    assert desk.get("/fhir/Appointment/999999").status_code == 404
    assert desk.get("/fhir/Appointment/abc").status_code == 404


def test_search_by_patient_practitioner_date_and_status(clinic, desk):
    patient = clinic.patient()
    heart_monday = book(
        clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    family_monday = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_family.pk, clinic.exam2.pk])
    heart_tuesday = book(
        clinic, at(TUESDAY, 10), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    book(
        clinic,
        at(TUESDAY, 11),
        patient=patient,
        resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk],
        proposed=True,
    )

    def ids(query: str) -> list[str]:
        return [a["id"] for a in entries(desk.get(f"/fhir/Appointment?{query}"))]

    assert ids(f"patient=Patient/{patient.pk}&status=booked") == [str(heart_monday.pk), str(heart_tuesday.pk)]
    assert ids(f"practitioner=Practitioner/{clinic.family.pk}") == [str(family_monday.pk)]
    assert ids("date=2027-03-01") == [str(heart_monday.pk), str(family_monday.pk)]
    assert ids("date=ge2027-03-02T10:00:00-05:00&date=lt2027-03-02T11:00:00-05:00") == [str(heart_tuesday.pk)]
    assert len(ids(f"patient={patient.pk}&status=proposed")) == 1
    assert ids("status=noshow") == []
    assert desk.get("/fhir/Appointment?status=maybe").status_code == 400
    event = AuditEvent.objects.filter(action=AuditAction.APPOINTMENT_SEARCH).latest("pk")
    assert event.detail["ids"] == []
    searched = AuditEvent.objects.filter(action=AuditAction.APPOINTMENT_SEARCH, patient_id=patient.pk)
    assert searched.exists()


# --- Appointment: update ------------------------------------------------------------------------------


def cancelled(reason: str = "patient_request") -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "cancelled",
        "cancelationReason": {"coding": [{"system": "urn:caredesk:cancel-reason", "code": reason}]},
        "participant": [{"actor": {"display": "anyone"}, "status": "accepted"}],
    }


def test_cancel_with_a_reason_and_if_match(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    stale = put(desk, appointment.pk, cancelled(), **{"If-Match": 'W/"7"'})
    assert stale.status_code == 412
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"
    no_reason = {k: v for k, v in cancelled().items() if k != "cancelationReason"}
    assert put(desk, appointment.pk, no_reason).status_code == 422
    response = put(desk, appointment.pk, cancelled(), **{"If-Match": 'W/"1"'})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancelationReason"]["coding"][0]["code"] == "patient_request"
    assert response["ETag"] == 'W/"2"'
    refreshed = Appointment.objects.get(pk=appointment.pk)
    assert (refreshed.status, refreshed.cancel_reason) == ("cancelled", "patient_request")
    again = put(desk, appointment.pk, {**cancelled(), "status": "arrived"})
    assert again.status_code == 409  # a cancelled appointment cannot arrive


def test_status_steps_through_put(clinic, desk, frozen_clock):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    body = {**cancelled(), "status": "arrived"}
    body.pop("cancelationReason")
    frozen_clock(at(MONDAY, 8, 55))
    assert put(desk, appointment.pk, body).json()["status"] == "arrived"
    assert put(desk, appointment.pk, {**body, "status": "checked-in"}).json()["status"] == "checked-in"
    assert put(desk, appointment.pk, {**body, "status": "fulfilled"}).json()["status"] == "fulfilled"
    assert Appointment.objects.get(pk=appointment.pk).status == "fulfilled"
    missed = book(clinic, at(MONDAY, 10), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    assert put(desk, missed.pk, {**body, "status": "noshow"}).status_code == 409  # not yet: grace period
    frozen_clock(at(MONDAY, 11))
    assert put(desk, missed.pk, {**body, "status": "noshow"}).json()["status"] == "noshow"


def test_a_new_start_reschedules(clinic, desk):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    body = {**cancelled(), "status": "booked", "start": "2027-03-01T11:00:00-05:00"}
    response = put(desk, appointment.pk, body)
    assert response.status_code == 200, response.content
    assert response.json()["start"] == "2027-03-01T11:00:00-05:00"
    both = {**body, "status": "cancelled", "start": "2027-03-01T12:00:00-05:00"}
    assert put(desk, appointment.pk, both).status_code == 422
    assert Appointment.objects.get(pk=appointment.pk).starts_at == at(MONDAY, 11)


# --- who may see and do what ---------------------------------------------------------------------------


def test_a_portal_patient_sees_only_their_own_appointments(clinic):
    mine_patient, other_patient = clinic.patient(), clinic.patient()
    mine = book(
        clinic, at(MONDAY, 9), patient=mine_patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    theirs = book(
        clinic, at(MONDAY, 9), patient=other_patient, resource_ids=[clinic.dr_family.pk, clinic.exam2.pk]
    )
    portal = TokenClient(token_for(portal_user_for(mine_patient)))
    assert [a["id"] for a in entries(portal.get("/fhir/Appointment"))] == [str(mine.pk)]
    assert entries(portal.get(f"/fhir/Appointment?patient=Patient/{other_patient.pk}")) == []
    assert portal.get(f"/fhir/Appointment/{mine.pk}").status_code == 200
    assert portal.get(f"/fhir/Appointment/{theirs.pk}").status_code == 404
    assert (
        post(portal, new_appointment(clinic, "2027-03-01T11:00:00-05:00", patient=mine_patient)).status_code
        == 403
    )
    assert put(portal, mine.pk, cancelled()).status_code == 403
    assert portal.get("/fhir/Schedule").status_code == 403
    assert Appointment.objects.get(pk=mine.pk).status == "booked"


def test_roles_without_booking_read_but_do_not_book(clinic, make_user, org, other_org):
    appointment = book(clinic, at(MONDAY, 9), resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])
    nurse = TokenClient(token_for(make_user(Role.NURSE, org)))
    assert nurse.get(f"/fhir/Appointment/{appointment.pk}").status_code == 200
    assert post(nurse, new_appointment(clinic, "2027-03-01T11:00:00-05:00")).status_code == 403
    outsider = TokenClient(token_for(make_user(Role.FRONT_DESK, other_org)))
    assert outsider.get(f"/fhir/Appointment/{appointment.pk}").status_code == 404
    assert put(outsider, appointment.pk, cancelled()).status_code == 404
    assert entries(outsider.get("/fhir/Appointment")) == []
    assert TokenClient("nonsense").get("/fhir/Appointment").status_code == 401

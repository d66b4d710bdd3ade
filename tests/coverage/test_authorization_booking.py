"""Booking a visit whose payer requires prior authorization: it is booked anyway, the desk sees why the
authorization is missing, and the front desk gets one worklist task per appointment, done once the
authorization is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.operationoutcome import OperationOutcome

from caredesk.accounts.permissions import Role
from caredesk.coverage import services as coverage
from caredesk.coverage.schemas import CoverageInput
from caredesk.scheduling import services as scheduling
from caredesk.scheduling.models import Appointment
from caredesk.worklist.models import Task
from tests.conftest import sign_in
from tests.interop.conftest import TokenClient, token_for
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import MONDAY, at, build_clinic, frozen_clock  # noqa: F401 (fixture)


@pytest.fixture
def booking(org, frozen_clock, make_user, client):  # noqa: F811
    sched = build_clinic(org)
    billing = staff_actor(org, Role.BILLING)
    payer = coverage.create_payer(actor=billing, name="Acme Health", payer_id="60054", route="test_payer")
    plan = coverage.create_plan(actor=billing, payer_id=payer.pk, name="Acme Gold PPO")
    coverage.add_authorization_rule(
        actor=billing, payer_id=payer.pk, service_code="echo", description="Echocardiogram"
    )
    patient = sched.patient(family_name="Authless")
    insured = coverage.add_coverage(
        actor=billing,
        patient_id=patient.pk,
        data=CoverageInput(plan_id=plan.pk, member_id="W1", effective_from=dt.date(2024, 1, 1)),
    )
    desk = sign_in(client, make_user(Role.FRONT_DESK, org))
    return sched, patient, insured, billing, desk


def _book(sched, desk, patient, day: dt.date):
    resources = f"{sched.dr_heart.pk},{sched.procedure.pk},{sched.echo_machine.pk}"
    token = f"{at(day, 9).isoformat()}|{sched.location.pk}|{resources}"
    return desk.post(
        reverse("scheduling:book"),
        {"patient": patient.pk, "visit_type": sched.echo.pk, "slot": token, "source": "phone"},
        follow=True,
    )


def test_booking_without_authorization_warns_and_queues_a_task(booking):
    sched, patient, insured, billing, desk = booking
    day = MONDAY + dt.timedelta(days=7)
    response = _book(sched, desk, patient, day)
    assert response.status_code == 200
    appointment = Appointment.objects.get(patient=patient)  # booked anyway
    body = response.content.decode()
    assert "Appointment booked." in body
    assert "Acme Health requires prior authorization for echo (Echocardiogram); none is on file." in body
    task = Task.objects.get(task_type="prior_authorization")
    assert (task.queue, task.patient_id, task.status) == ("front_desk", patient.pk, "open")
    assert task.dedupe_key == f"scheduling:prior-auth:{appointment.pk}"

    auth = coverage.request_authorization(actor=billing, coverage_id=insured.pk, service_code="echo")
    coverage.record_authorization_approval(
        actor=billing,
        authorization_id=auth.pk,
        auth_number="E55",
        units_authorized=1,
        valid_from=day,
        valid_to=day + dt.timedelta(days=30),
    )
    task.refresh_from_db()
    assert task.status == "done"

    second = _book(sched, desk, patient, day + dt.timedelta(days=1))
    assert "requires prior authorization" not in second.content.decode()
    assert Task.objects.filter(task_type="prior_authorization").count() == 1


def test_visit_types_without_a_rule_book_quietly(booking):
    sched, patient, _insured, _billing, desk = booking
    start = at(MONDAY + dt.timedelta(days=7), 9).isoformat()
    token = f"{start}|{sched.location.pk}|{sched.dr_heart.pk},{sched.exam1.pk}"
    response = desk.post(
        reverse("scheduling:book"),
        {"patient": patient.pk, "visit_type": sched.follow_up.pk, "slot": token, "source": "phone"},
        follow=True,
    )
    assert "Appointment booked." in response.content.decode()
    assert "prior authorization" not in response.content.decode()
    assert not Task.objects.filter(task_type="prior_authorization").exists()


def test_completed_visit_uses_a_unit_and_never_more(booking, frozen_clock):  # noqa: F811
    sched, patient, insured, billing, desk = booking
    day = MONDAY + dt.timedelta(days=7)
    auth = coverage.request_authorization(actor=billing, coverage_id=insured.pk, service_code="echo")
    coverage.record_authorization_approval(
        actor=billing,
        authorization_id=auth.pk,
        auth_number="E56",
        units_authorized=1,
        valid_from=day,
        valid_to=day + dt.timedelta(days=30),
    )
    _book(sched, desk, patient, day)
    _book(sched, desk, patient, day + dt.timedelta(days=1))  # the one unit is promised twice
    first, second = Appointment.objects.filter(patient=patient).order_by("starts_at")
    for appointment, hour in ((first, day), (second, day + dt.timedelta(days=1))):
        frozen_clock(at(hour, 9))
        scheduling.check_in(actor=sched.desk, appointment_id=appointment.pk)
        scheduling.change_status(actor=sched.desk, appointment_id=appointment.pk, status="fulfilled")
    auth.refresh_from_db()
    assert auth.units_used == 1  # the second visit took place all the same, and used nothing
    assert list(auth.uses.values_list("reference", flat=True)) == [f"appointment {first.pk}"]
    assert Appointment.objects.filter(patient=patient, status="fulfilled").count() == 2


def test_booking_through_the_api_is_warned_too(booking, make_user, org):
    sched, patient, _insured, _billing, _desk = booking
    api = TokenClient(token_for(make_user(Role.FRONT_DESK, org)))
    payload = {
        "patient_id": patient.pk,
        "visit_type_id": sched.echo.pk,
        "location_id": sched.location.pk,
        "start": at(MONDAY + dt.timedelta(days=7), 9).isoformat(),
        "resource_ids": [sched.dr_heart.pk, sched.procedure.pk, sched.echo_machine.pk],
    }
    created = api.post_json("/api/v1/appointments", payload)
    assert created.status_code == 201, created.content
    assert created.json()["warnings"] == [
        "Acme Health requires prior authorization for echo (Echocardiogram); none is on file."
    ]
    task = Task.objects.get(task_type="prior_authorization")
    assert task.dedupe_key == f"scheduling:prior-auth:{created.json()['id']}"

    quiet = api.post_json(
        "/api/v1/appointments",
        {
            **payload,
            "visit_type_id": sched.follow_up.pk,
            "start": at(MONDAY + dt.timedelta(days=8), 9).isoformat(),
            "resource_ids": [sched.dr_heart.pk, sched.exam1.pk],
        },
    )
    assert quiet.status_code == 201, quiet.content
    assert quiet.json()["warnings"] == []


def _fhir_booking(sched, patient, day: dt.date, code: str = "echo") -> dict[str, object]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": at(day, 9).isoformat(),
        "serviceType": [{"coding": [{"system": "urn:caredesk:visit-type", "code": code}]}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{sched.heart.pk}"}, "status": "accepted"},
        ],
    }


WARNING = "Acme Health requires prior authorization for echo (Echocardiogram); none is on file."
BOOKING_WARNING = "urn:caredesk:fhir:StructureDefinition/booking-warning"


def test_booking_through_fhir_answers_the_appointment_with_the_warnings(booking, make_user, org):
    sched, patient, _insured, _billing, _desk = booking
    fhir = TokenClient(token_for(make_user(Role.FRONT_DESK, org)))
    day = MONDAY + dt.timedelta(days=7)
    created = fhir.post_json(
        "/fhir/Appointment", _fhir_booking(sched, patient, day), content_type="application/fhir+json"
    )
    assert created.status_code == 201, created.content
    body = FhirAppointment.model_validate(created.json())
    assert body.extension is not None
    assert [(e.url, e.valueString) for e in body.extension] == [(BOOKING_WARNING, WARNING)]
    task = Task.objects.get(task_type="prior_authorization")
    assert (task.queue, task.dedupe_key) == ("front_desk", f"scheduling:prior-auth:{body.id}")
    assert "extension" not in fhir.get(f"/fhir/Appointment/{body.id}").json()  # the answer's only

    quiet = fhir.post_json(
        "/fhir/Appointment",
        _fhir_booking(sched, patient, day + dt.timedelta(days=1), code="follow-up"),
        content_type="application/fhir+json",
    )
    assert quiet.status_code == 201, quiet.content
    assert "extension" not in quiet.json()
    assert Task.objects.filter(task_type="prior_authorization").count() == 1


def test_booking_through_fhir_prefers_an_operation_outcome(booking, make_user, org):
    sched, patient, _insured, _billing, _desk = booking
    fhir = TokenClient(token_for(make_user(Role.FRONT_DESK, org)))
    day = MONDAY + dt.timedelta(days=7)
    created = fhir.post_json(
        "/fhir/Appointment",
        _fhir_booking(sched, patient, day),
        content_type="application/fhir+json",
        headers={"Prefer": "return=OperationOutcome"},
    )
    assert created.status_code == 201, created.content
    body = OperationOutcome.model_validate(created.json())
    assert [(i.severity, i.code, i.diagnostics) for i in body.issue] == [
        ("warning", "business-rule", WARNING)
    ]
    appointment = Appointment.objects.get(patient=patient)  # booked anyway
    assert created["Location"].endswith(f"/fhir/Appointment/{appointment.pk}")
    assert Task.objects.get(task_type="prior_authorization").dedupe_key == (
        f"scheduling:prior-auth:{appointment.pk}"
    )

    quiet = fhir.post_json(
        "/fhir/Appointment",
        _fhir_booking(sched, patient, day + dt.timedelta(days=1), code="follow-up"),
        content_type="application/fhir+json",
        headers={"Prefer": "return=OperationOutcome"},
    )
    assert quiet.status_code == 201, quiet.content
    assert [i["severity"] for i in quiet.json()["issue"]] == ["information"]

"""Chart lists and adding a problem through the JSON API."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.patients import services
from caredesk.patients.models import Problem
from tests.patients.factories import make_patient, portal_user_for

from .conftest import audit_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def chart(coordinator_actor, patient):
    services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="e119")
    old = services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="I10")
    services.correct_entry(
        actor=coordinator_actor,
        entry_type="problem",
        entry_id=old.pk,
        changes={"icd10_code": "I11.9"},
        reason="typo",
    )
    services.add_allergy(
        actor=coordinator_actor, patient_id=patient.pk, substance="Penicillin", reaction="Hives"
    )
    services.add_medication(actor=coordinator_actor, patient_id=patient.pk, name="Metformin", dose="500 mg")
    moment = dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    services.add_observation(
        actor=coordinator_actor,
        patient_id=patient.pk,
        kind="blood_pressure",
        value=128,
        value2=82,
        effective_at=moment,
    )
    services.add_observation(
        actor=coordinator_actor,
        patient_id=patient.pk,
        kind="weight",
        value="81.5",
        effective_at=moment + dt.timedelta(days=1),
    )
    return patient


def test_problem_list_shows_current_entries_and_is_audited(api, chart):
    response = api.get(f"/api/v1/patients/{chart.pk}/problems")
    assert response.status_code == 200
    body = response.json()
    assert [p["icd10_code"] for p in body["results"]] == ["I11.9", "E11.9"]
    assert body["results"][0]["change_reason"] == "typo"
    row = audit_rows(AuditAction.CLINICAL_VIEW, patient_id=chart.pk)[-1]
    assert row.channel == "api"
    assert row.detail["entry_type"] == "problem"
    assert row.detail["entry_ids"] == [p["id"] for p in body["results"]]


def test_other_chart_lists(api, chart):
    allergies = api.get(f"/api/v1/patients/{chart.pk}/allergies").json()["results"]
    assert [(a["substance"], a["reaction"]) for a in allergies] == [("Penicillin", "Hives")]
    medications = api.get(f"/api/v1/patients/{chart.pk}/medications").json()["results"]
    assert [m["name"] for m in medications] == ["Metformin"]
    observations = api.get(f"/api/v1/patients/{chart.pk}/observations", {"page_size": 1}).json()
    assert [o["kind"] for o in observations["results"]] == ["weight"]
    assert observations["has_next"] is True
    second = api.get(f"/api/v1/patients/{chart.pk}/observations", {"page_size": 1, "page": 2}).json()
    assert second["results"][0]["kind"] == "blood_pressure"
    assert (float(second["results"][0]["value"]), float(second["results"][0]["value2"])) == (128, 82)


def test_chart_lists_need_clinical_view(client_for, staff, chart):
    front_desk = client_for(staff(Role.FRONT_DESK))
    response = front_desk.get(f"/api/v1/patients/{chart.pk}/problems")
    assert response.status_code == 403
    assert client_for(staff(Role.NURSE)).get(f"/api/v1/patients/{chart.pk}/problems").status_code == 200


def test_chart_of_another_organization_is_404(other_api, chart):
    assert other_api.get(f"/api/v1/patients/{chart.pk}/problems").status_code == 404


def test_a_portal_user_reads_their_own_chart_only(client_for, chart, coordinator_actor):
    neighbour = make_patient(coordinator_actor, given_name="Ruth", family_name="Neighbour")
    portal = client_for(portal_user_for(chart))
    assert portal.get(f"/api/v1/patients/{chart.pk}/allergies").status_code == 200
    assert portal.get(f"/api/v1/patients/{neighbour.pk}/allergies").status_code == 404
    assert portal.post_json(f"/api/v1/patients/{chart.pk}/problems", {"icd10_code": "I10"}).status_code == 403


def test_add_problem(api, patient):
    response = api.post_json(
        f"/api/v1/patients/{patient.pk}/problems", {"icd10_code": "e119", "onset_date": "2020-05-01"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["icd10_code"] == "E11.9"
    assert "diabetes" in body["description"].lower()
    assert audit_rows(AuditAction.CLINICAL_ADD, patient_id=patient.pk)[0].channel == "api"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"icd10_code": "XYZ.99"}, "invalid_code", "icd10_code"),
        ({"icd10_code": "E11.9", "onset_date": "2999-01-01"}, "validation_error", "onset_date"),
        ({"icd10_code": "E11.9", "clinical_status": "cured"}, "validation_error", "clinical_status"),
        ({}, "validation_error", "icd10_code"),
    ],
)
def test_an_invalid_problem_is_400_and_saves_nothing(api, patient, body, code, field):
    response = api.post_json(f"/api/v1/patients/{patient.pk}/problems", body)
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert Problem.objects.count() == 0

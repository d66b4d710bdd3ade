"""FHIR R4 CarePlan: read and search by patient, goals contained with their LOINC target and achievement."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.careplans import services
from tests.interop.conftest import TokenClient, token_for

from .conftest import observe


@pytest.fixture
def fhir(staff) -> TokenClient:
    return TokenClient(token_for(staff[Role.PHYSICIAN]))


def test_read_and_search(fhir, coord, patient, other_patient, stranger):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    observe(coord, patient, "hba1c", "7.8")
    read = fhir.get(f"/fhir/CarePlan/{plan.pk}")
    assert read.status_code == 200
    body = read.json()
    assert body["resourceType"] == "CarePlan"
    assert body["subject"]["reference"] == f"Patient/{patient.pk}"
    assert (body["status"], body["intent"]) == ("active", "plan")
    hba1c = body["contained"][0]
    assert hba1c["target"][0]["measure"]["coding"][0]["code"] == "4548-4"
    assert hba1c["target"][0]["detailQuantity"]["comparator"] == "<"
    assert hba1c["achievementStatus"]["coding"][0]["code"] == "not-achieving"
    assert "achievementStatus" not in body["contained"][3]  # LDL: no value yet
    assert len(body["activity"]) == 6
    found = fhir.get("/fhir/CarePlan", {"patient": f"Patient/{patient.pk}"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [str(plan.pk)]
    theirs = services.create_plan(actor=stranger, patient_id=other_patient.pk, template_code="copd")
    assert fhir.get(f"/fhir/CarePlan/{theirs.pk}").status_code == 404
    assert (
        fhir.get("/fhir/CarePlan", {"patient": f"Patient/{other_patient.pk}"}).json().get("entry", []) == []
    )
    assert fhir.get("/fhir/CarePlan/abc").status_code == 404
    assert any(r["type"] == "CarePlan" for r in fhir.get("/fhir/metadata").json()["rest"][0]["resource"])


def test_careplan_names_its_care_team_which_reads_back(fhir, coord, patient):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    body = fhir.get(f"/fhir/CarePlan/{plan.pk}").json()
    assert body["careTeam"] == [{"reference": f"CareTeam/{plan.pk}"}]
    team = fhir.get(f"/fhir/{body['careTeam'][0]['reference']}")
    assert team.status_code == 200, team.content
    team_body = team.json()
    assert (team_body["resourceType"], team_body["id"]) == ("CareTeam", str(plan.pk))
    assert team_body["subject"] == body["subject"]
    found = fhir.get("/fhir/CarePlan", {"patient": str(patient.pk)}).json()
    assert found["entry"][0]["resource"]["careTeam"] == [{"reference": f"CareTeam/{plan.pk}"}]

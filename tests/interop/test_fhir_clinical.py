"""FHIR Practitioner, and chart resources searched by patient: emitted resources validate with R4B."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.patients import services
from tests.patients.factories import make_patient, portal_user_for
from tests.practitioners.conftest import valid_npi

from .conftest import FHIR_JSON, audit_rows

pytestmark = pytest.mark.django_db


def bundle_of(response) -> Bundle:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(FHIR_JSON)
    return Bundle.model_validate(json.loads(response.content))


@pytest.fixture
def chart(coordinator_actor, patient):
    services.add_problem(
        actor=coordinator_actor, patient_id=patient.pk, icd10_code="E11.9", onset_date=dt.date(2019, 6, 1)
    )
    hypertension = services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="I10")
    services.correct_entry(
        actor=coordinator_actor,
        entry_type="problem",
        entry_id=hypertension.pk,
        changes={"clinical_status": "resolved"},
        reason="controlled",
    )
    services.add_allergy(
        actor=coordinator_actor,
        patient_id=patient.pk,
        substance="Penicillin",
        reaction="Hives",
        criticality="high",
    )
    services.add_medication(
        actor=coordinator_actor,
        patient_id=patient.pk,
        name="Metformin",
        dose="500 mg",
        route="oral",
        frequency="twice daily",
    )
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
        actor=coordinator_actor, patient_id=patient.pk, kind="hba1c", value="7.1", effective_at=moment
    )
    return patient


def test_condition_search_by_patient(api, chart):
    bundle = bundle_of(api.get("/fhir/Condition", {"patient": f"Patient/{chart.pk}"}))
    conditions = [entry.resource for entry in bundle.entry]
    assert [(c.code.coding[0].code, c.clinicalStatus.coding[0].code) for c in conditions] == [
        ("I10", "resolved"),
        ("E11.9", "active"),
    ]
    assert conditions[0].note[0].text == "Corrected: controlled"
    assert conditions[1].subject.reference == f"Patient/{chart.pk}"
    assert bundle.total == 2
    row = audit_rows(AuditAction.CLINICAL_VIEW, channel="fhir")[-1]
    assert (row.patient_id, row.detail["entry_type"]) == (chart.pk, "problem")


def test_other_chart_resources(api, chart):
    allergy = bundle_of(api.get("/fhir/AllergyIntolerance", {"patient": str(chart.pk)})).entry[0].resource
    assert (allergy.code.text, allergy.criticality, allergy.reaction[0].manifestation[0].text) == (
        "Penicillin",
        "high",
        "Hives",
    )
    statement = (
        bundle_of(api.get("/fhir/MedicationStatement", {"subject": f"Patient/{chart.pk}"})).entry[0].resource
    )
    assert (statement.status, statement.medicationCodeableConcept.text) == ("active", "Metformin")
    assert statement.dosage[0].text == "500 mg oral twice daily"
    observations = [
        e.resource for e in bundle_of(api.get("/fhir/Observation", {"patient": str(chart.pk)})).entry
    ]
    by_code = {o.code.coding[0].code: o for o in observations}
    pressure = by_code["85354-9"]
    assert [(c.code.coding[0].code, float(c.valueQuantity.value)) for c in pressure.component] == [
        ("8480-6", 128),
        ("8462-4", 82),
    ]
    assert pressure.category[0].coding[0].code == "vital-signs"
    assert float(by_code["4548-4"].valueQuantity.value) == 7.1
    assert by_code["4548-4"].category[0].coding[0].code == "laboratory"


def test_every_emitted_resource_validates(api, chart):
    for resource_type in ("Condition", "AllergyIntolerance", "MedicationStatement", "Observation"):
        raw = json.loads(api.get(f"/fhir/{resource_type}", {"patient": chart.pk}).content)
        for entry in raw["entry"]:
            model = get_fhir_model_class(entry["resource"]["resourceType"])
            model.model_validate(entry["resource"])
            read = api.get(f"/fhir/{resource_type}/{entry['resource']['id']}")
            assert read.status_code == 200
            assert json.loads(read.content) == entry["resource"]


def test_chart_searches_need_a_patient(api):
    response = api.get("/fhir/Condition")
    assert response.status_code == 400
    assert api.get("/fhir/Condition", {"patient": "Practitioner/1"}).status_code == 400


def test_another_organizations_chart_is_an_empty_result(api, other_api, chart):
    bundle = bundle_of(other_api.get("/fhir/Condition", {"patient": chart.pk}))
    assert bundle.entry is None
    assert bundle.total == 0
    condition_id = bundle_of(api.get("/fhir/Condition", {"patient": chart.pk})).entry[0].resource.id
    assert other_api.get(f"/fhir/Condition/{condition_id}").status_code == 404


def test_portal_token_searches_its_own_chart_only(client_for, coordinator_actor, chart):
    neighbour = make_patient(coordinator_actor, given_name="Ruth", family_name="Neighbour")
    services.add_allergy(actor=coordinator_actor, patient_id=neighbour.pk, substance="Latex")
    portal = client_for(portal_user_for(chart))
    assert len(bundle_of(portal.get("/fhir/AllergyIntolerance", {"patient": chart.pk})).entry) == 1
    assert bundle_of(portal.get("/fhir/AllergyIntolerance", {"patient": neighbour.pk})).entry is None


def test_practitioner_read_and_search(client_for, staff, add_practitioner, admin_actor, other_admin_actor):
    smith = add_practitioner(
        admin_actor, given="Jane", family="Smith", npi=valid_npi(7), credentials="MD", phone="555-010-4444"
    )
    add_practitioner(admin_actor, given="Omar", family="Jones")
    foreign = add_practitioner(other_admin_actor, given="Jane", family="Smithson")
    api = client_for(staff(Role.BILLING))
    response = api.get(f"/fhir/Practitioner/{smith.pk}")
    resource = FhirPractitioner.model_validate(json.loads(response.content))
    assert (resource.identifier[0].system, resource.identifier[0].value) == (
        "http://hl7.org/fhir/sid/us-npi",
        valid_npi(7),
    )
    assert (resource.name[0].family, resource.name[0].suffix) == ("Smith", ["MD"])
    assert api.get(f"/fhir/Practitioner/{foreign.pk}").status_code == 404

    def found(params):
        return [e.resource.id for e in bundle_of(api.get("/fhir/Practitioner", params)).entry or []]

    assert found({"name": "smi"}) == [str(smith.pk)]
    assert found({"identifier": f"http://hl7.org/fhir/sid/us-npi|{valid_npi(7)}"}) == [str(smith.pk)]
    assert found({"identifier": valid_npi(7)}) == [str(smith.pk)]
    assert found({"identifier": f"urn:other|{valid_npi(7)}"}) == []
    assert found({"family": "jones"}) != []
    assert api.get("/fhir/Practitioner", {"name:contains": "mit"}).status_code == 400


def test_practitioners_are_not_for_portal_tokens(client_for, patient, add_practitioner, admin_actor):
    practitioner = add_practitioner(admin_actor)
    assert (
        client_for(portal_user_for(patient)).get(f"/fhir/Practitioner/{practitioner.pk}").status_code == 403
    )

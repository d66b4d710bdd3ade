"""The records-transfer package: GET /fhir/Encounter/{id}/$document answers a FHIR R4 document Bundle that
validates against R4B, starts with a Composition whose sections name the patient's problems, medications,
allergies, encounters, care plans and follow-up appointments, and is remembered as a transfer package."""

from __future__ import annotations

import datetime as dt

import pytest
from fhir.resources.R4B.bundle import Bundle

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.careplans import services as careplan_services
from caredesk.patients import services as patient_services
from caredesk.transitions import services as transitions
from caredesk.transitions.models import Encounter, TransferPackage
from caredesk.transitions.schemas import AdtEvent, ExternalId, MessageHeader, PersonData, VisitData

from .conftest import FHIR_JSON, audit_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def discharge(org, patient) -> Encounter:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    event = AdtEvent(
        header=MessageHeader(sender="ADT1|GHH", control_id="DOC-1", message_type="ADT", trigger="A03"),
        person=PersonData(
            identifiers=(ExternalId(patient.mrn, org.short_code, "MR"),),
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
        ),
        visit=VisitData(
            visit_number="DOC-V1",
            patient_class="I",
            facility="GHH",
            admit_at=at - dt.timedelta(days=4),
            discharge_at=at,
            disposition_code="01",
        ),
    )
    receipt = transitions.receive_message(
        actor=transitions.feed_actor(organization_id=org.pk),
        header=event.header,
        raw="MSH|^~\\&|ADT1|GHH|CAREDESK|RSH|||ADT^A03|DOC-1|P|2.5.1",
        event=event,
    )
    assert receipt.ack_code == "AA"
    return Encounter.objects.get(visit_number="DOC-V1")


@pytest.fixture
def charted(coordinator_actor, patient):
    problem = patient_services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="E11.9")
    medication = patient_services.add_medication(
        actor=coordinator_actor, patient_id=patient.pk, name="Metformin 500 mg tablet", dose="500 mg"
    )
    allergy = patient_services.add_allergy(
        actor=coordinator_actor, patient_id=patient.pk, substance="Penicillin", reaction="Hives"
    )
    plan = careplan_services.create_plan(
        actor=coordinator_actor, patient_id=patient.pk, template_code="diabetes"
    )
    return problem, medication, allergy, plan


def test_the_document_bundle_validates_and_holds_the_patients_record(api, discharge, charted, patient):
    problem, medication, allergy, plan = charted
    answer = api.get(f"/fhir/Encounter/{discharge.pk}/$document")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith(FHIR_JSON)
    body = answer.json()
    Bundle.model_validate(body)  # R4B: every entry and the Bundle itself
    assert body["type"] == "document"
    assert body["identifier"]["value"].startswith("urn:uuid:")
    composition = body["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0]["code"] == "18761-7"
    assert composition["subject"]["reference"] == f"Patient/{patient.pk}"
    assert composition["encounter"]["reference"] == f"Encounter/{discharge.pk}"
    sections = {s["title"]: s for s in composition["section"]}
    assert list(sections) == [
        "Problems",
        "Medications",
        "Allergies and intolerances",
        "Encounters and discharge",
        "Care plan",
        "Follow-up appointments",
    ]
    assert sections["Problems"]["entry"] == [{"reference": f"Condition/{problem.pk}"}]
    assert sections["Medications"]["entry"] == [{"reference": f"MedicationStatement/{medication.pk}"}]
    assert sections["Allergies and intolerances"]["entry"] == [
        {"reference": f"AllergyIntolerance/{allergy.pk}"}
    ]
    assert sections["Care plan"]["entry"] == [{"reference": f"CarePlan/{plan.pk}"}]
    assert "emptyReason" in sections["Follow-up appointments"]
    assert "Metformin 500 mg tablet" in sections["Medications"]["text"]["div"]

    # Every reference resolves inside the Bundle.
    full_urls = {e["fullUrl"] for e in body["entry"]}
    for section in composition["section"]:
        for entry in section.get("entry", []):
            assert any(url.endswith("/" + entry["reference"]) for url in full_urls), entry
    types = [e["resource"]["resourceType"] for e in body["entry"]]
    assert types[:3] == ["Composition", "Patient", "Encounter"]
    conditions = [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "Condition"]
    assert conditions[0]["code"]["coding"][0]["code"] == "E11.9"


def test_producing_a_document_is_remembered_and_audited(api, discharge, charted, patient):
    body = api.get(f"/fhir/Encounter/{discharge.pk}/$document").json()
    package = TransferPackage.objects.get()
    assert package.identifier == body["identifier"]["value"]
    assert package.encounter == discharge
    assert package.sections["Problems"] == 1
    assert len(package.sha256) == 64
    assert audit_rows(AuditAction.TRANSFER_PACKAGE_CREATE, patient_id=patient.pk)
    assert audit_rows(AuditAction.TRANSFER_SUMMARY_VIEW, patient_id=patient.pk)


def test_refusals(api, other_api, client_for, staff, discharge):
    assert other_api.get(f"/fhir/Encounter/{discharge.pk}/$document").status_code == 404
    assert api.get("/fhir/Encounter/999999/$document").status_code == 404
    assert api.get("/fhir/Encounter/abc/$document").status_code == 404
    desk = client_for(staff(Role.FRONT_DESK))
    refused = desk.get(f"/fhir/Encounter/{discharge.pk}/$document")
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert not TransferPackage.objects.exists()

"""FHIR Encounter (stays reported by the ADT feed) and DocumentReference (chart documents, with the
referrals they were sent with) over HTTP with bearer tokens: valid R4B, the search filters, 404 for
unknown and other organizations' ids, 400 for bad parameters, the authorized download of the content
(Binary), portal isolation, the audit rows, and the CapabilityStatement (with Encounter's $document).
Letters sent to patients are DocumentReferences too (letter-[id], their PDF at Binary/letter-[id]), searched
together with the chart's documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from fhir.resources.R4B.documentreference import DocumentReference as FhirDocumentReference
from fhir.resources.R4B.encounter import Encounter as FhirEncounter

from caredesk.audit.codes import AuditAction
from caredesk.messaging import services as messaging
from caredesk.patients import services as patient_services
from caredesk.referrals import services as referral_services
from caredesk.transitions import services as transitions
from caredesk.transitions.models import Encounter
from caredesk.transitions.schemas import AdtEvent, ExternalId, MessageHeader, PersonData, VisitData
from tests.interop.conftest import TokenClient, audit_rows, token_for
from tests.patients.factories import make_patient, portal_user_for

pytestmark = pytest.mark.django_db
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def entries(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resourceType"] == "Bundle"
    return [e["resource"] for e in body.get("entry", [])]


def _adt(patient, trigger: str, visit: str, patient_class: str, admit, discharge=None) -> Encounter:
    event = AdtEvent(
        header=MessageHeader(
            sender="ADT1|HOSP", control_id=f"C-{visit}-{trigger}", message_type="ADT", trigger=trigger
        ),
        person=PersonData(
            identifiers=(ExternalId(patient.mrn, patient.organization.short_code, "MR"),),
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
        ),
        visit=VisitData(
            visit_number=visit,
            patient_class=patient_class,
            admit_at=admit,
            discharge_at=discharge,
            disposition_code="01" if discharge else "",
        ),
    )
    receipt = transitions.receive_message(
        actor=transitions.feed_actor(organization_id=patient.organization_id),
        header=event.header,
        raw=f"MSH|^~\\&|ADT1|HOSP|CAREDESK|X|||ADT^{trigger}|C-{visit}-{trigger}|P|2.5.1",
        event=event,
    )
    assert receipt.ack_code == "AA", receipt
    return Encounter.objects.get(organization_id=patient.organization_id, visit_number=visit)


@pytest.fixture
def stays(patient):
    home = _adt(patient, "A03", "V-1", "I", NOW - dt.timedelta(days=10), NOW - dt.timedelta(days=7))
    current = _adt(patient, "A01", "V-2", "E", NOW - dt.timedelta(hours=5))
    return home, current


def test_encounter_read_maps_the_stay(api, stays, patient):
    home, _ = stays
    response = api.get(f"/fhir/Encounter/{home.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirEncounter.model_validate(body)
    assert body["status"] == "finished"
    assert body["class"]["code"] == "IMP"
    assert body["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert dt.datetime.fromisoformat(body["period"]["end"]) == NOW - dt.timedelta(days=7)
    assert audit_rows(AuditAction.ENCOUNTER_VIEW, patient_id=patient.pk)
    assert api.get("/fhir/Encounter/999999").status_code == 404
    assert api.get("/fhir/Encounter/x").json()["resourceType"] == "OperationOutcome"


def test_encounter_search_by_patient_status_class_and_date(api, other_api, stays, patient):
    home, current = stays
    ids = lambda query: [e["id"] for e in entries(api.get(f"/fhir/Encounter?{query}"))]  # noqa: E731
    assert ids(f"patient=Patient/{patient.pk}") == [str(current.pk), str(home.pk)]
    assert ids(f"patient={patient.pk}&status=finished") == [str(home.pk)]
    assert ids(f"patient={patient.pk}&status=in-progress") == [str(current.pk)]
    assert ids("class=http://terminology.hl7.org/CodeSystem/v3-ActCode|EMER") == [str(current.pk)]
    nine_days_ago = (NOW - dt.timedelta(days=9)).date().isoformat()
    assert ids(f"patient={patient.pk}&date={nine_days_ago}") == [str(home.pk)]
    three_days_ago = (NOW - dt.timedelta(days=3)).date().isoformat()
    assert ids(f"patient={patient.pk}&date=ge{three_days_ago}") == [str(current.pk)]
    assert ids(f"patient={patient.pk}&date=lt{three_days_ago}") == [str(home.pk)]
    assert ids(f"_id={home.pk}") == [str(home.pk)]
    for bad in ("status=planned", "class=XYZ", "date=yesterday", "date=sa2026-01-01", "date=2026-02-30"):
        assert api.get(f"/fhir/Encounter?{bad}").status_code == 400, bad
    for resource in entries(api.get(f"/fhir/Encounter?patient={patient.pk}")):
        FhirEncounter.model_validate(resource)
    assert audit_rows(AuditAction.ENCOUNTER_SEARCH)[-1].detail["result_ids"] == [patient.pk]
    assert entries(other_api.get(f"/fhir/Encounter?patient={patient.pk}")) == []
    assert other_api.get(f"/fhir/Encounter/{home.pk}").status_code == 404


def test_portal_token_sees_only_its_own_encounters(coordinator_actor, stays, patient):
    someone = make_patient(coordinator_actor, given_name="Ann", family_name="Other")
    theirs = _adt(someone, "A01", "V-9", "I", NOW - dt.timedelta(days=1))
    portal = TokenClient(token_for(portal_user_for(patient)))
    home, current = stays
    assert portal.get(f"/fhir/Encounter/{home.pk}").status_code == 200
    assert portal.get(f"/fhir/Encounter/{theirs.pk}").status_code == 404
    assert {e["id"] for e in entries(portal.get("/fhir/Encounter"))} == {str(home.pk), str(current.pk)}
    assert entries(portal.get(f"/fhir/Encounter?patient={someone.pk}")) == []
    assert portal.get(f"/fhir/Encounter/{home.pk}/$document").status_code == 403


def _upload(actor, patient, title: str, name: str, content: bytes):
    return patient_services.upload_document(
        actor=actor, patient_id=patient.pk, title=title, uploaded_file=SimpleUploadedFile(name, content)
    )


def test_document_reference_read_links_the_authorized_download(api, coordinator_actor, patient):
    letter = _upload(coordinator_actor, patient, "Discharge summary", "summary.txt", b"Home on day 3.")
    referral = referral_services.create_referral(
        actor=coordinator_actor,
        data=referral_services.NewReferral(
            patient_id=patient.pk, specialty="neurology", reason="Headaches", document_ids=[letter.pk]
        ),
    )
    response = api.get(f"/fhir/DocumentReference/{letter.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirDocumentReference.model_validate(body)
    assert body["status"] == "current"
    assert body["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert body["description"] == "Discharge summary"
    assert body["context"]["related"] == [{"reference": f"ServiceRequest/referral-{referral.pk}"}]
    assert api.get(f"/fhir/{body['context']['related'][0]['reference']}").status_code == 200
    attachment = body["content"][0]["attachment"]
    assert "data" not in attachment
    assert attachment["size"] == len(b"Home on day 3.")
    assert attachment["url"].endswith(f"/fhir/Binary/{letter.pk}")
    download = api.get(attachment["url"])
    assert download.status_code == 200
    assert download.content == b"Home on day 3."
    assert download["Content-Type"].startswith("text/plain")
    assert audit_rows(AuditAction.DOCUMENT_DOWNLOAD, patient_id=patient.pk)
    assert TokenClient("nonsense").get(attachment["url"]).status_code == 401
    assert api.get("/fhir/DocumentReference/424242").status_code == 404
    assert api.get("/fhir/Binary/424242").status_code == 404


def test_document_reference_search_filters(api, other_api, coordinator_actor, patient):
    summary = _upload(coordinator_actor, patient, "Discharge summary", "summary.txt", b"Home on day 3.")
    consult = _upload(coordinator_actor, patient, "Consult note", "consult.txt", b"Seen in clinic.")
    referral = referral_services.create_referral(
        actor=coordinator_actor,
        data=referral_services.NewReferral(
            patient_id=patient.pk, specialty="neurology", reason="Headaches", document_ids=[consult.pk]
        ),
    )
    ids = lambda query: [d["id"] for d in entries(api.get(f"/fhir/DocumentReference?{query}"))]  # noqa: E731
    assert ids(f"patient={patient.pk}") == [str(consult.pk), str(summary.pk)]
    assert ids(f"patient={patient.pk}&type=discharge") == [str(summary.pk)]
    assert ids(f"patient={patient.pk}&contenttype=text/plain") == [str(consult.pk), str(summary.pk)]
    assert ids(f"patient={patient.pk}&contenttype=application/pdf") == []
    assert ids(f"related=ServiceRequest/{referral.pk}") == [str(consult.pk)]
    today = timezone.localdate()
    assert set(ids(f"patient={patient.pk}&date=ge{(today - dt.timedelta(days=1)).isoformat()}")) == {
        str(consult.pk),
        str(summary.pk),
    }
    assert ids(f"patient={patient.pk}&date=lt{(today - dt.timedelta(days=1)).isoformat()}") == []
    assert ids(f"patient={patient.pk}&status=superseded") == []
    assert ids(f"_id={summary.pk}") == [str(summary.pk)]
    assert api.get("/fhir/DocumentReference?status=draft").status_code == 400
    assert api.get("/fhir/DocumentReference?date=soon").status_code == 400
    assert api.get("/fhir/DocumentReference?related=Patient/1").status_code == 400
    assert audit_rows(AuditAction.CLINICAL_VIEW)[-1].detail["result_ids"] == [patient.pk]
    assert entries(other_api.get(f"/fhir/DocumentReference?patient={patient.pk}")) == []
    assert other_api.get(f"/fhir/DocumentReference/{summary.pk}").status_code == 404
    assert other_api.get(f"/fhir/Binary/{summary.pk}").status_code == 404


def test_portal_token_sees_only_its_own_documents(coordinator_actor, patient):
    mine = _upload(coordinator_actor, patient, "My letter", "mine.txt", b"Yours truly.")
    someone = make_patient(coordinator_actor, given_name="Ann", family_name="Other")
    theirs = _upload(coordinator_actor, someone, "Their letter", "theirs.txt", b"Not yours.")
    portal = TokenClient(token_for(portal_user_for(patient)))
    assert portal.get(f"/fhir/DocumentReference/{mine.pk}").status_code == 200
    assert portal.get(f"/fhir/Binary/{mine.pk}").content == b"Yours truly."
    assert portal.get(f"/fhir/DocumentReference/{theirs.pk}").status_code == 404
    assert portal.get(f"/fhir/Binary/{theirs.pk}").status_code == 404
    assert [d["id"] for d in entries(portal.get("/fhir/DocumentReference"))] == [str(mine.pk)]


def test_capability_statement_lists_the_new_types_and_document_operation(api):
    statement = api.get("/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    for resource_type in ("Goal", "CareTeam", "Encounter", "DocumentReference", "Binary"):
        assert resource_type in resources
    assert {p["name"] for p in resources["Encounter"]["searchParam"]} >= {
        "patient",
        "status",
        "class",
        "date",
    }
    assert [o["name"] for o in resources["Encounter"]["operation"]] == ["document"]


def _letter(actor, patient, **fields: Any):
    entry, _pdf = messaging.send_letter(
        actor=actor, data=messaging.NewLetter(patient_id=patient.pk, **fields)
    )
    return entry


def test_a_letter_is_a_document_reference_with_its_pdf(api, other_api, coordinator_actor, patient):
    referral = referral_services.create_referral(
        actor=coordinator_actor,
        data=referral_services.NewReferral(patient_id=patient.pk, specialty="neurology", reason="Headaches"),
    )
    letter = _letter(coordinator_actor, patient, template="referral", referral_id=referral.pk)
    response = api.get(f"/fhir/DocumentReference/letter-{letter.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    FhirDocumentReference.model_validate(body)
    assert body["id"] == f"letter-{letter.pk}"
    assert body["status"] == "current"
    assert body["category"][0]["coding"][0]["code"] == "letter"
    assert body["type"]["coding"][0] == {"system": "http://loinc.org", "code": "51852-2", "display": "Letter"}
    assert body["type"]["text"] == "Referral letter"
    assert body["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert dt.datetime.fromisoformat(body["date"]) == letter.occurred_at
    assert body["description"] == letter.subject
    related = [r["reference"] for r in body["context"]["related"]]
    assert related == [f"Communication/{letter.pk}", f"ServiceRequest/referral-{referral.pk}"]
    assert audit_rows(AuditAction.COMMUNICATION_VIEW, patient_id=patient.pk, object_id=str(letter.pk))
    attachment = body["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["url"].endswith(f"/fhir/Binary/letter-{letter.pk}")
    download = api.get(attachment["url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF")
    assert audit_rows(AuditAction.LETTER_PRINT, patient_id=patient.pk, object_id=str(letter.pk))
    for missing in ("letter-424242", "letter-x", "letter-"):
        assert api.get(f"/fhir/DocumentReference/{missing}").status_code == 404
        assert api.get(f"/fhir/Binary/{missing}").status_code == 404
    call = messaging.log_communication(
        actor=coordinator_actor,
        data=messaging.NewCommunication(
            patient_id=patient.pk, direction="out", channel="phone", outcome="reached", subject="Call"
        ),
    )
    assert api.get(f"/fhir/DocumentReference/letter-{call.pk}").status_code == 404  # a call is no letter
    assert other_api.get(f"/fhir/DocumentReference/letter-{letter.pk}").status_code == 404
    assert other_api.get(f"/fhir/Binary/letter-{letter.pk}").status_code == 404


def test_search_pages_documents_and_letters_together(api, other_api, coordinator_actor, patient):
    summary = _upload(coordinator_actor, patient, "Discharge summary", "summary.txt", b"Home on day 3.")
    referral = referral_services.create_referral(
        actor=coordinator_actor,
        data=referral_services.NewReferral(patient_id=patient.pk, specialty="neurology", reason="Headaches"),
    )
    about_referral = _letter(coordinator_actor, patient, template="referral", referral_id=referral.pk)
    cover = _letter(coordinator_actor, patient, template="statement_cover", balance=Decimal("12.50"))
    newest_first = [f"letter-{cover.pk}", f"letter-{about_referral.pk}", str(summary.pk)]

    def ids(query: str) -> list[str]:
        return [d["id"] for d in entries(api.get(f"/fhir/DocumentReference?{query}"))]

    assert ids(f"patient={patient.pk}") == newest_first
    assert ids(f"patient={patient.pk}&_count=2") == newest_first[:2]
    page_two = api.get(f"/fhir/DocumentReference?patient={patient.pk}&_count=2&_page=2").json()
    assert [e["resource"]["id"] for e in page_two["entry"]] == newest_first[2:]
    assert not any(link["relation"] == "next" for link in page_two["link"])
    assert ids(f"patient={patient.pk}&type=http://loinc.org|51852-2") == newest_first[:2]
    assert ids(f"patient={patient.pk}&contenttype=application/pdf") == newest_first[:2]
    assert ids(f"patient={patient.pk}&contenttype=text/plain") == [str(summary.pk)]
    assert ids(f"patient={patient.pk}&status=superseded") == []
    assert ids(f"related=ServiceRequest/referral-{referral.pk}") == [f"letter-{about_referral.pk}"]
    assert ids(f"_id=letter-{cover.pk}") == [f"letter-{cover.pk}"]
    assert ids(f"_id={summary.pk}") == [str(summary.pk)]
    assert ids("_id=letter-x") == []
    today = timezone.localdate()
    assert ids(f"patient={patient.pk}&date=lt{today.isoformat()}") == []
    shown = audit_rows(AuditAction.COMMUNICATION_SEARCH, patient_id=patient.pk)
    assert shown[0].detail["communication_ids"] == [cover.pk, about_referral.pk]
    assert entries(other_api.get(f"/fhir/DocumentReference?patient={patient.pk}")) == []


def test_portal_token_sees_only_its_own_letters(coordinator_actor, patient):
    mine = _letter(coordinator_actor, patient, template="statement_cover", balance=Decimal("12.50"))
    someone = make_patient(coordinator_actor, given_name="Ann", family_name="Other")
    theirs = _letter(coordinator_actor, someone, template="statement_cover", balance=Decimal("99.00"))
    portal = TokenClient(token_for(portal_user_for(patient)))
    assert portal.get(f"/fhir/DocumentReference/letter-{mine.pk}").status_code == 200
    assert portal.get(f"/fhir/Binary/letter-{mine.pk}").content.startswith(b"%PDF")
    assert portal.get(f"/fhir/DocumentReference/letter-{theirs.pk}").status_code == 404
    assert portal.get(f"/fhir/Binary/letter-{theirs.pk}").status_code == 404
    assert [d["id"] for d in entries(portal.get("/fhir/DocumentReference"))] == [f"letter-{mine.pk}"]
    assert entries(portal.get(f"/fhir/DocumentReference?patient={someone.pk}")) == []

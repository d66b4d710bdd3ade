"""The steps endpoint carries what the referral page's form does: the scheduled step links one of the
patient's booked appointments (`appointment_id`, shown on the referral over REST and FHIR), the close step
files the consult note received (`consult_document`, base64 in the JSON body) in the patient's chart and
links it from the closing step, exactly as the page does. A refused appointment or document answers 400
and changes nothing: no step, no document, no file."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import create_api_token
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.context import system_actor
from caredesk.patients.models import Document
from caredesk.referrals import services
from caredesk.referrals.models import Referral
from tests.scheduling.conftest import MONDAY, at, book, clinic, frozen_clock  # noqa: F401  (fixtures)

from .conftest import PDF, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff):
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")

    def client_for(role: str = Role.COORDINATOR) -> Client:
        token = create_api_token(actor=cli, username=staff[role].username, name="tests")[1]
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return client_for


@pytest.fixture
def schedule(clinic):  # noqa: F811
    """Scheduling's test clinic (its clock stops months after the referrals' now)."""
    return clinic


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def make_inbound(coord, patient):
    def make() -> Referral:
        return services.register_inbound_referral(
            actor=coord,
            data=services.NewInboundReferral(
                patient_id=patient.pk,
                specialty="cardiology",
                reason="Murmur heard at the annual visit",
                referrer_name="Valley Family Practice",
            ),
        )

    return make


def step(client: Client, referral: Referral, body: dict[str, Any]):
    return client.post(f"/api/v1/referrals/{referral.pk}/steps", body, content_type="application/json")


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def unchanged(referral: Referral) -> tuple[str, int, int, int | None]:
    fresh = Referral.objects.get(pk=referral.pk)
    return fresh.status, fresh.version, fresh.events.count(), fresh.appointment_id


# --- the scheduled step: a booked appointment -----------------------------------------------------------


def test_scheduling_over_the_api_links_the_patients_booked_appointment(
    api, coord, make_referral, schedule, patient
):
    accepted = walk(coord, make_referral(), "accept")
    visit = book(schedule, at(MONDAY, 9), patient=patient)

    response = step(
        api(Role.FRONT_DESK),
        accepted,
        {"action": "schedule", "appointment_id": visit.pk, "version": accepted.version},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["appointment_id"]) == ("scheduled", visit.pk)
    assert body["appointment_at"] == api().get(f"/api/v1/referrals/{accepted.pk}").json()["appointment_at"]
    referral = Referral.objects.get(pk=accepted.pk)
    assert referral.appointment_at == visit.starts_at
    assert f"booked appointment #{visit.pk}" in body["timeline"][-1]["note"]
    audit = AuditEvent.objects.filter(action=AuditAction.REFERRAL_STATUS_CHANGED).latest("pk")
    assert audit.detail["appointment_id"] == visit.pk
    fhir = api().get(f"/fhir/ServiceRequest/referral-{accepted.pk}")
    assert fhir.status_code == 200, fhir.content
    occurrence = fhir.json()["occurrenceDateTime"]
    assert dt.datetime.fromisoformat(occurrence.replace("Z", "+00:00")) == visit.starts_at
    assert fhir.json()["supportingInfo"] == [{"reference": f"Appointment/{visit.pk}"}]


@pytest.mark.parametrize(
    ("which", "words"),
    [("other", "another patient's"), ("missing", "No appointment"), ("both", "not both")],
)
def test_an_appointment_that_is_not_the_patients_is_refused_and_nothing_changes(
    api, coord, make_referral, schedule, patient, which, words
):
    accepted = walk(coord, make_referral(), "accept")
    someone_else = book(schedule, at(MONDAY, 9))
    mine = book(schedule, at(MONDAY, 11), patient=patient)
    before = unchanged(accepted)
    body: dict[str, Any] = {
        "other": {"action": "schedule", "appointment_id": someone_else.pk},
        "missing": {"action": "schedule", "appointment_id": 999_999},
        "both": {"action": "schedule", "appointment_id": mine.pk, "appointment_at": "2027-04-02T14:00:00Z"},
    }[which]

    response = step(api(), accepted, body)

    assert response.status_code == 400, response.content
    assert words in response.json()["message"]
    assert response.json()["field"] in ("appointment_id", "appointment_at")
    assert unchanged(accepted) == before


def test_a_malformed_appointment_id_is_refused(api, coord, make_referral):
    accepted = walk(coord, make_referral(), "accept")
    before = unchanged(accepted)
    for value in (0, "nine", -3):
        response = step(api(), accepted, {"action": "schedule", "appointment_id": value})
        assert response.status_code == 400, response.content
    assert unchanged(accepted) == before


# --- the close step: the consult note received ----------------------------------------------------------


def test_closing_over_the_api_files_the_consult_note_like_the_page(api, coord, make_referral, patient, media):
    seen = walk(coord, make_referral(), "accept", "schedule", "seen")

    response = step(
        api(),
        seen,
        {
            "action": "close",
            "note": "Stress test normal",
            "version": seen.version,
            "consult_document": {
                "filename": "consult.pdf",
                "content_type": "application/pdf",
                "content_base64": b64(PDF),
            },
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "closed"
    [document] = Document.objects.filter(patient=patient)
    assert document.title == "Consult note: Cardiology — Heart Partners"  # the page's title
    assert (document.original_filename, document.content_type) == ("consult.pdf", "application/pdf")
    assert document.file.read() == PDF
    assert body["timeline"][-1]["document_id"] == document.pk
    assert [e["document_id"] for e in body["timeline"][:-1]] == [None] * (len(body["timeline"]) - 1)
    closed = Referral.objects.get(pk=seen.pk).events.last()
    assert closed is not None
    assert closed.document_id == document.pk
    assert AuditEvent.objects.filter(action=AuditAction.DOCUMENT_UPLOAD, patient_id=patient.pk).count() == 1
    status_row = AuditEvent.objects.filter(action=AuditAction.REFERRAL_STATUS_CHANGED).latest("pk")
    assert status_row.detail["document_id"] == document.pk


def test_base64_with_line_breaks_and_no_content_type_is_accepted(api, coord, make_referral, patient, media):
    seen = walk(coord, make_referral(), "accept", "schedule", "seen")
    wrapped = "\n".join(b64(PDF)[i : i + 16] for i in range(0, len(b64(PDF)), 16))
    response = step(
        api(),
        seen,
        {"action": "close", "consult_document": {"filename": "note.pdf", "content_base64": wrapped}},
    )
    assert response.status_code == 200, response.content
    assert Document.objects.get(patient=patient).content_type == "application/pdf"


BAD_DOCUMENTS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "not base64",
        {"filename": "consult.pdf", "content_base64": "%%% not base64 %%%"},
        "consult_document.content_base64",
        "not valid base64",
    ),
    (
        "a program",
        {"filename": "consult.exe", "content_base64": b64(b"MZ\x90\x00")},
        "consult_document",
        "'.exe' are not accepted",
    ),
    (
        "not a PDF inside",
        {"filename": "consult.pdf", "content_base64": b64(b"just some text")},
        "consult_document",
        "not application/pdf",
    ),
    (
        "the wrong content type",
        {"filename": "consult.pdf", "content_type": "image/png", "content_base64": b64(PDF)},
        "consult_document.content_type",
        "is application/pdf, not image/png",
    ),
    (
        "too large",
        {"filename": "consult.txt", "content_base64": b64(b"x" * 2048)},
        "consult_document",
        "larger than",
    ),
]


@pytest.mark.parametrize(
    ("case", "document", "field", "words"), BAD_DOCUMENTS, ids=[c[0] for c in BAD_DOCUMENTS]
)
def test_a_bad_consult_document_is_refused_and_nothing_changes(
    api, coord, make_referral, patient, media, settings, case, document, field, words
):
    settings.CAREDESK_DOCUMENT_MAX_BYTES = 1024
    seen = walk(coord, make_referral(), "accept", "schedule", "seen")
    before = unchanged(seen)

    response = step(api(), seen, {"action": "close", "consult_document": document})

    assert response.status_code == 400, response.content
    error = response.json()
    assert (error["code"], error["field"]) == ("invalid_document", field)
    assert words in error["message"]
    assert unchanged(seen) == before
    assert not Document.objects.filter(patient=patient).exists()
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_document_where_none_belongs_is_refused(api, coord, make_referral, make_inbound, patient, media):
    document = {"filename": "consult.pdf", "content_base64": b64(PDF)}
    inbound = walk(coord, make_inbound(), "accept", "schedule", "seen")
    accepted = walk(coord, make_referral(), "accept")
    for referral, action, status in (
        (inbound, "close", 400),
        (accepted, "seen", 409),
        (accepted, "accept", 409),
    ):
        before = unchanged(referral)
        response = step(api(), referral, {"action": action, "consult_document": document})
        assert response.status_code == status, response.content
        assert unchanged(referral) == before
    missing = step(api(), accepted, {"action": "close", "consult_document": {"filename": "x.pdf"}})
    assert missing.status_code == 400
    nurse = step(
        api(Role.NURSE),
        walk(coord, make_referral(), "accept", "schedule", "seen"),
        {
            "action": "close",
            "consult_document": document,
        },
    )
    assert nurse.status_code == 403  # closing the loop needs REFERRAL_MANAGE
    assert not Document.objects.filter(patient=patient).exists()

"""Templated letters: rendered to PDF for a patient and what the letter is about (an appointment, a
referral, a no-show, a statement's balance given by the caller), recorded once in the communication log
as an outbound letter linked to its appointment or referral; refusals record nothing; the page on the log
and the JSON API."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import DomainError
from caredesk.messaging import services
from caredesk.messaging.models import Communication
from caredesk.patients.schemas import PatientInput
from caredesk.patients.services import register_patient
from caredesk.referrals import services as referral_services
from caredesk.scheduling import services as scheduling_services
from tests.conftest import sign_in
from tests.interop.conftest import TokenClient, token_for
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import MONDAY, at, book, clinic, frozen_clock  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def text_of(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def coord(org):
    return staff_actor(org, Role.COORDINATOR)


@pytest.fixture
def patient(coord):
    return register_patient(
        actor=coord,
        data=PatientInput(
            given_name="Marisol",
            family_name="Quintero",
            birth_date=MONDAY.replace(year=1958),
            sex="female",
            address_line1="12 Elm Street",
            city="Springfield",
            state="IL",
            postal_code="62701",
        ),
        confirm_not_duplicate=True,
    )


@pytest.fixture
def visit(clinic, patient):  # noqa: F811
    return book(clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk])


def letters_of(patient) -> list[Communication]:
    return list(Communication.objects.filter(patient=patient, channel="letter"))


def test_appointment_letter_shows_the_time_in_the_locations_zone_and_is_logged_once(
    coord,
    patient,
    visit,
    clinic,  # noqa: F811
):
    # The clinic moves to Denver (an administrator's edit; there is no service for locations): the letter
    # tells the time on the clinic's clock, not the server's (New York).
    Location.objects.filter(pk=clinic.location.pk).update(timezone="America/Denver")
    entry, letter = services.send_letter(
        actor=coord,
        data=services.NewLetter(patient_id=patient.pk, template="appointment", appointment_id=visit.pk),
    )
    text = text_of(letter.pdf)
    assert "Marisol Quintero" in text
    assert "7:00 AM MST" in text  # 9:00 in New York
    assert "9:00 AM" not in text
    assert "Monday, March 1, 2027" in text
    assert "12 Elm Street" in text
    assert "Riverside Main Clinic" in text
    assert letters_of(patient) == [entry]
    assert (entry.direction, entry.outcome, entry.appointment_id, entry.letter_template) == (
        "out",
        "sent",
        visit.pk,
        "appointment",
    )
    assert (
        AuditEvent.objects.filter(action=AuditAction.COMMUNICATION_CREATE, patient_id=patient.pk).count() == 1
    )


def test_no_show_letter_needs_a_no_show(coord, patient, visit, clinic, frozen_clock, settings):  # noqa: F811
    data = services.NewLetter(patient_id=patient.pk, template="no_show", appointment_id=visit.pk)
    with pytest.raises(DomainError) as refused:
        services.send_letter(actor=coord, data=data)
    assert refused.value.http_status == 409
    assert letters_of(patient) == []
    settings.CAREDESK_NO_SHOW_GRACE_MINUTES = 15
    frozen_clock(at(MONDAY, 9, 30))
    scheduling_services.mark_no_show(actor=clinic.desk, appointment_id=visit.pk)
    entry, letter = services.send_letter(actor=coord, data=data)
    text = text_of(letter.pdf)
    assert "We missed you" in text
    assert "9:00 AM EST" in text
    assert entry.appointment_id == visit.pk


def test_referral_and_statement_cover_letters(coord, patient):
    referral = referral_services.create_referral(
        actor=coord,
        data=referral_services.NewReferral(patient_id=patient.pk, specialty="neurology", reason="Headaches"),
    )
    entry, letter = services.send_letter(
        actor=coord,
        data=services.NewLetter(patient_id=patient.pk, template="referral", referral_id=referral.pk),
    )
    assert entry.referral_id == referral.pk
    assert "Headaches" in text_of(letter.pdf)
    _, cover = services.send_letter(
        actor=coord,
        data=services.NewLetter(patient_id=patient.pk, template="statement_cover", balance=Decimal("1234.5")),
    )
    assert "$1,234.50" in text_of(cover.pdf)
    assert len(letters_of(patient)) == 2


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"template": "welcome"}, 400),
        ({"template": "appointment"}, 400),
        ({"template": "appointment", "appointment_id": 999999}, 404),
        ({"template": "referral", "referral_id": 999999}, 404),
        ({"template": "statement_cover"}, 400),
        ({"template": "statement_cover", "balance": Decimal("-1")}, 400),
        ({"template": "statement_cover", "balance": Decimal("1.234")}, 400),
    ],
)
def test_bad_letters_are_refused_and_record_nothing(coord, patient, fields: dict[str, Any], status: int):
    with pytest.raises(DomainError) as refused:
        services.send_letter(actor=coord, data=services.NewLetter(patient_id=patient.pk, **fields))
    assert refused.value.http_status == status
    assert letters_of(patient) == []
    assert not AuditEvent.objects.filter(
        action=AuditAction.COMMUNICATION_CREATE, patient_id=patient.pk
    ).exists()


def test_preview_records_nothing(coord, patient, visit):
    letter = services.preview_letter(
        actor=coord,
        data=services.NewLetter(patient_id=patient.pk, template="appointment", appointment_id=visit.pk),
    )
    assert "Marisol Quintero" in text_of(letter.pdf)
    assert letters_of(patient) == []
    assert AuditEvent.objects.filter(action=AuditAction.LETTER_PREVIEW, patient_id=patient.pk).exists()


def test_letter_page_on_the_log_records_and_downloads(client, make_user, org, patient, visit):
    user = make_user(Role.COORDINATOR, org)
    sign_in(client, user)
    page = client.get(reverse("messaging:patient_log", args=[patient.pk]))
    assert page.status_code == 200
    assert 'data-testid="letter-form"' in page.content.decode()
    url = reverse("messaging:letter", args=[patient.pk])
    preview = client.post(url, {"template": "appointment", "appointment_id": visit.pk, "action": "preview"})
    assert preview["Content-Type"] == "application/pdf"
    assert letters_of(patient) == []
    bad = client.post(url, {"template": "appointment", "action": "send"}, headers={"HX-Request": "true"})
    assert bad.status_code == 400
    assert "choose one" in bad.content.decode()
    assert letters_of(patient) == []
    sent = client.post(
        url,
        {"template": "appointment", "appointment_id": visit.pk, "action": "send"},
        headers={"HX-Request": "true"},
    )
    assert sent.status_code == 200
    assert sent["HX-Trigger"] == "communication-logged"
    (entry,) = letters_of(patient)
    download = client.get(reverse("messaging:letter_pdf", args=[entry.pk]))
    assert download.status_code == 200
    assert "Marisol Quintero" in text_of(download.content)
    assert AuditEvent.objects.filter(action=AuditAction.LETTER_PRINT, patient_id=patient.pk).exists()
    log = client.get(reverse("messaging:patient_log", args=[patient.pk])).content.decode()
    assert reverse("messaging:letter_pdf", args=[entry.pk]) in log


def test_letters_in_the_api(make_user, org, other_org, patient, visit):
    api = TokenClient(token_for(make_user(Role.COORDINATOR, org)))
    response = api.post_json(
        f"/api/v1/patients/{patient.pk}/letters", {"template": "appointment", "appointment_id": visit.pk}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["channel"], body["letter_template"], body["appointment_id"]) == (
        "letter",
        "appointment",
        visit.pk,
    )
    pdf = api.get(body["pdf_url"])
    assert pdf.status_code == 200
    assert "Marisol Quintero" in text_of(pdf.content)
    assert api.post_json(f"/api/v1/patients/{patient.pk}/letters", {"template": "nope"}).status_code == 400
    preview = api.post_json(
        f"/api/v1/patients/{patient.pk}/letters/preview", {"template": "statement_cover", "balance": "10.00"}
    )
    assert preview["Content-Type"] == "application/pdf"
    assert len(letters_of(patient)) == 1
    stranger = TokenClient(token_for(make_user(Role.COORDINATOR, other_org, username="elsewhere")))
    assert stranger.get(body["pdf_url"]).status_code == 404
    assert (
        stranger.post_json(
            f"/api/v1/patients/{patient.pk}/letters", {"template": "statement_cover", "balance": "1"}
        ).status_code
        == 404
    )

"""The communication log honours the patient's SMS / e-mail / voicemail consents, a fax carries its
document (a chart document, or a PDF uploaded and filed in the chart), and staff-to-staff entries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import ValidationFailed
from caredesk.messaging import rules, services
from caredesk.messaging.errors import ConsentNotGiven, FaxDocumentNotFound
from caredesk.messaging.models import Communication
from caredesk.patients import services as patient_services
from caredesk.patients.models import Document
from tests.interop.conftest import token_for
from tests.patients.factories import PDF_BYTES, make_patient, upload

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def entry(patient_id: int, **fields: object) -> services.NewCommunication:
    values: dict[str, object] = {
        "patient_id": patient_id,
        "direction": "out",
        "channel": "sms",
        "subject": "Appointment tomorrow",
        "outcome": "sent",
    }
    return services.NewCommunication(**{**values, **fields})  # type: ignore[arg-type]


def allow(patient, **flags: bool) -> None:
    for name, value in flags.items():
        setattr(patient, name, value)
    patient.save(update_fields=list(flags))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def chart_pdf(coord, patient, media) -> Document:
    return patient_services.upload_document(
        actor=coord,
        patient_id=patient.pk,
        title="Discharge summary",
        uploaded_file=upload("summary.pdf", PDF_BYTES),
    )


# --- consents -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "direction", "outcome", "party", "needed"),
    [
        ("sms", "out", "sent", "patient", "sms_allowed"),
        ("sms", "out", "failed", "patient", "sms_allowed"),
        ("email", "out", "sent", "patient", "email_allowed"),
        ("phone", "out", "voicemail", "patient", "voicemail_allowed"),
        ("phone", "out", "reached", "patient", None),
        ("phone", "out", "no_answer", "patient", None),
        ("sms", "in", "received", "patient", None),
        ("phone", "in", "reached", "patient", None),
        ("sms", "out", "sent", "caregiver", None),
        ("phone", "out", "voicemail", "staff", None),
        ("letter", "out", "sent", "patient", None),
        ("fax", "out", "sent", "patient", None),
    ],
)
def test_which_entries_need_which_consent(channel, direction, outcome, party, needed):
    assert rules.needed_consent(channel, direction, outcome, party) == needed


def test_an_outbound_sms_or_email_to_a_patient_who_refused_is_not_logged(coord, patient):
    with pytest.raises(ConsentNotGiven, match="not agreed to SMS") as refused:
        services.log_communication(actor=coord, data=entry(patient.pk))
    assert refused.value.field == "channel"
    assert refused.value.http_status == 400
    with pytest.raises(ConsentNotGiven, match="not agreed to e-mail"):
        services.log_communication(actor=coord, data=entry(patient.pk, channel="email"))
    assert not Communication.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.COMMUNICATION_CREATE).exists()

    allow(patient, sms_allowed=True, email_allowed=True)
    services.log_communication(actor=coord, data=entry(patient.pk))
    services.log_communication(actor=coord, data=entry(patient.pk, channel="email"))
    assert Communication.objects.count() == 2


def test_a_voicemail_needs_voicemail_consent_but_a_call_that_reached_the_patient_does_not(coord, patient):
    with pytest.raises(ConsentNotGiven, match="not agreed to voicemail") as refused:
        services.log_communication(actor=coord, data=entry(patient.pk, channel="phone", outcome="voicemail"))
    assert refused.value.field == "outcome"
    services.log_communication(actor=coord, data=entry(patient.pk, channel="phone", outcome="reached"))
    services.log_communication(actor=coord, data=entry(patient.pk, channel="phone", outcome="no_answer"))
    allow(patient, voicemail_allowed=True)
    services.log_communication(actor=coord, data=entry(patient.pk, channel="phone", outcome="voicemail"))
    assert Communication.objects.count() == 3


def test_what_the_patient_sends_and_contacts_with_others_are_always_recorded(coord, patient):
    services.log_communication(actor=coord, data=entry(patient.pk, direction="in", outcome="received"))
    services.log_communication(
        actor=coord,
        data=entry(patient.pk, party="caregiver", party_name="Daughter", subject="Ride to clinic"),
    )
    staff_note = services.log_communication(
        actor=coord,
        data=entry(
            patient.pk, channel="phone", outcome="voicemail", party="staff", party_name="Dr Shah's nurse"
        ),
    )
    assert staff_note.get_party_display().startswith("Staff")
    assert Communication.objects.count() == 3


def test_the_log_form_shows_the_consent_refusal_on_its_field(client_as, staff, patient):
    browser = client_as(staff[Role.NURSE])
    url = reverse("messaging:log", args=[patient.pk])
    data = {
        "direction": "out",
        "channel": "sms",
        "party": "patient",
        "outcome": "sent",
        "subject": "Reminder",
    }
    refused = browser.post(url, data, headers=HTMX)
    assert refused.status_code == 400
    assert "not agreed to SMS" in refused.content.decode()
    assert not Communication.objects.exists()
    inbound = browser.post(url, {**data, "direction": "in", "outcome": "received"}, headers=HTMX)
    assert inbound.status_code == 200
    assert Communication.objects.count() == 1


def test_the_api_refuses_an_sms_without_consent(client, staff, patient):
    token = token_for(staff[Role.COORDINATOR])
    answer = client.post(
        f"/api/v1/patients/{patient.pk}/communications",
        {"direction": "out", "channel": "sms", "outcome": "sent", "subject": "Reminder"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "communication_consent_missing"
    assert answer.json()["field"] == "channel"


# --- faxes and their documents -------------------------------------------------------------------------


def fax(patient_id: int, **fields: object) -> services.NewCommunication:
    return entry(patient_id, channel="fax", subject="Records to cardiology", party="practitioner", **fields)


def test_an_outbound_fax_needs_its_document(coord, patient, chart_pdf):
    with pytest.raises(ValidationFailed, match="outbound fax needs the document") as refused:
        services.log_communication(actor=coord, data=fax(patient.pk))
    assert refused.value.field == "document_id"
    sent = services.log_communication(actor=coord, data=fax(patient.pk, document_id=chart_pdf.pk))
    assert sent.document_id == chart_pdf.pk
    inbound = services.log_communication(
        actor=coord, data=fax(patient.pk, direction="in", outcome="received")
    )
    assert inbound.document_id is None
    with pytest.raises(ValidationFailed, match="Only a fax carries a document"):
        services.log_communication(
            actor=coord, data=entry(patient.pk, channel="phone", outcome="reached", document_id=chart_pdf.pk)
        )


def test_a_fax_document_must_be_a_current_document_of_the_same_patient(
    coord, patient, chart_pdf, other_patient, stranger, media
):
    someone_else = make_patient(coord, family_name="Someone")
    theirs = patient_services.upload_document(
        actor=coord, patient_id=someone_else.pk, title="Theirs", uploaded_file=upload("x.pdf", PDF_BYTES)
    )
    elsewhere = patient_services.upload_document(
        actor=stranger,
        patient_id=other_patient.pk,
        title="Elsewhere",
        uploaded_file=upload("y.pdf", PDF_BYTES),
    )
    for document_id in (theirs.pk, elsewhere.pk, 999_999):
        with pytest.raises(FaxDocumentNotFound) as refused:
            services.log_communication(actor=coord, data=fax(patient.pk, document_id=document_id))
        assert refused.value.field == "document_id"
    assert not Communication.objects.exists()


def test_an_uploaded_pdf_is_filed_in_the_chart_and_linked(coord, patient, media):
    sent = services.log_communication(
        actor=coord,
        data=fax(patient.pk),
        upload=services.FaxUpload(upload("consult.pdf", PDF_BYTES), "Consult request"),
    )
    document = Document.objects.get(pk=sent.document_id)
    assert (document.patient_id, document.title, document.content_type) == (
        patient.pk,
        "Consult request",
        "application/pdf",
    )
    assert AuditEvent.objects.filter(action=AuditAction.DOCUMENT_UPLOAD, patient_id=patient.pk).exists()
    with pytest.raises(ValidationFailed, match="PDF"):
        services.log_communication(
            actor=coord, data=fax(patient.pk), upload=services.FaxUpload(upload("note.txt", b"hello"))
        )
    with pytest.raises(ValidationFailed, match="not both"):
        services.log_communication(
            actor=coord,
            data=fax(patient.pk, document_id=document.pk),
            upload=services.FaxUpload(upload("again.pdf", PDF_BYTES)),
        )
    assert Document.objects.count() == 1
    # a use case that composes the text faxed itself (the referrals hook) needs no document
    notice = services.log_communication(actor=coord, data=fax(patient.pk), body_is_content=True)
    assert notice.document_id is None


def test_the_log_page_links_the_faxed_document_and_its_download_is_audited(
    client_as, staff, patient, coord, chart_pdf, other_org, make_user
):
    sent = services.log_communication(actor=coord, data=fax(patient.pk, document_id=chart_pdf.pk))
    browser = client_as(staff[Role.FRONT_DESK])
    page = browser.get(reverse("messaging:patient_log", args=[patient.pk])).content.decode()
    link = reverse("messaging:fax_document", args=[sent.pk])
    assert link in page
    download = browser.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert 'filename="summary.pdf"' in download["Content-Disposition"]
    assert AuditEvent.objects.filter(
        action=AuditAction.DOCUMENT_DOWNLOAD, patient_id=patient.pk, object_id=str(chart_pdf.pk)
    ).exists()
    other = services.log_communication(
        actor=coord, data=entry(patient.pk, channel="phone", outcome="reached")
    )
    assert browser.get(reverse("messaging:fax_document", args=[other.pk])).status_code == 404
    outsider = client_as(make_user(Role.COORDINATOR, other_org))
    assert outsider.get(link).status_code == 404


def test_the_log_form_uploads_the_faxed_pdf(client_as, staff, patient, media):
    browser = client_as(staff[Role.NURSE])
    url = reverse("messaging:log", args=[patient.pk])
    data = {
        "direction": "out",
        "channel": "fax",
        "party": "practitioner",
        "party_name": "Heart Partners",
        "outcome": "sent",
        "subject": "Referral packet",
    }
    missing = browser.post(url, data, headers=HTMX)
    assert missing.status_code == 400
    assert "outbound fax needs the document" in missing.content.decode()
    sent = browser.post(url, {**data, "document_file": upload("packet.pdf", PDF_BYTES)}, headers=HTMX)
    assert sent.status_code == 200, sent.content.decode()
    entry_ = Communication.objects.get()
    assert Document.objects.get(pk=entry_.document_id).title == "Fax: Referral packet"
    form = browser.get(url, headers=HTMX).content.decode()
    assert "Fax: Referral packet" in form  # now a chart document to choose for the next fax

"""Patient pages as people use them: search, registration with the duplicate check, the chart and its
htmx sections, corrections and history, demographics editing, merging and the portal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.patients import services
from caredesk.patients.choices import EntryStatus, PatientStatus
from caredesk.patients.models import Document, Note, Observation, Patient, Problem

from .factories import PDF_BYTES, make_patient, portal_user_for, upload

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def coord_client(client_as, coordinator):
    return client_as(coordinator)


@pytest.fixture
def patient(coordinator_actor):
    return make_patient(
        coordinator_actor,
        given_name="José",
        family_name="Álvarez",
        birth_date=dt.date(1980, 2, 29),
        phones=["(555) 010-2345"],
    )


@pytest.fixture
def stranger(make_user, other_org, actor_of):
    """A patient of another organization."""
    return make_patient(
        actor_of(make_user(Role.COORDINATOR, other_org)), given_name="Hidden", family_name="Away"
    )


def _body(response) -> str:
    return response.content.decode()


def _registration(**overrides):
    data = {
        "given_name": "Maya",
        "family_name": "Okafor",
        "birth_date": "1975-06-01",
        "sex": "female",
        "gender_identity": "Woman",
        "email": "maya@example.org",
        "phone_1": "(555) 010-7777",
        "phone_1_use": "mobile",
        "phone_1_system": "phone",
        "phone_2": "",
        "phone_2_use": "home",
        "phone_2_system": "phone",
        "phone_3": "",
        "phone_3_use": "mobile",
        "phone_3_system": "phone",
        "address_line1": "1 Main St",
        "city": "Albany",
        "state": "NY",
        "postal_code": "12207",
        "country": "US",
        "preferred_language": "es",
        "sms_allowed": "on",
        "voicemail_allowed": "on",
        "contact_name": "Ade Okafor",
        "contact_relationship": "spouse",
        "contact_phone": "555-010-8888",
        "contact_email": "",
    }
    data.update(overrides)
    return data


# --- search -------------------------------------------------------------------------------------------


def test_search_page_lists_the_organizations_patients_with_links_to_the_chart(
    coord_client, patient, stranger
):
    response = coord_client.get(reverse("patients:search"))
    assert response.status_code == 200
    body = _body(response)
    assert "Álvarez, José" in body
    assert reverse("patients:chart", args=[patient.pk]) in body
    assert "Hidden" not in body


@pytest.mark.parametrize("text", ["alvarez", "ALVA", "jose alv", "álvarez, jo", "1980-02-29", "2/29/1980"])
def test_live_search_finds_by_partial_name_without_case_or_accents_and_by_birth_date(
    coord_client, coordinator_actor, patient, text
):
    make_patient(coordinator_actor, given_name="Ruth", family_name="Baker")
    response = coord_client.get(reverse("patients:search"), {"q": text}, **HTMX)
    assert response.status_code == 200
    body = _body(response)
    assert "<html" not in body
    assert 'id="patient-results"' in body
    assert "Álvarez, José" in body
    assert "Baker" not in body


def test_search_by_mrn_and_by_phone(coord_client, coordinator_actor, patient):
    make_patient(coordinator_actor, given_name="Ruth", family_name="Baker", phones=["555-010-9999"])
    by_mrn = _body(coord_client.get(reverse("patients:search"), {"q": patient.mrn.lower()}))
    assert "Álvarez, José" in by_mrn
    assert "Baker" not in by_mrn
    by_phone = _body(coord_client.get(reverse("patients:search"), {"q": "555.010.2345"}))
    assert "Álvarez, José" in by_phone
    assert "Baker" not in by_phone


def test_search_is_paginated(coord_client, coordinator_actor, settings):
    settings.CAREDESK_PAGE_SIZE = 2
    for family in ["Able", "Baker", "Cole"]:
        make_patient(coordinator_actor, given_name="Pat", family_name=family)
    first = _body(coord_client.get(reverse("patients:search")))
    assert "Able, Pat" in first
    assert "Baker, Pat" in first
    assert "Cole" not in first
    assert "page=2" in first
    second = _body(coord_client.get(reverse("patients:search"), {"page": 2}))
    assert "Cole, Pat" in second
    assert "Able" not in second


def test_bad_search_input_is_a_400_with_a_message(coord_client):
    response = coord_client.get(reverse("patients:search"), {"birth_date": "1980-13-45", "page": "x"}, **HTMX)
    assert response.status_code == 400
    assert "could not run" in _body(response)
    assert "Enter a valid date" in _body(response)


# --- registration ---------------------------------------------------------------------------------------


def test_register_creates_the_patient_with_phones_contact_and_consents(coord_client):
    response = coord_client.post(reverse("patients:register"), _registration())
    patient = Patient.objects.get(family_name="Okafor")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:chart", args=[patient.pk])
    assert patient.mrn == "RSH0000001"
    assert (patient.sms_allowed, patient.email_allowed, patient.voicemail_allowed) == (True, False, True)
    assert patient.preferred_language == "es"
    assert list(patient.telecoms.values_list("digits", flat=True)) == ["5550107777"]
    contact = patient.related_persons.get()
    assert (contact.name, contact.relationship, contact.is_emergency_contact) == (
        "Ade Okafor",
        "spouse",
        True,
    )
    chart = _body(coord_client.get(response["Location"]))
    assert "Registered Maya Okafor with MRN RSH0000001" in chart
    assert "Ade Okafor" in chart


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("birth_date", "2999-01-01", "Birth date is in the future."),
        ("birth_date", "not a date", "Enter a valid date."),
        ("family_name", "", "This field is required."),
        ("email", "maya@", "Enter a valid email address."),
        ("state", "ZZ", "ZZ is not a US state code."),
        ("phone_1", "555", "at least 7 digits"),
        ("preferred_language", "english!", "is not a language code"),
    ],
)
def test_bad_registration_input_is_a_400_on_the_field_and_saves_nothing(coord_client, field, value, message):
    response = coord_client.post(reverse("patients:register"), _registration(**{field: value}))
    assert response.status_code == 400
    body = _body(response)
    assert f'data-testid="error-{field}"' in body
    assert message in body
    assert not Patient.objects.exists()


def test_registration_shows_likely_duplicates_and_registers_only_when_confirmed(
    coord_client, coordinator_actor
):
    existing = make_patient(
        coordinator_actor, given_name="Maya", family_name="Okafor", birth_date=dt.date(1975, 6, 1)
    )
    response = coord_client.post(reverse("patients:register"), _registration(given_name="Mya"))
    assert response.status_code == 409
    body = _body(response)
    assert "1 registered patient looks like the same person. Nothing was saved yet." in body
    assert reverse("patients:chart", args=[existing.pk]) in body
    assert existing.mrn in body
    assert "None of these — register anyway" in body
    assert Patient.objects.count() == 1

    confirmed = coord_client.post(
        reverse("patients:register"), _registration(given_name="Mya", confirm_not_duplicate="on")
    )
    assert confirmed.status_code == 302
    assert Patient.objects.filter(given_name="Mya").exists()


def test_live_duplicate_check_while_filling_the_form(coord_client, patient):
    response = coord_client.post(
        reverse("patients:duplicate_check"),
        {"given_name": "Jose", "family_name": "Alvarez", "birth_date": "1980-02-29"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "may be this person" in _body(response)
    assert patient.mrn in _body(response)
    nothing_yet = coord_client.post(reverse("patients:duplicate_check"), {"given_name": "Jose"}, **HTMX)
    assert nothing_yet.status_code == 200
    assert patient.mrn not in _body(nothing_yet)


def test_front_desk_registers_but_billing_may_not(client_as, make_user, org):
    assert client_as(make_user(Role.FRONT_DESK, org)).get(reverse("patients:register")).status_code == 200
    billing = client_as(make_user(Role.BILLING, org))
    assert billing.get(reverse("patients:register")).status_code == 403
    assert billing.post(reverse("patients:register"), _registration()).status_code == 403
    assert not Patient.objects.exists()


# --- the chart ------------------------------------------------------------------------------------------


def test_chart_shows_demographics_and_every_section(coord_client, coordinator_actor, patient):
    services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="E11.9")
    services.add_allergy(
        actor=coordinator_actor, patient_id=patient.pk, substance="Penicillin", criticality="high"
    )
    services.add_medication(actor=coordinator_actor, patient_id=patient.pk, name="Metformin", dose="500 mg")
    services.add_observation(
        actor=coordinator_actor, patient_id=patient.pk, kind="blood_pressure", value=128, value2=82
    )
    services.add_note(actor=coordinator_actor, patient_id=patient.pk, title="Intake", body="Walks daily.")
    services.upload_document(
        actor=coordinator_actor,
        patient_id=patient.pk,
        title="Referral",
        uploaded_file=upload("r.pdf", PDF_BYTES),
    )
    response = coord_client.get(reverse("patients:chart", args=[patient.pk]))
    assert response.status_code == 200
    body = _body(response)
    for text in [
        "José Álvarez",
        patient.mrn,
        "(555) 010-2345",
        "E11.9",
        "Type 2 diabetes mellitus without complications",
        "Penicillin",
        "Metformin",
        "128/82",
        "mmHg",
        "Intake",
        "Walks daily.",
        "Referral",
    ]:
        assert text in body, text
    assert AuditEvent.objects.filter(action=int(AuditAction.PATIENT_VIEW), patient_id=patient.pk).exists()


def test_another_organizations_patient_is_a_404_everywhere(coord_client, stranger):
    for name in ["chart", "edit", "merge", "add_problem", "add_note"]:
        assert coord_client.get(reverse(f"patients:{name}", args=[stranger.pk])).status_code == 404, name
    response = coord_client.post(
        reverse("patients:add_problem", args=[stranger.pk]),
        {"icd10_code": "E11.9", "clinical_status": "active"},
    )
    assert response.status_code == 404
    assert "Hidden" not in _body(response)
    assert coord_client.get(reverse("patients:chart", args=[999_999])).status_code == 404
    assert not Problem.objects.exists()


def test_front_desk_sees_demographics_and_documents_but_no_clinical_lists(client_as, make_user, org, patient):
    body = _body(client_as(make_user(Role.FRONT_DESK, org)).get(reverse("patients:chart", args=[patient.pk])))
    assert "José Álvarez" in body
    assert "not shown to your role" in body
    assert 'id="documents"' in body
    assert 'id="problems"' not in body


def test_add_problem_through_htmx_shows_it_at_the_top_of_the_list(coord_client, patient):
    response = coord_client.post(
        reverse("patients:add_problem", args=[patient.pk]),
        {"icd10_code": "e119", "description": "", "onset_date": "", "clinical_status": "active"},
        **HTMX,
    )
    assert response.status_code == 200
    body = _body(response)
    assert "<html" not in body
    assert 'hx-swap-oob="afterbegin:#problem-list"' in body
    assert "E11.9" in body
    assert "Added the problem." in body
    problem = Problem.objects.get(patient=patient)
    assert (problem.icd10_code, problem.description) == (
        "E11.9",
        "Type 2 diabetes mellitus without complications",
    )


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_invalid_icd10_code_is_a_clear_400_and_saves_nothing(coord_client, patient, headers):
    response = coord_client.post(
        reverse("patients:add_problem", args=[patient.pk]),
        {"icd10_code": "XYZ.123", "clinical_status": "active"},
        **headers,
    )
    assert response.status_code == 400
    body = _body(response)
    assert 'data-testid="error-icd10_code"' in body
    assert "&#x27;XYZ.123&#x27; is not an ICD-10-CM code." in body
    assert not Problem.objects.exists()


def test_plain_form_post_redirects_back_to_the_section(coord_client, patient):
    response = coord_client.post(
        reverse("patients:add_allergy", args=[patient.pk]), {"substance": "Latex", "criticality": "low"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:chart", args=[patient.pk]) + "#allergies"


def test_implausible_measurement_is_refused_on_its_field(coord_client, patient):
    response = coord_client.post(
        reverse("patients:add_observation", args=[patient.pk]), {"kind": "weight", "value": "7500"}, **HTMX
    )
    assert response.status_code == 400
    assert "outside the plausible range" in _body(response)
    assert 'data-testid="error-value"' in _body(response)
    assert not Observation.objects.exists()
    ok = coord_client.post(
        reverse("patients:add_observation", args=[patient.pk]),
        {"kind": "weight", "value": "72.5", "unit": "kg", "effective_at": "2024-05-01T09:30"},
        **HTMX,
    )
    assert ok.status_code == 200
    assert Observation.objects.get().value == 72.5


def test_adding_to_a_merged_record_is_a_409(coord_client, coordinator_actor, patient):
    keep = make_patient(coordinator_actor, given_name="Keep", family_name="Me")
    services.merge_patients(actor=coordinator_actor, source_id=patient.pk, target_id=keep.pk, reason="dup")
    response = coord_client.post(reverse("patients:add_note", args=[patient.pk]), {"title": "x", "body": "y"})
    assert response.status_code == 409
    assert "was merged into another record" in _body(response)
    assert not Note.objects.exists()
    chart = _body(coord_client.get(reverse("patients:chart", args=[patient.pk])))
    assert 'data-testid="merged-banner"' in chart


def test_billing_may_not_add_to_the_chart(client_as, make_user, org, patient):
    billing = client_as(make_user(Role.BILLING, org))
    response = billing.post(reverse("patients:add_problem", args=[patient.pk]), {"icd10_code": "E11.9"})
    assert response.status_code == 403
    assert not Problem.objects.exists()


# --- documents ------------------------------------------------------------------------------------------


def test_upload_then_download_a_document(coord_client, patient):
    response = coord_client.post(
        reverse("patients:add_document", args=[patient.pk]),
        {"title": "Discharge letter", "uploaded_file": upload("letter.pdf", PDF_BYTES)},
        **HTMX,
    )
    assert response.status_code == 200
    document = Document.objects.get()
    assert (document.content_type, document.original_filename) == ("application/pdf", "letter.pdf")
    download = coord_client.get(reverse("patients:download_document", args=[document.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    assert download["Content-Type"] == "application/pdf"
    assert 'attachment; filename="letter.pdf"' in download["Content-Disposition"]
    assert AuditEvent.objects.filter(action=int(AuditAction.DOCUMENT_DOWNLOAD)).count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.exe", b"MZ....", "are not accepted"),
        ("fake.pdf", b"hello, not a pdf", "is not application/pdf"),
        ("big.txt", b"x" * 2048, "larger than"),
    ],
)
def test_refused_uploads_say_why_and_store_nothing(coord_client, patient, settings, name, content, message):
    settings.CAREDESK_DOCUMENT_MAX_BYTES = 1024
    response = coord_client.post(
        reverse("patients:add_document", args=[patient.pk]),
        {"title": "Scan", "uploaded_file": upload(name, content)},
        **HTMX,
    )
    assert response.status_code == 400
    assert message in _body(response)
    assert 'data-testid="error-uploaded_file"' in _body(response)
    assert not Document.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_another_organizations_document_is_a_404(coord_client, make_user, other_org, actor_of, stranger):
    actor = actor_of(make_user(Role.COORDINATOR, other_org))
    document = services.upload_document(
        actor=actor, patient_id=stranger.pk, title="Private", uploaded_file=upload("p.pdf", PDF_BYTES)
    )
    assert coord_client.get(reverse("patients:download_document", args=[document.pk])).status_code == 404


# --- corrections, retractions, history -------------------------------------------------------------------


def test_correct_a_problem_keeps_the_original_and_the_history_shows_who_changed_it(
    client_as, make_user, org, coordinator_actor, patient
):
    problem = services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="E11.9")
    nurse = make_user(Role.NURSE, org, username="nina")
    client = client_as(nurse)
    url = reverse("patients:correct_entry", args=["problem", problem.pk])

    form = client.get(url, **HTMX)
    assert form.status_code == 200
    assert 'value="E11.9"' in _body(form)

    response = client.post(
        url,
        {
            "icd10_code": "E10.9",
            "initial-icd10_code": "E11.9",
            "description": problem.description,
            "initial-description": problem.description,
            "onset_date": "",
            "initial-onset_date": "",
            "clinical_status": "active",
            "initial-clinical_status": "active",
            "reason": "Type 1, not type 2",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#problem-{problem.pk}"
    body = _body(response)
    assert "E10.9" in body
    assert "Type 1 diabetes mellitus without complications" in body  # the new code's title
    problem.refresh_from_db()
    assert problem.status == EntryStatus.SUPERSEDED
    assert problem.icd10_code == "E11.9"
    corrected = Problem.objects.get(supersedes=problem)

    history = client.get(reverse("patients:entry_history", args=["problem", corrected.pk]), **HTMX)
    assert history.status_code == 200
    text = _body(history)
    assert "Original" in text
    assert "E11.9" in text
    assert "E10.9" in text
    assert "Corrected by Nina Tester" in text
    assert "Type 1, not type 2" in text

    chart = _body(client.get(reverse("patients:chart", args=[patient.pk])))
    assert "E10.9" in chart
    assert f'id="problem-{problem.pk}"' not in chart


def test_a_correction_that_changes_nothing_or_has_no_reason_is_a_400(
    coord_client, coordinator_actor, patient
):
    allergy = services.add_allergy(actor=coordinator_actor, patient_id=patient.pk, substance="Latex")
    url = reverse("patients:correct_entry", args=["allergy", allergy.pk])
    same = {
        "substance": "Latex",
        "initial-substance": "Latex",
        "reaction": "",
        "initial-reaction": "",
        "criticality": "low",
        "initial-criticality": "low",
    }
    nothing = coord_client.post(url, {**same, "reason": "typo"}, **HTMX)
    assert nothing.status_code == 400
    assert "The correction changes nothing." in _body(nothing)
    no_reason = coord_client.post(url, {**same, "substance": "Latex gloves", "reason": ""}, **HTMX)
    assert no_reason.status_code == 400
    assert 'data-testid="error-reason"' in _body(no_reason)
    assert allergy.__class__.objects.count() == 1


def test_correcting_an_old_version_is_a_409(coord_client, coordinator_actor, patient):
    note = services.add_note(actor=coordinator_actor, patient_id=patient.pk, title="Visit", body="ok")
    services.correct_entry(
        actor=coordinator_actor, entry_type="note", entry_id=note.pk, changes={"body": "fine"}, reason="r"
    )
    url = reverse("patients:correct_note", args=[note.pk])
    assert coord_client.get(url, **HTMX).status_code == 409
    response = coord_client.post(
        url,
        {"title": "Visit", "initial-title": "Visit", "body": "x", "initial-body": "ok", "reason": "r"},
        **HTMX,
    )
    assert response.status_code == 409
    assert "only the current version can be corrected" in _body(response)
    assert Note.objects.count() == 2


def test_retract_takes_the_entry_off_the_chart_but_keeps_it(coord_client, coordinator_actor, patient):
    medication = services.add_medication(actor=coordinator_actor, patient_id=patient.pk, name="Aspirin")
    url = reverse("patients:retract_entry", args=["medication", medication.pk])
    assert coord_client.post(url, {"reason": ""}, **HTMX).status_code == 400
    response = coord_client.post(url, {"reason": "Wrong patient"}, **HTMX)
    assert response.status_code == 200
    assert "marked entered in error (Wrong patient)" in _body(response)
    medication.refresh_from_db()
    assert medication.status == EntryStatus.ENTERED_IN_ERROR
    chart = _body(coord_client.get(reverse("patients:chart", args=[patient.pk])))
    assert "Aspirin" not in chart
    assert "marked entered in error" in chart  # the counts line
    history = _body(coord_client.get(reverse("patients:entry_history", args=["medication", medication.pk])))
    assert "Aspirin" in history
    assert "Wrong patient" in history


def test_retract_a_document(coord_client, coordinator_actor, patient):
    document = services.upload_document(
        actor=coordinator_actor, patient_id=patient.pk, title="Scan", uploaded_file=upload("s.pdf", PDF_BYTES)
    )
    response = coord_client.post(reverse("patients:retract_document", args=[document.pk]), {"reason": "Dup"})
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == EntryStatus.ENTERED_IN_ERROR


def test_entries_of_another_organization_are_404_for_every_action(
    coord_client, make_user, other_org, actor_of, stranger
):
    actor = actor_of(make_user(Role.COORDINATOR, other_org))
    problem = services.add_problem(actor=actor, patient_id=stranger.pk, icd10_code="I10")
    for name in ["correct_entry", "retract_entry", "entry_history"]:
        url = reverse(f"patients:{name}", args=["problem", problem.pk])
        assert coord_client.get(url).status_code == 404, name
    response = coord_client.post(
        reverse("patients:retract_entry", args=["problem", problem.pk]), {"reason": "mine now"}
    )
    assert response.status_code == 404
    problem.refresh_from_db()
    assert problem.status == EntryStatus.CURRENT


# --- editing demographics -----------------------------------------------------------------------------------


def _edit_data(client, patient_pk, **changes):
    """The edit form as the page rendered it (with its hidden initial values), then `changes` typed in."""
    form = client.get(reverse("patients:edit", args=[patient_pk])).context["form"]
    data = {}
    for field in form:
        value = field.value()
        if value is None or value is False:
            value = ""
        elif value is True:
            value = "on"
        data[field.html_name] = str(value)
        if field.field.show_hidden_initial:
            data[field.html_initial_name] = field.field.widget.format_value(field.initial) or ""
            if isinstance(field.initial, bool):
                data[field.html_initial_name] = str(field.initial)
    data.update(changes)
    return data


def test_edit_demographics_saves_only_what_changed(coord_client, patient):
    data = _edit_data(coord_client, patient.pk, city="Troy", phone_1="518-555-0100", sms_allowed="on")
    response = coord_client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.city, patient.sms_allowed, patient.version) == ("Troy", True, 2)
    assert list(patient.telecoms.values_list("value", flat=True)) == ["518-555-0100"]
    [row] = AuditEvent.objects.filter(action=int(AuditAction.PATIENT_UPDATE))
    assert set(row.detail["changed"]) == {"city", "sms_allowed", "telecoms"}


def test_saving_an_unchanged_form_changes_nothing(coord_client, patient):
    response = coord_client.post(
        reverse("patients:edit", args=[patient.pk]), _edit_data(coord_client, patient.pk)
    )
    assert response.status_code == 302
    assert "Nothing was changed." in _body(coord_client.get(response["Location"]))
    patient.refresh_from_db()
    assert patient.version == 1
    assert not AuditEvent.objects.filter(action=int(AuditAction.PATIENT_UPDATE)).exists()


def test_a_stale_edit_shows_a_conflict_and_overwrites_nothing(coord_client, coordinator_actor, patient):
    data = _edit_data(coord_client, patient.pk, given_name="Joe")
    services.update_patient(
        actor=coordinator_actor, patient_id=patient.pk, changes={"city": "Utica"}, expected_version=1
    )
    response = coord_client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 409
    body = _body(response)
    assert 'data-testid="stale-version"' in body
    assert "Someone else changed this patient since you opened it" in body
    patient.refresh_from_db()
    assert (patient.given_name, patient.city, patient.version) == ("José", "Utica", 2)


def test_bad_edit_is_a_400_on_the_field(coord_client, patient):
    data = _edit_data(coord_client, patient.pk, birth_date="2999-01-01")
    response = coord_client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 400
    assert "Birth date is in the future." in _body(response)
    patient.refresh_from_db()
    assert patient.version == 1


# --- merging ----------------------------------------------------------------------------------------------


def test_merge_a_duplicate_into_the_record_to_keep(coord_client, coordinator_actor, patient):
    services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="I10")
    keep = make_patient(coordinator_actor, given_name="Jose", family_name="Alvarez")
    page = coord_client.get(reverse("patients:merge", args=[patient.pk]))
    assert page.status_code == 200
    response = coord_client.post(
        reverse("patients:merge", args=[patient.pk]),
        {"target": f" {keep.mrn.lower()} ", "reason": "Same person, registered twice", "confirm": "on"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:chart", args=[keep.pk])
    patient.refresh_from_db()
    assert (patient.status, patient.merged_into_id) == (PatientStatus.MERGED, keep.pk)
    assert Problem.objects.get().patient_id == keep.pk


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"target": "RSH9999999", "reason": "dup", "confirm": "on"}, "no patient with this MRN"),
        ({"target": "SELF", "reason": "dup", "confirm": "on"}, "cannot be merged into itself"),
        ({"target": "OTHER", "reason": "", "confirm": "on"}, "This field is required."),
        ({"target": "OTHER", "reason": "dup"}, "Tick the box"),
    ],
)
def test_refused_merges_say_why_and_change_nothing(coord_client, coordinator_actor, patient, data, message):
    other = make_patient(coordinator_actor, given_name="Other", family_name="Person")
    data = {**data, "target": {"SELF": patient.mrn, "OTHER": other.mrn}.get(data["target"], data["target"])}
    response = coord_client.post(reverse("patients:merge", args=[patient.pk]), data)
    assert response.status_code == 400
    assert message in _body(response)
    assert not Patient.objects.filter(status=PatientStatus.MERGED).exists()


def test_merging_needs_the_merge_permission(client_as, make_user, org, coordinator_actor, patient, stranger):
    other = make_patient(coordinator_actor, given_name="Other", family_name="Person")
    nurse = client_as(make_user(Role.NURSE, org))
    response = nurse.post(
        reverse("patients:merge", args=[patient.pk]), {"target": other.mrn, "reason": "x", "confirm": "on"}
    )
    assert response.status_code == 403
    coordinator = client_as(make_user(Role.COORDINATOR, org))
    into_stranger = coordinator.post(
        reverse("patients:merge", args=[patient.pk]), {"target": stranger.mrn, "reason": "x", "confirm": "on"}
    )
    assert into_stranger.status_code == 400  # not found among the organization's patients
    assert not Patient.objects.filter(status=PatientStatus.MERGED).exists()


# --- portal ----------------------------------------------------------------------------------------------


def test_portal_user_sees_only_their_own_summary(client_as, coordinator_actor, patient):
    services.add_problem(actor=coordinator_actor, patient_id=patient.pk, icd10_code="J45.909")
    services.add_note(actor=coordinator_actor, patient_id=patient.pk, title="Staff only", body="Private note")
    own = services.upload_document(
        actor=coordinator_actor,
        patient_id=patient.pk,
        title="Results",
        uploaded_file=upload("r.pdf", PDF_BYTES),
    )
    someone_else = make_patient(coordinator_actor, given_name="Neighbour", family_name="Next")
    theirs = services.upload_document(
        actor=coordinator_actor,
        patient_id=someone_else.pk,
        title="Theirs",
        uploaded_file=upload("t.pdf", PDF_BYTES),
    )
    client = client_as(portal_user_for(patient))

    response = client.get(reverse("patients:portal_home"))
    assert response.status_code == 200
    body = _body(response)
    assert "José Álvarez" in body
    assert "J45.909" in body
    assert "Results" in body
    assert "Private note" not in body
    assert "Neighbour" not in body
    assert "My record" in body

    assert client.get(reverse("patients:portal_document", args=[own.pk])).status_code == 200
    assert client.get(reverse("patients:portal_document", args=[theirs.pk])).status_code == 404
    for url in [
        reverse("patients:search"),
        reverse("patients:chart", args=[patient.pk]),
        reverse("patients:chart", args=[someone_else.pk]),
        reverse("patients:register"),
        reverse("patients:download_document", args=[own.pk]),
        reverse("patients:add_problem", args=[patient.pk]),
    ]:
        assert client.get(url).status_code == 403, url


def test_staff_have_no_portal(coord_client):
    assert coord_client.get(reverse("patients:portal_home")).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, patient):
    response = client.get(reverse("patients:chart", args=[patient.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))

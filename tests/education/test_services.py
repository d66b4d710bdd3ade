"""Patient-education use cases: the library, assigning by hand and from a care plan, deliveries (printed,
portal, e-mail with consent), refusals that change nothing, and the audit trail."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.careplans import services as careplan_services
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.education import selectors, services
from caredesk.education.errors import AlreadyAssigned, CannotDeliver, MaterialExists, MaterialNotFound
from caredesk.education.models import Assignment, Delivery, Material
from caredesk.patients import services as patient_services
from caredesk.patients.errors import PatientNotFound
from tests.patients.factories import make_patient

from .conftest import add

pytestmark = pytest.mark.django_db


def test_a_material_keeps_its_codes_language_and_source(coord):
    material = services.add_material(
        actor=coord,
        title="Before your colonoscopy",
        language="en",
        reading_level="standard",
        source="Caredesk test authors",
        condition_codes="z12.11",
        procedure_codes="45378, g0121",
        body="Drink only clear liquids the day before.",
    )
    assert material.condition_codes == ["Z1211"]
    assert material.procedure_codes == ["45378", "G0121"]
    assert AuditEvent.objects.filter(
        action=AuditAction.EDUCATION_MATERIAL_CREATE, object_id=str(material.pk)
    ).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"condition_codes": "", "procedure_codes": ""}, "condition_codes"),
        ({"condition_codes": "sugar"}, "condition_codes"),
        ({"body": ""}, "body"),
        ({"language": "xx"}, "language"),
        ({"source": " "}, "source"),
    ],
)
def test_a_material_that_says_too_little_is_refused(coord, changes, field):
    data = {
        "title": "Sugar",
        "language": "en",
        "reading_level": "easy",
        "source": "Us",
        "condition_codes": "E11",
        "body": "Text",
        **changes,
    }
    with pytest.raises(ValidationFailed) as refused:
        services.add_material(actor=coord, **data)
    assert refused.value.field == field
    assert not Material.objects.exists()


def test_one_title_per_language(coord):
    add(coord, "Diabetes basics")
    add(coord, "Diabetes basics", language="es")
    with pytest.raises(MaterialExists):
        add(coord, "Diabetes basics")


def test_a_pdf_handout_is_checked_by_content(coord, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    material = services.add_material(
        actor=coord,
        title="Inhaler technique",
        language="en",
        reading_level="easy",
        source="Us",
        condition_codes="J45",
        uploaded_file=SimpleUploadedFile("inhaler.pdf", b"%PDF-1.4 tiny"),
    )
    assert material.file.read() == b"%PDF-1.4 tiny"
    assert material.original_filename == "inhaler.pdf"
    with pytest.raises(ValidationFailed, match="not a PDF"):
        services.add_material(
            actor=coord,
            title="Fake",
            language="en",
            reading_level="easy",
            source="Us",
            condition_codes="J45",
            uploaded_file=SimpleUploadedFile("fake.pdf", b"MZ not a pdf"),
        )


def test_only_library_keepers_add_materials(front_desk):
    with pytest.raises(Forbidden):
        add(front_desk, "Anything")


def test_assigning_by_hand_once(coord, patient, library):
    assignment = services.assign_material(
        actor=coord, patient_id=patient.pk, material_id=library["diabetes_en"].pk, note="Asked for English"
    )
    assert assignment.source == "manual"
    assert assignment.assigned_by_name
    with pytest.raises(AlreadyAssigned):
        services.assign_material(actor=coord, patient_id=patient.pk, material_id=library["diabetes_en"].pk)
    assert Assignment.objects.count() == 1
    assert AuditEvent.objects.filter(
        action=AuditAction.EDUCATION_ASSIGNMENT_CREATE, patient_id=patient.pk
    ).exists()


def test_another_organizations_material_or_patient_is_not_found(coord, stranger, patient, library):
    foreign = add(stranger, "Their handout")
    with pytest.raises(MaterialNotFound):
        services.assign_material(actor=coord, patient_id=patient.pk, material_id=foreign.pk)
    with pytest.raises(PatientNotFound):
        services.assign_material(actor=stranger, patient_id=patient.pk, material_id=foreign.pk)
    assert not Assignment.objects.exists()


def test_a_care_plan_assigns_its_education_in_the_patients_language(coord, patient, library):
    make = make_patient(coord, given_name="Vo", family_name="Viet", preferred_language="vi")
    plan = careplan_services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    activity = plan.activities.get(kind="education")
    assert activity.education_material_id == library["diabetes_es"].pk  # Spanish, easiest first
    assignment = Assignment.objects.get(patient=patient)
    assert assignment.source == "care_plan"
    assert assignment.source_ref == f"careplans.activity:{activity.pk}"

    # No Vietnamese material: English, the easy one before the detailed one.
    other = careplan_services.create_plan(actor=coord, patient_id=make.pk, template_code="diabetes")
    assert other.activities.get(kind="education").education_material_id == library["diabetes_en"].pk


def test_a_care_plan_without_a_fitting_material_assigns_nothing(coord, patient, library):
    plan = careplan_services.create_plan(actor=coord, patient_id=patient.pk, template_code="copd")
    assert plan.activities.get(kind="education").education_material_id is None
    assert not Assignment.objects.exists()


def test_a_care_plan_reuses_a_material_already_assigned(coord, patient, library):
    services.assign_material(actor=coord, patient_id=patient.pk, material_id=library["diabetes_es"].pk)
    careplan_services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    assert Assignment.objects.filter(patient=patient).count() == 1


def test_printed_and_portal_deliveries_are_recorded(coord, patient, library):
    assignment = services.assign_material(
        actor=coord, patient_id=patient.pk, material_id=library["heart_en"].pk
    )
    services.record_delivery(actor=coord, assignment_id=assignment.pk, method="printed")
    services.record_delivery(
        actor=coord, assignment_id=assignment.pk, method="portal", note="Asked for it online"
    )
    assert list(assignment.deliveries.values_list("method", flat=True)) == ["printed", "portal"]
    assert (
        AuditEvent.objects.filter(action=AuditAction.EDUCATION_DELIVERY_CREATE, patient_id=patient.pk).count()
        == 2
    )
    assert not mail.outbox


def test_an_email_goes_out_after_commit_to_the_patients_address(
    coord, patient, library, django_capture_on_commit_callbacks
):
    assignment = services.assign_material(
        actor=coord, patient_id=patient.pk, material_id=library["diabetes_es"].pk
    )
    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.record_delivery(actor=coord, assignment_id=assignment.pk, method="email")
    assert delivery.email_to == "elena@example.org"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["elena@example.org"]
    assert "Diabetes: lo básico" in message.subject
    assert "check your sugar" in message.body
    assert "Caredesk test authors" in message.body


def test_no_email_without_consent_or_address(
    coord, other_patient, library, django_capture_on_commit_callbacks
):
    assignment = services.assign_material(
        actor=coord, patient_id=other_patient.pk, material_id=library["diabetes_en"].pk
    )
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CannotDeliver):
        services.record_delivery(actor=coord, assignment_id=assignment.pk, method="email")
    assert not Delivery.objects.exists()
    assert not mail.outbox


def test_a_patient_education_view_suggests_what_fits_and_is_audited(coord, patient, library):
    patient_services.add_problem(actor=coord, patient_id=patient.pk, icd10_code="I50.9")
    found = selectors.patient_education(actor=coord, patient_id=patient.pk)
    # Only the heart-failure material fits the patient's problems (Spanish first, then English).
    assert [m.title for m in found.suggestions] == ["Heart failure basics"]
    assert AuditEvent.objects.filter(action=AuditAction.EDUCATION_VIEW, patient_id=patient.pk).exists()

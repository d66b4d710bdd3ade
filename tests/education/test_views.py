"""The education pages as staff and patients see them: the library (and adding to it), a patient's
materials (assign, deliver, refusals), the printable handout, and the portal, where a patient sees only
their own materials, and only those shared in the portal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.education import services
from caredesk.education.models import Assignment, Delivery, Material
from tests.patients.factories import portal_user_for
from tests.worklist.conftest import staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client_as, coordinator_user):
    return client_as(coordinator_user)


def test_the_library_lists_and_filters_materials(browser, library):
    page = browser.get(reverse("education:library")).content.decode()
    assert "Diabetes basics" in page
    assert "Heart failure basics" in page
    spanish = browser.get(reverse("education:library"), {"language": "es"}).content.decode()
    assert "Diabetes: lo básico" in spanish
    assert "Heart failure basics" not in spanish
    by_code = browser.get(reverse("education:library"), {"code": "I50.9"}).content.decode()
    assert "Heart failure basics" in by_code
    assert "Diabetes basics" not in by_code


def test_adding_a_material_from_the_library_page(browser):
    answer = browser.post(
        reverse("education:add_material"),
        {
            "title": "Low-salt eating",
            "condition_codes": "I10",
            "language": "en",
            "reading_level": "easy",
            "body": "Cook at home.",
            "source": "Our nurses",
        },
    )
    material = Material.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("education:material", args=[material.pk])
    bad = browser.post(
        reverse("education:add_material"),
        {"title": "No codes", "language": "en", "reading_level": "easy", "body": "x", "source": "Us"},
    )
    assert bad.status_code == 400
    assert "Name at least one condition or procedure code." in bad.content.decode()
    assert Material.objects.count() == 1


def test_assigning_and_delivering_from_the_patient_page(browser, patient, library):
    page = browser.get(reverse("education:patient", args=[patient.pk])).content.decode()
    assert "No materials assigned yet." in page
    answer = browser.post(
        reverse("education:assign", args=[patient.pk]), {"material": library["diabetes_es"].pk, "note": ""}
    )
    assert answer.status_code == 302
    assignment = Assignment.objects.get()
    again = browser.post(
        reverse("education:assign", args=[patient.pk]), {"material": library["diabetes_es"].pk}
    )
    assert again.status_code == 409
    assert "already assigned" in again.content.decode()
    delivered = browser.post(
        reverse("education:deliver", args=[assignment.pk]), {f"d{assignment.pk}-method": "printed"}
    )
    assert delivered.status_code == 302
    page = browser.get(reverse("education:patient", args=[patient.pk])).content.decode()
    assert "Printed and handed over" in page
    assert Delivery.objects.filter(assignment=assignment, method="printed").exists()


def test_an_email_without_consent_is_refused_on_the_form(browser, coord, other_patient, library):
    assignment = services.assign_material(
        actor=coord, patient_id=other_patient.pk, material_id=library["heart_en"].pk
    )
    answer = browser.post(
        reverse("education:deliver", args=[assignment.pk]), {f"d{assignment.pk}-method": "email"}
    )
    assert answer.status_code == 400
    assert "no e-mail address" in answer.content.decode()
    assert not Delivery.objects.exists()


def test_the_printable_handout_names_the_patient_and_the_source(browser, coord, patient, library):
    assignment = services.assign_material(
        actor=coord, patient_id=patient.pk, material_id=library["diabetes_es"].pk
    )
    page = browser.get(reverse("education:handout", args=[assignment.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Lectora" in html
    assert "Source: Caredesk test authors" in html
    assert "data-print" in html
    assert AuditEvent.objects.filter(
        action=AuditAction.EDUCATION_HANDOUT_VIEW, patient_id=patient.pk
    ).exists()


def test_another_organization_sees_none_of_it(client_as, other_org, coord, patient, library):
    assignment = services.assign_material(
        actor=coord, patient_id=patient.pk, material_id=library["heart_en"].pk
    )
    them = client_as(staff_user(other_org, Role.COORDINATOR, "ed-them"))
    assert them.get(reverse("education:patient", args=[patient.pk])).status_code == 404
    assert them.get(reverse("education:handout", args=[assignment.pk])).status_code == 404
    assert them.get(reverse("education:material", args=[library["heart_en"].pk])).status_code == 404
    assert "Heart failure basics" not in them.get(reverse("education:library")).content.decode()


def test_the_portal_shows_a_patient_only_their_own_materials_shared_in_the_portal(
    client_as, coord, patient, other_patient, library
):
    mine_printed = services.assign_material(
        actor=coord, patient_id=patient.pk, material_id=library["heart_en"].pk
    )
    services.record_delivery(actor=coord, assignment_id=mine_printed.pk, method="printed")
    mine_shared = services.assign_material(
        actor=coord, patient_id=patient.pk, material_id=library["diabetes_es"].pk
    )
    services.record_delivery(actor=coord, assignment_id=mine_shared.pk, method="portal")
    theirs = services.assign_material(
        actor=coord, patient_id=other_patient.pk, material_id=library["diabetes_en"].pk
    )
    services.record_delivery(actor=coord, assignment_id=theirs.pk, method="portal")

    portal = client_as(portal_user_for(patient))
    listing = portal.get(reverse("education:mine")).content.decode()
    assert "Diabetes: lo básico" in listing
    assert "Heart failure basics" not in listing  # printed only, never shared in the portal
    assert "Diabetes basics" not in listing  # another patient's
    assert portal.get(reverse("education:my_handout", args=[mine_shared.pk])).status_code == 200
    assert portal.get(reverse("education:my_handout", args=[mine_printed.pk])).status_code == 404
    assert portal.get(reverse("education:my_handout", args=[theirs.pk])).status_code == 404
    # Staff pages stay closed to the portal user.
    assert portal.get(reverse("education:handout", args=[theirs.pk])).status_code == 403
    assert AuditEvent.objects.filter(
        action=AuditAction.EDUCATION_HANDOUT_VIEW, patient_id=patient.pk, detail__view="portal"
    ).exists()


def test_the_chart_links_to_patient_education(browser, patient):
    page = browser.get(reverse("patients:chart", args=[patient.pk])).content.decode()
    assert reverse("education:patient", args=[patient.pk]) in page

"""Discharge planning in a real browser: a coordinator opens a discharged encounter, ticks checklist items
(htmx, progress moves), assigns an education handout and records it printed, then opens the printable
transfer summary."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from caredesk.accounts.models import Organization
from caredesk.education.models import Assignment, Material
from caredesk.patients.models import Patient
from caredesk.transitions import services as transitions
from caredesk.transitions.models import ChecklistItem, Encounter
from caredesk.transitions.schemas import AdtEvent, ExternalId, MessageHeader, PersonData, VisitData

pytestmark = pytest.mark.e2e


def _discharge_from_hospital() -> tuple[Encounter, Patient]:
    organization = Organization.objects.get(short_code="RSH")
    patient = Patient.objects.filter(organization=organization, status="active").order_by("pk").first()
    assert patient is not None
    discharged = dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)
    event = AdtEvent(
        header=MessageHeader(sender="ADT1|GHH", control_id="E2E-A03", message_type="ADT", trigger="A03"),
        person=PersonData(
            identifiers=(ExternalId(patient.mrn, organization.short_code, "MR"),),
            family_name=patient.family_name,
            given_name=patient.given_name,
            birth_date=patient.birth_date,
        ),
        visit=VisitData(
            visit_number="E2E-V1",
            patient_class="I",
            facility="GHH",
            admit_at=discharged - dt.timedelta(days=3),
            discharge_at=discharged,
            disposition_code="01",
        ),
    )
    receipt = transitions.receive_message(
        actor=transitions.feed_actor(organization_id=organization.pk),
        header=event.header,
        raw="MSH|^~\\&|ADT1|GHH|CAREDESK|RSH|||ADT^A03|E2E-A03|P|2.5.1",
        event=event,
    )
    assert receipt.ack_code == "AA"
    return Encounter.objects.get(visit_number="E2E-V1"), patient


def _unassigned_handout(patient: Patient) -> str:
    """A demo handout the patient does not have yet (a care plan may have assigned one already)."""
    assigned = set(Assignment.objects.filter(patient=patient).values_list("material__title", flat=True))
    titles = Material.objects.filter(organization_id=patient.organization_id).order_by("pk")
    return next(t for t in titles.values_list("title", flat=True) if t not in assigned)


def test_coordinator_plans_a_discharge(page: Page, sign_in) -> None:
    encounter, patient = _discharge_from_hospital()
    handout = _unassigned_handout(patient)
    sign_in("coordinator")
    page.goto("/transitions/")
    row = page.get_by_test_id("encounter-row").filter(has_text=f"{patient.family_name}, {patient.given_name}")
    row.get_by_role("link").first.click()
    checklist = page.get_by_test_id("discharge-checklist")
    expect(checklist).to_be_visible()
    expect(page.get_by_test_id("checklist-progress")).to_have_text("0 of 5 done")

    # Medications reconciled: done, with a note (htmx swaps the section in place).
    medications = page.get_by_test_id("checklist-medications")
    medications.get_by_label("Note").fill("Reviewed with the pharmacist")
    medications.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("checklist-progress")).to_have_text("1 of 5 done")
    expect(page.get_by_test_id("checklist-medications").get_by_test_id("checklist-status")).to_have_text(
        "Done"
    )
    expect(page.get_by_test_id("checklist-medications")).to_contain_text("Reviewed with the pharmacist")

    # Equipment: "not needed" without a reason is refused on the item; with one it counts.
    equipment = page.get_by_test_id("checklist-equipment")
    equipment.get_by_role("button", name="Not needed").click()
    expect(page.get_by_test_id("checklist-equipment")).to_contain_text("Say why the item is not needed.")
    expect(page.get_by_test_id("checklist-progress")).to_have_text("1 of 5 done")
    page.get_by_test_id("checklist-equipment").get_by_label("Note").fill("Walks unaided")
    page.get_by_test_id("checklist-equipment").get_by_role("button", name="Not needed").click()
    expect(page.get_by_test_id("checklist-progress")).to_have_text("2 of 5 done")

    # Education: assign a handout on the patient's education page and record it printed.
    page.get_by_test_id("education-page-link").click()
    expect(page).to_have_url(re.compile(rf"/education/patients/{patient.pk}/$"))
    option = page.get_by_label("Material").locator("option", has_text=handout).first
    page.get_by_label("Material").select_option(option.get_attribute("value"))
    page.get_by_role("button", name="Assign").click()
    assignment = page.get_by_test_id("assignment").filter(has_text=handout)
    expect(assignment).to_have_count(1)
    assignment.get_by_label("How").select_option("printed")
    assignment.get_by_role("button", name="Record delivery").click()
    expect(page.get_by_test_id("assignment").filter(has_text=handout)).to_contain_text(
        "Printed and handed over"
    )
    page.get_by_test_id("assignment").filter(has_text=handout).get_by_test_id("handout-link").click()
    expect(page.get_by_test_id("handout-source")).to_contain_text("Caredesk authors")

    page.goto(f"/transitions/encounters/{encounter.pk}/")
    education = page.get_by_test_id("checklist-education")
    expect(education).to_contain_text(handout)
    education.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("checklist-progress")).to_have_text("3 of 5 done")

    # The printable summary.
    page.get_by_test_id("summary-link").click()
    expect(page.get_by_test_id("transfer-summary")).to_be_visible()
    expect(page.get_by_test_id("summary-patient")).to_have_text(patient.full_name)
    expect(page.get_by_test_id("summary-education")).to_contain_text(handout)
    expect(page.get_by_test_id("summary-checklist")).to_contain_text("Medications reconciled: Done")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    assert ChecklistItem.objects.filter(encounter=encounter).count() == 3

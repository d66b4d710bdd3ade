"""The coordinator's path through the patient pages in a real browser: sign in, search, open the chart,
add a problem, be told clearly when a code is wrong; then correct an entry and read its history."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from caredesk.accounts.models import User
from caredesk.accounts.services import actor_for_user
from caredesk.patients import services
from caredesk.patients.models import Patient, Problem
from tests.patients.factories import PatientInputFactory

pytestmark = pytest.mark.e2e


def _register_zoe() -> Patient:
    coordinator = User.objects.get(username="coordinator")
    return services.register_patient(
        actor=actor_for_user(coordinator),
        data=PatientInputFactory.build(
            given_name="Zoë", family_name="Ångström", birth_date=dt.date(1971, 4, 12)
        ),
        confirm_not_duplicate=True,
    )


def _open_chart(page: Page, search_text: str) -> None:
    if not page.url.endswith("/patients/"):
        page.goto("/patients/")
    page.get_by_label("Name, birth date, MRN or phone").fill(search_text)
    row = page.get_by_test_id("patient-row").filter(has_text="Ångström, Zoë")
    expect(row).to_have_count(1)  # live results, as typed (no accents, lower case)
    row.get_by_role("link", name="Ångström, Zoë").click()
    expect(page.get_by_test_id("patient-name")).to_contain_text("Zoë Ångström")


def test_coordinator_adds_a_problem_and_an_invalid_code_saves_nothing(page: Page, sign_in) -> None:
    patient = _register_zoe()
    sign_in("coordinator")
    expect(page).to_have_url(re.compile(r"/worklist/$"))  # the coordinator's home page
    expect(page.get_by_test_id("whoami")).to_contain_text("Care coordinator")

    _open_chart(page, "angstr")

    problems = page.locator("#problems")
    problems.get_by_text("Add a problem").click()
    code = problems.get_by_label("ICD-10-CM code")
    code.fill("j45909")
    problems.get_by_role("button", name="Add problem").click()
    entry = problems.get_by_test_id("problem-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("J45.909")
    expect(entry).to_contain_text("Unspecified asthma, uncomplicated")
    assert Problem.objects.filter(patient=patient).count() == 1

    problems.get_by_label("ICD-10-CM code").fill("XYZ.123")
    problems.get_by_role("button", name="Add problem").click()
    error = problems.get_by_test_id("error-icd10_code")
    expect(error).to_have_text("'XYZ.123' is not an ICD-10-CM code.")
    expect(problems.get_by_label("ICD-10-CM code")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(entry).to_have_count(1)
    assert Problem.objects.filter(patient=patient).count() == 1

    page.reload()
    expect(page.locator("#problems").get_by_test_id("problem-entry")).to_have_count(1)
    expect(page.locator("#problems")).not_to_contain_text("XYZ")


def test_correction_keeps_the_original_in_the_history(page: Page, sign_in) -> None:
    patient = _register_zoe()
    coordinator = User.objects.get(username="coordinator")
    problem = services.add_problem(
        actor=actor_for_user(coordinator), patient_id=patient.pk, icd10_code="E11.9"
    )
    sign_in("coordinator")
    _open_chart(page, "zoe angs")

    entry = page.locator(f"#problem-{problem.pk}")
    entry.get_by_test_id("correct").click()
    entry.get_by_label("ICD-10-CM code").fill("E10.9")
    entry.get_by_label("Reason for the correction").fill("Type 1, not type 2")
    entry.get_by_role("button", name="Save correction").click()

    corrected = page.locator("#problems").get_by_test_id("problem-entry")
    expect(corrected).to_have_count(1)
    expect(corrected).to_contain_text("E10.9")
    expect(corrected).to_contain_text("Type 1 diabetes mellitus without complications")
    expect(corrected).to_contain_text("Corrected by Camila Ortiz")

    corrected.get_by_test_id("history").click()
    versions = corrected.get_by_test_id("history-version")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("Original")
    expect(versions.first).to_contain_text("E11.9")
    expect(versions.last).to_contain_text("Type 1, not type 2")
    problem.refresh_from_db()
    assert problem.status == "superseded"

"""The coverage pages as the front desk uses them: add, check, read the answer, end; bad input shows on
the form with its status and saves nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.coverage import services
from caredesk.coverage.models import Coverage, EligibilityCheck
from caredesk.coverage.schemas import CoverageInput
from tests.conftest import sign_in


@pytest.fixture
def desk(clinic, make_user, client):
    user = make_user(Role.FRONT_DESK, clinic.org)
    return sign_in(client, user)


def _form(clinic, **fields) -> dict[str, str]:
    data = {
        "plan": str(clinic.instant_plan.pk),
        "order": "1",
        "member_id": "W123456789",
        "group_number": "GRP-42",
        "relationship": "self",
        "effective_from": "2024-01-01",
    }
    data.update(fields)
    return data


def test_chart_links_to_insurance(clinic, desk):
    page = desk.get(f"/patients/{clinic.patient.pk}/")
    assert f'href="/coverage/patients/{clinic.patient.pk}/"' in page.content.decode()


def test_add_check_and_read_in_plain_words(clinic, desk, django_capture_on_commit_callbacks):
    page = desk.get(f"/coverage/patients/{clinic.patient.pk}/")
    assert page.status_code == 200
    assert "No active coverage on file" in page.content.decode()
    response = desk.post(f"/coverage/patients/{clinic.patient.pk}/add/", _form(clinic))
    assert response.status_code == 302
    coverage = Coverage.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(f"/coverage/{coverage.pk}/check/", {"service_date": ""})
    assert response.status_code == 302
    text = desk.get(f"/coverage/patients/{clinic.patient.pk}/").content.decode()
    assert "Coverage active" in text
    assert 'data-testid="copay">$20.00' in text
    assert "$1250.00, $1000.00 left" in text
    check = EligibilityCheck.objects.get()
    detail = desk.get(f"/coverage/eligibility/{check.pk}/").content.decode()
    assert "Professional (physician) visit - office" in detail
    assert "ST*270*" in detail


def test_rejection_tells_the_desk_what_to_do(clinic, desk, django_capture_on_commit_callbacks):
    coverage = clinic.coverage(member_id="W500")
    with django_capture_on_commit_callbacks(execute=True):
        desk.post(f"/coverage/{coverage.pk}/check/", {})
    text = desk.get(f"/coverage/patients/{clinic.patient.pk}/").content.decode()
    assert "The payer does not recognise the member ID." in text
    assert "Check the insurance card and correct the member ID." in text


def test_bad_form_shows_errors_and_saves_nothing(clinic, desk):
    response = desk.post(
        f"/coverage/patients/{clinic.patient.pk}/add/", _form(clinic, member_id="AB*1", relationship="spouse")
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "letters, digits" in text or "given name is required" in text
    assert not Coverage.objects.exists()


def test_second_primary_answers_409_on_the_order(clinic, desk):
    clinic.coverage()
    response = desk.post(f"/coverage/patients/{clinic.patient.pk}/add/", _form(clinic, member_id="OTHER"))
    assert response.status_code == 409
    assert 'data-testid="error-order"' in response.content.decode()
    assert Coverage.objects.count() == 1


def test_edit_with_stale_version_says_so(clinic, desk):
    coverage = clinic.coverage()
    services.update_coverage(
        actor=clinic.front_desk,
        coverage_id=coverage.pk,
        data=CoverageInput(
            plan_id=clinic.instant_plan.pk, member_id="NEWER", effective_from=dt.date(2024, 1, 1)
        ),
    )
    response = desk.post(f"/coverage/{coverage.pk}/edit/", _form(clinic, member_id="MINE", version="1"))
    assert response.status_code == 409
    assert 'data-testid="stale-version"' in response.content.decode()
    coverage.refresh_from_db()
    assert coverage.member_id == "NEWER"


def test_end_coverage(clinic, desk):
    coverage = clinic.coverage()
    response = desk.post(
        f"/coverage/{coverage.pk}/end/", {"end_date": "2025-06-30", "reason": "new plan", "version": "1"}
    )
    assert response.status_code == 302
    text = desk.get(f"/coverage/patients/{clinic.patient.pk}/").content.decode()
    assert "Ended coverages" in text
    assert "new plan" in text


def test_batch_page_shows_progress(clinic, desk, django_capture_on_commit_callbacks):
    clinic.coverage()
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post("/coverage/eligibility/batches/", {"scope": "everyone", "service_date": ""})
    assert response.status_code == 302
    page = desk.get(response["Location"])
    text = page.content.decode()
    assert "1 of 1 checks finished — done" in text
    assert "Lindqvist, Maya" in text
    assert AuditEvent.objects.filter(action=AuditAction.ELIGIBILITY_BATCH_VIEW).exists()


def test_batch_with_unknown_mrn_is_refused(clinic, desk):
    clinic.coverage()
    response = desk.post("/coverage/eligibility/batches/", {"scope": "listed", "mrns": "NOPE1"})
    assert response.status_code == 400
    assert "No patient with MRN NOPE1" in response.content.decode()


def test_coordinator_reads_but_has_no_buttons(clinic, make_user, client):
    clinic.coverage()
    sign_in(client, make_user(Role.COORDINATOR, clinic.org))
    text = client.get(f"/coverage/patients/{clinic.patient.pk}/").content.decode()
    assert "W123456789" in text
    assert "Check eligibility" not in text
    assert "Add coverage" not in text
    assert client.post(f"/coverage/{Coverage.objects.get().pk}/check/").status_code == 403


def test_other_organization_gets_404(clinic, other_org, make_user, client):
    coverage = clinic.coverage()
    sign_in(client, make_user(Role.FRONT_DESK, other_org))
    assert client.get(f"/coverage/patients/{clinic.patient.pk}/").status_code == 404
    assert client.get(f"/coverage/{coverage.pk}/edit/").status_code == 404
    assert client.post(f"/coverage/{coverage.pk}/check/").status_code == 404
    assert not EligibilityCheck.objects.exists()


def test_billing_adds_payers_and_plans(clinic, make_user, client):
    sign_in(client, make_user(Role.BILLING, clinic.org))
    response = client.post(
        "/coverage/payers/",
        {"form": "payer", "payer-name": "Gamma", "payer-payer_id": "G1", "payer-route": "file_drop"},
    )
    assert response.status_code == 302
    duplicate = client.post(
        "/coverage/payers/",
        {"form": "payer", "payer-name": "Gamma", "payer-payer_id": "G1", "payer-route": "file_drop"},
    )
    assert duplicate.status_code == 409

"""Billing pages: the claim list with its status filter and scrubber findings, a claim with its timeline,
and moving it along; refusals answer 4xx and change nothing; other organizations get 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import Claim
from caredesk.billing.schemas import LineInput

from .conftest import BillingClinic

pytestmark = pytest.mark.django_db


def test_list_filters_and_shows_what_blocks(clinic: BillingClinic, make_user, client_as) -> None:
    clean = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    blocked = services.enter_charges(
        actor=clinic.billing,
        data=clinic.charges(
            coverage_id=None, lines=(LineInput(procedure_code="G0439", service_date=dt.date(2026, 1, 5)),)
        ),
    )
    web = client_as(make_user(Role.BILLING, clinic.org))
    page = web.get("/billing/claims/").content.decode()
    assert clean.claim_number in page
    assert blocked.claim_number in page
    assert "The patient has no coverage to bill." in page
    services.change_status(actor=clinic.billing, claim_id=clean.pk, target=ClaimStatus.READY)
    ready = web.get("/billing/claims/", {"status": "ready"}).content.decode()
    assert clean.claim_number in ready
    assert blocked.claim_number not in ready
    assert AuditEvent.objects.filter(action=AuditAction.CLAIM_SEARCH, detail__status="ready").exists()


def test_detail_timeline_and_moving_the_claim(clinic: BillingClinic, make_user, client_as) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    web = client_as(make_user(Role.BILLING, clinic.org))
    page = web.get(f"/billing/claims/{claim.pk}/").content.decode()
    assert "G0444" in page
    assert "160.00" in page
    assert "new → draft" in page
    moved = web.post(f"/billing/claims/{claim.pk}/status/", {"target": "ready", "note": "checked"})
    assert moved.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.READY
    refused = web.post(f"/billing/claims/{claim.pk}/status/", {"target": "paid"})
    assert refused.status_code == 409
    assert "cannot become" in refused.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.READY
    assert claim.events.count() == 2


def test_coordinator_reads_only_and_other_org_gets_404(
    clinic: BillingClinic, other_clinic: BillingClinic, make_user, client_as
) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    coordinator = client_as(make_user(Role.COORDINATOR, clinic.org))
    page = coordinator.get(f"/billing/claims/{claim.pk}/")
    assert page.status_code == 200
    assert "Move the claim" not in page.content.decode()
    assert coordinator.post(f"/billing/claims/{claim.pk}/status/", {"target": "ready"}).status_code == 403
    stranger = client_as(make_user(Role.BILLING, other_clinic.org))
    assert stranger.get(f"/billing/claims/{claim.pk}/").status_code == 404
    assert stranger.post(f"/billing/claims/{claim.pk}/status/", {"target": "ready"}).status_code == 404
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DRAFT


def test_build_batch_shows_the_validated_file(
    clinic: BillingClinic, make_user, client_as, tmp_path, django_capture_on_commit_callbacks
) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    web = client_as(make_user(Role.BILLING, clinic.org))
    assert "Build 837P batch" in web.get("/billing/claims/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the file appears when its batch commits
        answer = web.post("/billing/claims/batch/")
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "ST*837*" in page
    assert f"CLM*{claim.claim_number}*160" in page
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
    outbox = tmp_path / "x12" / str(clinic.org.pk) / "outbox"
    assert [p.name for p in outbox.iterdir()] == [claim.submitted_file]
    assert "No claim is ready" in web.post("/billing/claims/batch/").content.decode()


def test_a_batch_that_cannot_be_built_answers_409(clinic: BillingClinic, make_user, client_as) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    clinic.org.tax_id = ""
    clinic.org.save()
    answer = client_as(make_user(Role.BILLING, clinic.org)).post("/billing/claims/batch/")
    assert answer.status_code == 409
    assert "tax ID" in answer.content.decode()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.READY
    coordinator = client_as(make_user(Role.COORDINATOR, clinic.org))
    assert coordinator.post("/billing/claims/batch/").status_code == 403


def _charge_form(clinic: BillingClinic, **changes: str) -> dict[str, str]:
    form = {
        "coverage_id": str(clinic.coverage.pk),
        "rendering_provider_id": str(clinic.practitioner.pk),
        "diagnoses": "E11.9, I10",
        "place_of_service": "11",
        "code_1": "G0439",
        "pointers_1": "1, 2",
        "units_1": "1",
        "date_1": "2026-11-02",
        "code_2": "g0444",
        "modifiers_2": "25",
        "pointers_2": "2",
        "units_2": "2",
        "date_2": "2026-11-02",
        "charge_2": "45.50",
    }
    form.update(changes)
    return form


def test_charge_entry_saves_a_draft_claim(clinic: BillingClinic, make_user, client_as) -> None:
    web = client_as(make_user(Role.BILLING, clinic.org))
    page = web.get(f"/billing/patients/{clinic.patient.pk}/charges/")
    assert page.status_code == 200
    assert "Add a line" in page.content.decode()
    assert AuditEvent.objects.filter(patient_id=clinic.patient.pk, action=AuditAction.PATIENT_VIEW).exists()
    line = web.get("/billing/charges/line/", {"n": "3"}, headers={"HX-Request": "true"})
    assert 'name="code_3"' in line.content.decode()
    assert "n=4" in line.content.decode()
    saved = web.post(f"/billing/patients/{clinic.patient.pk}/charges/", _charge_form(clinic))
    assert saved.status_code == 302
    claim = Claim.objects.get()
    assert saved["Location"] == f"/billing/claims/{claim.pk}/"
    assert [(x.procedure.code, x.charge, x.pointers) for x in claim.lines.all()] == [
        ("G0439", Decimal("120.00"), (1, 2)),
        ("G0444", Decimal("45.50"), (2,)),
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"diagnoses": "E11"},
        {"pointers_1": "7"},
        {"units_1": "lots"},
        {"date_1": "yesterday"},
        {"charge_2": "1e999999"},
        {"units_2": "1e999999"},
        {"charge_2": "-5"},
        {"code_1": "99213"},
        {"rendering_provider_id": "x"},
    ],
)
def test_bad_charges_answer_400_and_save_nothing(
    clinic: BillingClinic, make_user, client_as, changes: dict[str, str]
) -> None:
    web = client_as(make_user(Role.BILLING, clinic.org))
    answer = web.post(f"/billing/patients/{clinic.patient.pk}/charges/", _charge_form(clinic, **changes))
    assert answer.status_code == 400
    assert "alert-danger" in answer.content.decode()
    assert not Claim.objects.exists()


def test_charges_for_another_organizations_patient_answer_404(
    clinic: BillingClinic, other_clinic: BillingClinic, make_user, client_as
) -> None:
    web = client_as(make_user(Role.BILLING, other_clinic.org))
    assert web.get(f"/billing/patients/{clinic.patient.pk}/charges/").status_code == 404
    assert (
        web.post(f"/billing/patients/{clinic.patient.pk}/charges/", _charge_form(clinic)).status_code == 404
    )
    assert not Claim.objects.exists()

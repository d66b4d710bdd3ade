"""Billing use cases on the real database: charges, the scrubber at ready, the lifecycle with its timeline,
refusals that save nothing, permissions and organizations."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import selectors, services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.errors import ClaimBlocked, ClaimNotFound, InvalidCharges, InvalidCodeList
from caredesk.billing.models import ChargeLine, Claim, ClaimDiagnosis, FeeScheduleEntry, ProcedureCode
from caredesk.billing.schemas import LineInput
from caredesk.core.errors import Forbidden

from .conftest import VISIT, BillingClinic

pytestmark = pytest.mark.django_db


def test_demo_code_list_loaded_with_its_source(clinic: BillingClinic) -> None:
    codes = ProcedureCode.objects.filter(organization=clinic.org)
    assert codes.filter(code="G0439", system="hcpcs").exists()
    assert not codes.filter(system="cpt").exists()
    assert AuditEvent.objects.filter(action=AuditAction.PROCEDURE_CODES_CREATE).exists()


def test_a_bad_code_list_loads_nothing(clinic: BillingClinic) -> None:
    before = ProcedureCode.objects.count()
    with pytest.raises(InvalidCodeList):
        services.load_procedure_codes(
            actor=clinic.billing, text="code,description,system\nA0001,x,hcpcs\nBAD,y,hcpcs\n", source="t"
        )
    assert ProcedureCode.objects.count() == before


def test_fee_schedule_is_decimal_per_payer(clinic: BillingClinic) -> None:
    entry = services.set_fee(
        actor=clinic.billing, payer_id=clinic.payer.pk, code="g0439", allowed_amount=Decimal("98.5")
    )
    assert entry.allowed_amount == Decimal("98.50")
    services.set_fee(
        actor=clinic.billing, payer_id=clinic.payer.pk, code="G0439", allowed_amount=Decimal("99")
    )
    assert FeeScheduleEntry.objects.get().allowed_amount == Decimal("99.00")
    with pytest.raises(InvalidCharges):
        services.set_fee(
            actor=clinic.billing, payer_id=clinic.payer.pk, code="G0439", allowed_amount=Decimal(-1)
        )


def test_enter_charges_makes_a_clean_draft(clinic: BillingClinic) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    assert claim.status == ClaimStatus.DRAFT
    assert claim.scrub_problems == []
    assert [d.code for d in claim.diagnoses.all()] == ["E11.9", "I10"]
    lines = list(claim.lines.all())
    assert [line.charge for line in lines] == [Decimal("120.00"), Decimal("40.00")]
    assert lines[0].pointers == (1, 2)
    assert lines[1].modifiers == ["25"]
    assert claim.billing_npi == "1234567893"
    assert [e.to_status for e in claim.events.all()] == [ClaimStatus.DRAFT]
    assert AuditEvent.objects.filter(action=AuditAction.CLAIM_CREATE, patient_id=clinic.patient.pk).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"diagnoses": ("E11",)}, "diagnoses"),
        ({"diagnoses": ("NOPE",)}, "diagnoses"),
        ({"diagnoses": ()}, "diagnoses"),
        ({"diagnoses": ("E11.9", "E11.9")}, "diagnoses"),
        ({"lines": ()}, "lines"),
        ({"lines": (LineInput(procedure_code="99213", service_date=VISIT),)}, "lines.1"),
        (
            {"lines": (LineInput(procedure_code="G0439", service_date=VISIT, diagnosis_pointers=(3,)),)},
            "lines.1",
        ),
        (
            {
                "lines": (
                    LineInput(procedure_code="G0439", service_date=VISIT, diagnosis_pointers=(1, 2, 1, 2, 1)),
                )
            },
            "lines.1",
        ),
        (
            {
                "lines": (
                    LineInput(
                        procedure_code="G0439", service_date=VISIT, modifiers=("25", "59", "XS", "76", "77")
                    ),
                )
            },
            "lines.1",
        ),
        ({"lines": (LineInput(procedure_code="G0439", service_date=VISIT, units=Decimal(0)),)}, "lines.1"),
        (
            {"lines": (LineInput(procedure_code="G0439", service_date=VISIT, charge=Decimal("1.001")),)},
            "lines.1",
        ),
        ({"place_of_service": "office"}, "place_of_service"),
        ({"rendering_provider_id": 0}, "rendering_provider_id"),
        ({"appointment_id": 999999}, "appointment_id"),
    ],
)
def test_bad_charges_are_refused_and_save_nothing(clinic: BillingClinic, changes: dict, field: str) -> None:
    with pytest.raises(InvalidCharges) as caught:
        services.enter_charges(actor=clinic.billing, data=clinic.charges(**changes))
    assert caught.value.field == field
    assert caught.value.http_status == 400
    assert not Claim.objects.exists()
    assert not ChargeLine.objects.exists()
    assert not ClaimDiagnosis.objects.exists()


def test_a_coverage_of_another_patient_is_refused(clinic: BillingClinic, other_clinic: BillingClinic) -> None:
    with pytest.raises(InvalidCharges):
        services.enter_charges(
            actor=clinic.billing, data=clinic.charges(coverage_id=other_clinic.coverage.pk)
        )
    assert not Claim.objects.exists()


def test_ready_needs_a_clean_scrub_and_explains(clinic: BillingClinic) -> None:
    late = clinic.charges(
        lines=(LineInput(procedure_code="G0439", service_date=dt.date(2023, 6, 1)),), coverage_id=None
    )
    claim = services.enter_charges(actor=clinic.billing, data=late)
    assert claim.scrub_problems == ["The patient has no coverage to bill."]
    with pytest.raises(ClaimBlocked) as caught:
        services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    assert "no coverage" in caught.value.message
    assert caught.value.http_status == 409
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DRAFT
    assert claim.events.count() == 1


def test_lifecycle_writes_the_timeline(clinic: BillingClinic) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="b.837")
    for target in (
        ClaimStatus.ACCEPTED,
        ClaimStatus.DENIED,
        ClaimStatus.APPEALED,
        ClaimStatus.PAID,
        ClaimStatus.CLOSED,
    ):
        services.change_status(actor=clinic.billing, claim_id=claim.pk, target=target, note=f"to {target}")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.CLOSED
    assert claim.submitted_file == "b.837"
    steps = [(e.from_status, e.to_status) for e in claim.events.all()]
    assert steps[0] == ("", "draft")
    assert steps[-1] == ("paid", "closed")
    assert len(steps) == 8
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.CLAIM_STATUS_CHANGED, patient_id=clinic.patient.pk
        ).count()
        == 7
    )


def test_refused_steps_change_nothing(clinic: BillingClinic) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    with pytest.raises(ClaimBlocked):
        services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.PAID)
    with pytest.raises(ClaimBlocked):
        services.change_status(actor=clinic.billing, claim_id=claim.pk, target=ClaimStatus.SUBMITTED)
    with pytest.raises(ClaimBlocked):
        services.mark_submitted(actor=clinic.billing, claim_ids=[claim.pk], file_name="x")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DRAFT
    assert claim.events.count() == 1


def test_coordinators_view_but_do_not_manage(clinic: BillingClinic) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    assert selectors.get_claim(actor=clinic.coordinator, claim_id=claim.pk) == claim
    assert AuditEvent.objects.filter(action=AuditAction.CLAIM_VIEW, patient_id=clinic.patient.pk).exists()
    with pytest.raises(Forbidden):
        services.change_status(actor=clinic.coordinator, claim_id=claim.pk, target=ClaimStatus.READY)
    with pytest.raises(Forbidden):
        services.enter_charges(actor=clinic.coordinator, data=clinic.charges())


def test_another_organization_sees_nothing(clinic: BillingClinic, other_clinic: BillingClinic) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    with pytest.raises(ClaimNotFound) as caught:
        selectors.get_claim(actor=other_clinic.billing, claim_id=claim.pk)
    assert caught.value.http_status == 404
    with pytest.raises(ClaimNotFound):
        services.change_status(actor=other_clinic.billing, claim_id=claim.pk, target=ClaimStatus.READY)
    assert selectors.list_claims(actor=other_clinic.billing) == []
    with pytest.raises(Exception, match="No patient"):
        services.enter_charges(
            actor=other_clinic.billing,
            data=dataclasses.replace(other_clinic.charges(), patient_id=clinic.patient.pk),
        )


def test_list_claims_filters_by_status_and_is_audited(clinic: BillingClinic) -> None:
    first = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    second = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=second.pk, target=ClaimStatus.READY)
    assert selectors.list_claims(actor=clinic.billing, status="ready") == [second]
    assert selectors.list_claims(actor=clinic.billing) == [second, first]
    event = AuditEvent.objects.filter(action=AuditAction.CLAIM_SEARCH).order_by("-id").first()
    assert event is not None
    assert event.detail["result_ids"] == [clinic.patient.pk]

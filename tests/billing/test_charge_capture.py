"""Charges captured when a visit is completed: a draft claim with the visit type's procedure codes priced
from the fee schedule, once per visit however often completion is reported."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import patient_accounts, payments, services
from caredesk.billing.errors import InvalidCharges
from caredesk.billing.models import Claim, LedgerEntry
from caredesk.core.errors import DomainError
from caredesk.coverage import services as coverage_services
from caredesk.coverage.schemas import CoverageInput
from caredesk.scheduling import services as scheduling
from caredesk.scheduling.hooks import FulfilledVisit, visit_fulfilled
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import MONDAY, Clinic, at, book, build_clinic
from tests.scheduling.conftest import frozen_clock as frozen_clock  # the fixture, for this module

from .conftest import DEMO_CODES

pytestmark = pytest.mark.django_db


@pytest.fixture
def visits(org, frozen_clock) -> Clinic:
    clinic = build_clinic(org)
    billing = staff_actor(org, Role.BILLING)
    services.load_procedure_codes(actor=billing, text=DEMO_CODES.read_text(), source="demo")
    payments.set_visit_charge(actor=billing, visit_type_code=clinic.follow_up.code, procedure_code="G0439")
    payments.set_visit_charge(
        actor=billing, visit_type_code=clinic.follow_up.code, procedure_code="g0444", units=Decimal("2")
    )
    return clinic


def complete(clinic: Clinic, frozen_clock, patient=None):
    appointment = book(
        clinic, at(MONDAY, 9), patient=patient, resource_ids=[clinic.dr_heart.pk, clinic.exam1.pk]
    )
    frozen_clock(at(MONDAY, 9))
    scheduling.check_in(actor=clinic.desk, appointment_id=appointment.pk)
    scheduling.change_status(actor=clinic.desk, appointment_id=appointment.pk, status="fulfilled")
    return appointment


def test_completing_a_self_pay_visit_captures_one_claim_and_bills_the_patient(visits, frozen_clock) -> None:
    appointment = complete(visits, frozen_clock)

    claim = Claim.objects.get(appointment_id=appointment.pk)
    assert claim.status == "draft"
    assert claim.rendering_provider_id == visits.heart.pk
    assert [(line.procedure.code, line.units, line.charge) for line in claim.lines.all()] == [
        ("G0439", Decimal("1.00"), Decimal("120.00")),
        ("G0444", Decimal("2.00"), Decimal("40.00")),
    ]
    assert {line.service_date for line in claim.lines.all()} == {MONDAY}
    assert claim.events.get().note.startswith("Captured when the visit")
    assert "The claim has no diagnosis." in claim.scrub_problems  # the biller adds them
    account = patient_accounts.account_of(appointment.organization_id, appointment.patient_id, MONDAY)
    assert account.balance == Decimal("160.00")
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.VISIT_CHARGES_CAPTURE, patient_id=appointment.patient_id
        ).count()
        == 1
    )

    # Completing it again is refused by scheduling; the hook reported twice captures nothing more.
    with pytest.raises(DomainError):
        scheduling.change_status(actor=visits.desk, appointment_id=appointment.pk, status="fulfilled")
    visit = FulfilledVisit(
        appointment_id=appointment.pk,
        organization_id=appointment.organization_id,
        patient_id=appointment.patient_id,
        visit_type_id=appointment.visit_type_id,
        location_id=appointment.location_id,
        resource_ids=(),
    )
    visit_fulfilled(visits.desk, visit)
    visit_fulfilled(visits.desk, visit)
    assert Claim.objects.filter(appointment_id=appointment.pk).count() == 1
    assert LedgerEntry.objects.filter(kind="charge").count() == 1


def test_an_insured_visit_is_priced_from_the_payers_fee_schedule(visits, frozen_clock, org) -> None:
    billing = staff_actor(org, Role.BILLING)
    payer = coverage_services.create_payer(
        actor=billing, name="Acme Health", payer_id="60054", route="file_drop"
    )
    plan = coverage_services.create_plan(actor=billing, payer_id=payer.pk, name="Acme Gold PPO")
    patient = visits.patient()
    coverage = coverage_services.add_coverage(
        actor=billing,
        patient_id=patient.pk,
        data=CoverageInput(plan_id=plan.pk, member_id="W1", effective_from=dt.date(2024, 1, 1)),
    )
    services.set_fee(actor=billing, payer_id=payer.pk, code="G0439", allowed_amount=Decimal("98.50"))

    appointment = complete(visits, frozen_clock, patient=patient)

    claim = Claim.objects.get(appointment_id=appointment.pk)
    assert claim.coverage_id == coverage.pk
    # G0439 from the fee schedule; G0444 has no fee for this payer, so its own price.
    assert [line.charge for line in claim.lines.all()] == [Decimal("98.50"), Decimal("40.00")]
    # Billed to the payer: nothing is on the patient's account until the payer answers.
    assert not LedgerEntry.objects.exists()


def test_a_visit_type_without_codes_captures_nothing(visits, frozen_clock) -> None:
    appointment = book(visits, at(MONDAY, 10), visits.video)
    frozen_clock(at(MONDAY, 10))
    scheduling.check_in(actor=visits.desk, appointment_id=appointment.pk)
    scheduling.change_status(actor=visits.desk, appointment_id=appointment.pk, status="fulfilled")
    assert not Claim.objects.exists()


def test_a_mapping_needs_a_known_code_and_units(visits, org) -> None:
    billing = staff_actor(org, Role.BILLING)
    with pytest.raises(InvalidCharges):
        payments.set_visit_charge(actor=billing, visit_type_code="follow-up", procedure_code="ZZZZZ")
    with pytest.raises(InvalidCharges):
        payments.set_visit_charge(
            actor=billing, visit_type_code="follow-up", procedure_code="G0439", units=Decimal("0")
        )

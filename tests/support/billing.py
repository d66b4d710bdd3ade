"""The matrix world's claim, built on first use through the billing services: the demo code list loaded
in the first organization and a draft claim for its sample patient (primary coverage, sample practitioner)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.billing import services, visit_charges
from caredesk.billing.models import Claim, RemittanceClaim, VisitTypeCharge
from caredesk.billing.schemas import Adjustment, ChargesInput, ClaimPayment, LineInput, Remittance
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from tests.practitioners.conftest import valid_npi

from .coverage import insurance_of
from .scheduling import schedule_of

if TYPE_CHECKING:
    from .world import World

DEMO_CODES = Path(services.__file__).parent / "data" / "demo_procedure_codes.csv"


def claim_of(world: World) -> Claim:
    found = world.__dict__.get("_claim")
    if found is None:
        actor = actor_for_user(world.users[Role.BILLING])
        coverage = insurance_of(world).coverage
        services.load_procedure_codes(actor=actor, text=DEMO_CODES.read_text(), source="demo")
        found = services.enter_charges(
            actor=actor,
            data=ChargesInput(
                patient_id=world.patient.pk,
                rendering_provider_id=world.practitioner.pk,
                coverage_id=coverage.pk,
                diagnoses=("E11.9",),
                lines=(LineInput(procedure_code="G0439", service_date=dt.date(2025, 6, 2)),),
            ),
        )
        world.__dict__["_claim"] = found
    return found


def _codes_loaded(world: World, organization_id: int) -> None:
    key = f"_codes_{organization_id}"
    if not world.__dict__.get(key):
        first = organization_id == world.org.pk
        actor = actor_for_user((world.users if first else world.strangers)[Role.BILLING])
        if first:
            claim_of(world)  # loads the first organization's codes
        else:
            services.load_procedure_codes(actor=actor, text=DEMO_CODES.read_text(), source="demo")
        world.__dict__[key] = True


def _other_practitioner(world: World) -> Practitioner:
    found = world.__dict__.get("_billing_other_practitioner")
    if found is None:
        found = create_practitioner(
            actor=actor_for_user(world.strangers[Role.ADMINISTRATOR]),
            data=PractitionerInput(
                given_name="Bertram",
                family_name="Southwell",
                npi=valid_npi(4251),
                specialty="family_medicine",
            ),
        )
        world.__dict__["_billing_other_practitioner"] = found
    return found


def charges_body(world: World, organization: Organization) -> dict[str, object]:
    """A valid POST /api/v1/claims body in `organization` (its sample patient, coverage, practitioner)."""
    first = organization.pk == world.org.pk
    _codes_loaded(world, organization.pk)
    return {
        "patient_id": (world.patient if first else world.other_patient).pk,
        "rendering_provider_id": (world.practitioner if first else _other_practitioner(world)).pk,
        "coverage_id": insurance_of(world, organization).coverage.pk,
        "diagnoses": ["E11.9"],
        "lines": [{"procedure_code": "G0439", "service_date": "2025-06-02", "modifiers": ["25"]}],
    }


def claim_payment_of(world: World) -> RemittanceClaim:
    """The payer's answer to the sample claim: an 835 claim payment posted through the billing services."""
    found = world.__dict__.get("_claim_payment")
    if found is None:
        claim = claim_of(world)
        actor = actor_for_user(world.users[Role.BILLING])
        charge = sum((line.charge for line in claim.lines.all()), Decimal("0.00"))
        posted = services.post_remittance(
            actor=actor,
            remittance=Remittance(
                payer_name="Matrix Mutual",
                payer_id="MM001",
                payee_name=world.org.name,
                payee_id="",
                trace_number="MATRIX-TRACE-1",
                payment_method="ACH",
                payment_date=dt.date(2025, 7, 1),
                total_paid=Decimal("50.00"),
                claims=(
                    ClaimPayment(
                        claim_number=claim.claim_number,
                        status_code="1",
                        charge=charge,
                        paid=Decimal("50.00"),
                        patient_responsibility=Decimal("10.00"),
                        adjustments=(
                            Adjustment("CO", "45", charge - Decimal("60.00")),
                            Adjustment("PR", "2", Decimal("10.00")),
                        ),
                    ),
                ),
            ),
        )
        found = RemittanceClaim.objects.get(remittance=posted.remittance, claim=claim)
        world.__dict__["_claim_payment"] = found
    return found


def visit_charge_of(world: World) -> VisitTypeCharge:
    """The first organization's charge-capture mapping: its sample visit type bills G0439."""
    found = world.__dict__.get("_visit_charge")
    if found is None:
        claim_of(world)  # loads the first organization's codes
        found = visit_charges.add_visit_charge(
            actor=actor_for_user(world.users[Role.BILLING]),
            visit_type_code=schedule_of(world).visit_type.code,
            procedure_code="G0439",
        )
        world.__dict__["_visit_charge"] = found
    return found

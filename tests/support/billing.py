"""The matrix world's claim, built on first use through the billing services: the demo code list loaded
in the first organization and a draft claim for its sample patient (primary coverage, sample practitioner)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.billing import services
from caredesk.billing.models import Claim
from caredesk.billing.schemas import ChargesInput, LineInput

from .coverage import insurance_of

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

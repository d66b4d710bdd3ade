"""The matrix world's insurance, built on first use through the coverage services.

In each organization (the first, or another one when one of its users writes): a payer answering through
the test payer, a plan, and a primary coverage of that organization's sample patient; in the first, also an
eligibility check of that coverage and a batch. `fresh_coverage` adds a secondary coverage to the sample
patient each time (for endpoints that end one, called once per allowed role); `fresh_patient` a patient
without any coverage (for adding a primary)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.core.context import Actor
from caredesk.coverage import services
from caredesk.coverage.models import Coverage, EligibilityBatch, EligibilityCheck, Plan, PriorAuthorization
from caredesk.coverage.schemas import CoverageInput, EligibilityInquiry, Person
from caredesk.interop.x12.clearinghouse import answer_270
from caredesk.interop.x12.envelope import Parties
from caredesk.interop.x12.x270 import build_270
from caredesk.patients.models import Patient
from caredesk.patients.schemas import PatientInput
from caredesk.patients.services import register_patient

if TYPE_CHECKING:
    from .world import World

_COUNTER = itertools.count(1)


@dataclass
class Insurance:
    actor: Actor
    plan: Plan
    coverage: Coverage
    check: EligibilityCheck | None
    batch: EligibilityBatch | None


def insurance_of(world: World, organization: Organization | None = None) -> Insurance:
    first = organization is None or organization.pk == world.org.pk
    key = "_insurance" if first else "_other_insurance"
    found = world.__dict__.get(key)
    if found is not None and not Coverage.objects.filter(pk=found.coverage.pk).exists():
        found = None  # built inside a test whose rows were rolled back: build again
    if found is None:
        found = _build(world, first)
        world.__dict__[key] = found
    return found


def _build(world: World, first: bool) -> Insurance:
    admin = actor_for_user((world.users if first else world.strangers)[Role.ADMINISTRATOR])
    payer = services.create_payer(actor=admin, name="Matrix Mutual", payer_id="MM001", route="test_payer")
    plan = services.create_plan(actor=admin, payer_id=payer.pk, name="Matrix Gold", copay="25.00")
    patient = world.patient if first else world.other_patient
    coverage = services.add_coverage(actor=admin, patient_id=patient.pk, data=_coverage_input(plan))
    check = batch = None
    if first:
        check = services.request_eligibility_check(actor=admin, coverage_id=coverage.pk)
        batch = services.request_eligibility_batch(actor=admin, patient_ids=[patient.pk])
    return Insurance(actor=admin, plan=plan, coverage=coverage, check=check, batch=batch)


def _coverage_input(plan: Plan, order: int = 1) -> CoverageInput:
    return CoverageInput(
        plan_id=plan.pk, member_id=f"MX{next(_COUNTER):06d}", order=order, effective_from=dt.date(2024, 1, 1)
    )


def fresh_patient(world: World) -> Patient:
    insurance = insurance_of(world)
    letters = "".join(chr(ord("a") + int(d)) for d in f"{next(_COUNTER):04d}")
    return register_patient(
        actor=insurance.actor,
        data=PatientInput(
            given_name="Insured", family_name=f"Fresh{letters}", birth_date=dt.date(1970, 1, 2), sex="male"
        ),
        confirm_not_duplicate=True,
    )


def fresh_coverage(world: World) -> Coverage:
    """A new secondary coverage of the sample patient (ending any secondary a refused call left active)."""
    insurance = insurance_of(world)
    for left in Coverage.objects.filter(patient=world.patient, order=2, status="active"):
        services.end_coverage(actor=insurance.actor, coverage_id=left.pk, end_date=left.effective_from)
    return services.add_coverage(
        actor=insurance.actor, patient_id=world.patient.pk, data=_coverage_input(insurance.plan, order=2)
    )


def answer_for_fresh_check(world: World, organization: Organization) -> str:
    """A 271 answering a new check of `organization`'s sample coverage (as the test payer would)."""
    insurance = insurance_of(world, organization)
    check = services.request_eligibility_check(actor=insurance.actor, coverage_id=insurance.coverage.pk)
    person = Person("Sample", "Patient", dt.date(1961, 3, 14))
    inquiry = EligibilityInquiry(
        organization_id=organization.pk,
        trace_number=check.trace_number,
        control_number=check.pk,
        service_date=check.service_date,
        created_at=check.created_at,
        payer_name="Matrix Mutual",
        payer_id="MM001",
        route="test_payer",
        provider_name=organization.name,
        provider_npi="1234567893",
        provider_tax_id="",
        member_id=insurance.coverage.member_id,
        group_number="",
        relationship="self",
        subscriber=person,
        patient=person,
    )
    return answer_270(build_270(inquiry, Parties(sender_id="MATRIX", receiver_id="PAYER")))


def authorization_of(world: World) -> PriorAuthorization:
    """An approved prior authorization of the sample coverage with units to spare (for reading,
    re-approving and using it once per allowed role); its payer requires authorization for 72148."""
    found = world.__dict__.get("_authorization")
    if found is not None and not PriorAuthorization.objects.filter(pk=found.pk).exists():
        found = None  # built inside a test whose rows were rolled back
    if found is None:
        insurance = insurance_of(world)
        services.add_authorization_rule(
            actor=insurance.actor,
            payer_id=insurance.plan.payer_id,
            service_code="72148",
            description="MRI lumbar spine",
        )
        found = services.request_authorization(
            actor=insurance.actor, coverage_id=insurance.coverage.pk, service_code="72148"
        )
        found = services.record_authorization_approval(
            actor=insurance.actor,
            authorization_id=found.pk,
            auth_number="MX-PA-1",
            units_authorized=1000,
            valid_from=dt.date(2024, 1, 1),
            valid_to=dt.date(2099, 12, 31),
        )
        world.__dict__["_authorization"] = found
    return found


def fresh_authorization(world: World) -> PriorAuthorization:
    """A new requested authorization of the sample coverage (denying or cancelling works once)."""
    insurance = insurance_of(world)
    return services.request_authorization(
        actor=insurance.actor, coverage_id=insurance.coverage.pk, service_code="97110"
    )

"""The demo clinics' insurance, loaded through the coverage services once the patients exist.

Each organization gets three payers that answer through the test payer (so "Check eligibility" works in
the demo without a clearinghouse) and two plans each, and a primary coverage for its first patients (a
few also a secondary), through the bulk path `import_coverages` (checked like `add_coverage`, one
transaction, audit rows in bulk). Their number is bounded (MAX_COVERAGES insured patients in all) to keep
seed_demo fast; patients beyond it are self-pay.

Member IDs come from the seed. The test payer answers by their last two digits: most are active, and a
few end in 00 (the payer does not recognise the member ID) or 99 (coverage ended) so the demo shows
those answers too (see interop.x12.clearinghouse).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.coverage import services
from caredesk.coverage.models import Coverage, Plan
from caredesk.coverage.schemas import CoverageInput
from caredesk.patients import selectors as patient_selectors

MAX_COVERAGES = 5_000  # insured patients in all organizations together (bulk: about 0.2 ms each)
COVERAGES_PER_PATIENT = 0.6  # small demos: about 60 % of patients are insured
SECONDARY_SHARE = 0.1
PAYERS = (
    ("Acme Health", "60054", (("Acme Gold PPO", "PPO", "25.00"), ("Acme Silver HMO", "HMO", "40.00"))),
    (
        "Blue River Mutual",
        "BRM01",
        (("Blue River Choice", "PPO", "30.00"), ("Blue River Basic", "EPO", "50.00")),
    ),
    (
        "Medicare Part B (demo)",
        "MCRB1",
        (
            ("Original Medicare Part B", "Medicare", None),
            ("Medicare Advantage Demo", "Medicare Advantage", "15.00"),
        ),
    ),
)
_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.PAYER_MANAGE,
        Permission.COVERAGE_MANAGE,
        Permission.COVERAGE_VIEW,
        Permission.PATIENT_VIEW,
    )
)


@dataclass
class InsuranceReport:
    payers: int = 0
    plans: int = 0
    coverages: int = 0


def _actor(organization: Organization) -> Actor:
    return system_actor(
        organization_id=organization.pk, permissions=_PERMISSIONS, channel="cli", username="seed_demo"
    )


def _member_id(rng: random.Random) -> str:
    roll = rng.random()
    suffix = "00" if roll < 0.03 else "99" if roll < 0.06 else f"{rng.randrange(1, 98):02d}"
    return f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randrange(10**6, 10**7)}{suffix}"


def _load_organization(
    organization: Organization, rng: random.Random, budget: int, report: InsuranceReport
) -> None:
    actor = _actor(organization)
    plans: list[Plan] = []
    for name, payer_id, plan_specs in PAYERS:
        payer = services.create_payer(actor=actor, name=name, payer_id=payer_id, route="test_payer")
        report.payers += 1
        for plan_name, plan_type, copay in plan_specs:
            plans.append(
                services.create_plan(
                    actor=actor,
                    payer_id=payer.pk,
                    name=plan_name,
                    plan_type=plan_type,
                    copay=Decimal(copay) if copay else None,
                )
            )
            report.plans += 1
    patient_ids = list(
        patient_selectors.patient_queryset(actor).order_by("pk").values_list("pk", flat=True)[:budget]
    )
    this_year = dt.date.today().year  # noqa: DTZ011 (a calendar year for demo data)
    rows: list[tuple[int, CoverageInput]] = []
    for patient_id in patient_ids:
        primary = rng.choice(plans)
        rows.append(
            (
                patient_id,
                CoverageInput(
                    plan_id=primary.pk,
                    member_id=_member_id(rng),
                    group_number=f"G{rng.randrange(1000, 9999)}" if primary.plan_type != "Medicare" else "",
                    effective_from=dt.date(this_year - rng.randrange(0, 4), 1, 1),
                ),
            )
        )
        if rng.random() < SECONDARY_SHARE:
            secondary = rng.choice([p for p in plans if p.payer_id != primary.payer_id])
            rows.append(
                (
                    patient_id,
                    CoverageInput(
                        plan_id=secondary.pk,
                        member_id=_member_id(rng),
                        order=2,
                        effective_from=dt.date(this_year, 1, 1),
                    ),
                )
            )
    coverages = services.import_coverages(actor=actor, rows=rows)
    report.coverages += len(coverages)
    _load_authorizations(actor, plans, coverages, this_year)


# (service code, description) Acme Health requires prior authorization for, on all its plans
AUTHORIZATION_RULES = (("pt-session", "Physical therapy session"), ("72148", "MRI lumbar spine"))


def _load_authorizations(actor: Actor, plans: list[Plan], coverages: list[Coverage], year: int) -> None:
    """Acme Health's prior-authorization list, and one approved authorization (12 physical therapy
    sessions this year, 3 used) for its first insured patient, so booking shows both outcomes."""
    acme = plans[0].payer
    for code, description in AUTHORIZATION_RULES:
        services.add_authorization_rule(
            actor=actor, payer_id=acme.pk, service_code=code, description=description
        )
    insured = next((c for c in coverages if c.plan.payer_id == acme.pk and c.order == 1), None)
    if insured is None:
        return
    auth = services.request_authorization(
        actor=actor, coverage_id=insured.pk, service_code="pt-session", units_requested=12
    )
    services.record_authorization_approval(
        actor=actor,
        authorization_id=auth.pk,
        auth_number=f"PA{year}{insured.pk:05d}",
        units_authorized=12,
        valid_from=dt.date(year, 1, 1),
        valid_to=dt.date(year, 12, 31),
    )
    for month in (1, 2, 3):
        services.record_authorization_use(
            actor=actor, authorization_id=auth.pk, used_on=dt.date(year, month, 15), reference="demo visit"
        )


def load_insurance(organizations: list[Organization], seed: int, patients: int) -> InsuranceReport:
    report = InsuranceReport()
    budget = int(min(MAX_COVERAGES, COVERAGES_PER_PATIENT * patients)) // max(1, len(organizations))
    for organization in organizations:
        rng = random.Random(f"caredesk-demo:{seed}:insurance:{organization.short_code}")  # noqa: S311
        _load_organization(organization, rng, budget, report)
    return report

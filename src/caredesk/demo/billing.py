"""The demo's billing desk: the demo procedure-code list (billing/data/demo_procedure_codes.csv: public
HCPCS Level II codes and local codes, prices invented for the demo) and, per organization, the charges of
a few recent wellness visits of insured patients, entered through the billing services as draft claims
that wait for the biller's review (mark ready, then the 837P batch). Nothing is marked ready or
submitted: the biller's first screen has work, not a finished batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.billing import services
from caredesk.billing.schemas import ChargesInput, LineInput
from caredesk.core.context import system_actor
from caredesk.coverage.models import Coverage
from caredesk.practitioners import selectors as practitioner_selectors

CODES = Path(services.__file__).parent / "data" / "demo_procedure_codes.csv"
CLAIMS = 6  # per organization
_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.BILLING_MANAGE,
        Permission.BILLING_VIEW,
        Permission.PATIENT_VIEW,
        Permission.COVERAGE_VIEW,
        Permission.PRACTITIONER_VIEW,
    )
)
#: (diagnoses, lines (code, units)) per claim, in turn.
VISITS: tuple[tuple[tuple[str, ...], tuple[tuple[str, int], ...]], ...] = (
    (("Z00.00",), (("G0439", 1), ("G0444", 1))),
    (("Z00.01", "I10"), (("G0439", 1), ("G2211", 1))),
    (("Z00.00",), (("G0438", 1),)),
    (("Z23",), (("G0008", 1),)),
    (("Z00.00", "E11.9"), (("G0439", 1), ("G0442", 1))),
    (("Z00.01", "E78.5"), (("G0439", 1),)),
)


@dataclass
class BillingReport:
    codes: int = 0
    claims: int = 0


def load_billing(organizations: list[Organization]) -> BillingReport:
    report = BillingReport()
    text = CODES.read_text(encoding="utf-8")
    for organization in organizations:
        actor = system_actor(organization_id=organization.pk, permissions=_PERMISSIONS, username="seed_demo")
        report.codes += services.load_procedure_codes(actor=actor, text=text, source="demo")
        practitioner = practitioner_selectors.practitioner_queryset(actor).order_by("pk").first()
        if practitioner is None:
            continue
        # The newest coverages: the oldest ones are left to the billing browser test's own visits.
        coverages = list(
            Coverage.objects.filter(
                organization=organization, status="active", order=1, patient__status="active"
            ).order_by("-pk")[:CLAIMS]
        )
        today = timezone.localdate()
        for number, (coverage, (diagnoses, lines)) in enumerate(zip(coverages, VISITS, strict=False)):
            service_date = today - dt.timedelta(days=2 + 3 * number)
            services.enter_charges(
                actor=actor,
                data=ChargesInput(
                    patient_id=coverage.patient_id,
                    rendering_provider_id=practitioner.pk,
                    coverage_id=coverage.pk,
                    diagnoses=diagnoses,
                    lines=tuple(
                        LineInput(
                            procedure_code=code,
                            service_date=service_date,
                            units=Decimal(units),
                        )
                        for code, units in lines
                    ),
                ),
            )
            report.claims += 1
    return report

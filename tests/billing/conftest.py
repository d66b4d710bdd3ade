"""A billing clinic built through the services: Riverside Health (NPI, tax ID, a clinic address), a payer
and plan, a patient with an address and a primary coverage, a rendering practitioner and the demo code list.
X12 files go to a temporary folder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Role
from caredesk.billing import services
from caredesk.billing.schemas import ChargesInput, LineInput
from caredesk.core.context import Actor
from caredesk.coverage import services as coverage_services
from caredesk.coverage.models import Coverage, Payer, Plan
from caredesk.coverage.schemas import CoverageInput
from caredesk.patients.models import Patient
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from tests.patients.factories import make_patient, staff_actor

DEMO_CODES = Path(services.__file__).parent / "data" / "demo_procedure_codes.csv"
VISIT = dt.date(2026, 11, 2)


@pytest.fixture(autouse=True)
def _x12_files(settings, tmp_path: Path) -> Path:
    settings.CAREDESK_X12_DIR = tmp_path / "x12"
    return tmp_path / "x12"


@dataclass
class BillingClinic:
    org: Organization
    billing: Actor
    coordinator: Actor
    payer: Payer
    plan: Plan
    patient: Patient
    coverage: Coverage
    practitioner: Practitioner

    def charges(self, **fields: object) -> ChargesInput:
        values: dict[str, object] = {
            "patient_id": self.patient.pk,
            "rendering_provider_id": self.practitioner.pk,
            "coverage_id": self.coverage.pk,
            "diagnoses": ("E11.9", "I10"),
            "lines": (
                LineInput(procedure_code="G0439", service_date=VISIT, diagnosis_pointers=(1, 2)),
                LineInput(
                    procedure_code="G0444",
                    service_date=VISIT,
                    diagnosis_pointers=(2,),
                    modifiers=("25",),
                    units=Decimal("2"),
                ),
            ),
        }
        values.update(fields)
        return ChargesInput(**values)  # type: ignore[arg-type]


def build_clinic(name: str, short_code: str, npi: str, practitioner_npi: str) -> BillingClinic:
    org = Organization.objects.create(name=name, short_code=short_code, npi=npi, tax_id="12-3456789")
    Location.objects.create(
        organization=org,
        name=f"{name} Clinic",
        address_line="1 Main St",
        city="Albany",
        state="NY",
        postal_code="12207-1234",
    )
    billing = staff_actor(org, Role.BILLING)
    admin = staff_actor(org, Role.ADMINISTRATOR)
    payer = coverage_services.create_payer(
        actor=billing, name="Acme Health", payer_id="60054", route="file_drop"
    )
    plan = coverage_services.create_plan(actor=billing, payer_id=payer.pk, name="Acme Gold PPO")
    patient = make_patient(
        admin,
        given_name="Maria",
        family_name="Lopez",
        birth_date=dt.date(1961, 3, 4),
        sex="female",
        address_line1="12 Elm St",
        city="Albany",
        state="NY",
        postal_code="12208",
    )
    coverage = coverage_services.add_coverage(
        actor=billing,
        patient_id=patient.pk,
        data=CoverageInput(
            plan_id=plan.pk, member_id="W123456789", group_number="GRP42", effective_from=dt.date(2024, 1, 1)
        ),
    )
    practitioner = create_practitioner(
        actor=admin,
        data=PractitionerInput(
            given_name="Ann", family_name="Smith", npi=practitioner_npi, specialty="family_medicine"
        ),
    )
    services.load_procedure_codes(actor=billing, text=DEMO_CODES.read_text(), source="demo")
    return BillingClinic(
        org=org,
        billing=billing,
        coordinator=staff_actor(org, Role.COORDINATOR),
        payer=payer,
        plan=plan,
        patient=patient,
        coverage=coverage,
        practitioner=practitioner,
    )


@pytest.fixture
def clinic(db) -> BillingClinic:
    return build_clinic("Riverside Health", "RSH", "1234567893", "1245319599")


@pytest.fixture
def other_clinic(db, clinic: BillingClinic) -> BillingClinic:
    return build_clinic("Hilltop Medical", "HMG", "1679576722", "1215930367")

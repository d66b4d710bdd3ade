"""A clinic with insurance: Riverside Health (with an NPI and tax ID), two payers (one answering at once
through the test payer, one by file drop), a plan each, and a patient. Built through the services.

Background tasks run at once (django-tasks' immediate backend) once the request's transaction commits;
tests that send use `django_capture_on_commit_callbacks(execute=True)`. X12 files go to a temporary folder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.coverage import services
from caredesk.coverage.models import Coverage, Payer, Plan
from caredesk.coverage.schemas import CoverageInput
from caredesk.patients.models import Patient
from tests.patients.factories import make_patient, staff_actor

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _tasks_and_files(settings, tmp_path: Path) -> Path:
    settings.TASKS = IMMEDIATE
    settings.CAREDESK_X12_DIR = tmp_path / "x12"
    return tmp_path / "x12"


@pytest.fixture
def x12_dir(settings) -> Path:
    return Path(settings.CAREDESK_X12_DIR)


@dataclass
class Clinic:
    org: Organization
    front_desk: Actor
    billing: Actor
    coordinator: Actor
    instant_payer: Payer
    instant_plan: Plan
    drop_payer: Payer
    drop_plan: Plan
    patient: Patient

    def coverage(self, patient: Patient | None = None, **fields: object) -> Coverage:
        values: dict[str, object] = {
            "plan_id": self.instant_plan.pk,
            "member_id": "W123456789",
            "group_number": "GRP-42",
            "effective_from": dt.date(2024, 1, 1),
        }
        values.update(fields)
        return services.add_coverage(
            actor=self.front_desk,
            patient_id=(patient or self.patient).pk,
            data=CoverageInput(**values),  # type: ignore[arg-type]
        )


@pytest.fixture
def clinic(db) -> Clinic:
    org = Organization.objects.create(
        name="Riverside Health", short_code="RSH", npi="1234567893", tax_id="12-3456789"
    )
    billing = staff_actor(org, Role.BILLING)
    instant = services.create_payer(actor=billing, name="Acme Health", payer_id="60054", route="test_payer")
    instant_plan = services.create_plan(
        actor=billing, payer_id=instant.pk, name="Acme Gold PPO", plan_type="PPO", copay=Decimal("30.00")
    )
    drop = services.create_payer(actor=billing, name="Blue River", payer_id="BR001", route="file_drop")
    drop_plan = services.create_plan(actor=billing, payer_id=drop.pk, name="Blue River HMO", plan_type="HMO")
    front_desk = staff_actor(org, Role.FRONT_DESK)
    patient = make_patient(
        front_desk, given_name="Maya", family_name="Lindqvist", birth_date=dt.date(1984, 6, 2)
    )
    return Clinic(
        org=org,
        front_desk=front_desk,
        billing=billing,
        coordinator=staff_actor(org, Role.COORDINATOR),
        instant_payer=instant,
        instant_plan=instant_plan,
        drop_payer=drop,
        drop_plan=drop_plan,
        patient=patient,
    )

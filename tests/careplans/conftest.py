"""Care-plan fixtures: staff of the roles that keep plans, a diabetic patient, billing practitioners; all
set up through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from caredesk.accounts.models import Location, Organization, User
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.patients import services as patient_services
from caredesk.patients.models import Patient
from caredesk.practitioners.models import Practitioner
from caredesk.practitioners.services import PractitionerInput, create_practitioner
from tests.patients.factories import make_patient, staff_actor
from tests.support.world import valid_npi

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _immediate_tasks(settings) -> None:
    settings.TASKS = IMMEDIATE


def staff_user(organization: Organization, role: str, username: str) -> User:
    return User.objects.create_user(
        username=username,
        password=None,
        organization=organization,
        role=role,
        first_name=role.replace("_", " ").title(),
        last_name="Tester",
    )


@pytest.fixture
def staff(org) -> dict[str, User]:
    return {role: staff_user(org, role, f"cp-{role}") for role in Role.values if role != Role.PATIENT}


@pytest.fixture
def coord(staff, actor_of) -> Actor:
    return actor_of(staff[Role.COORDINATOR])


@pytest.fixture
def nurse(staff, actor_of) -> Actor:
    return actor_of(staff[Role.NURSE])


def chronic(actor: Actor, patient: Patient, *codes: str) -> Patient:
    """Put chronic conditions on the patient's problem list (default: type 2 diabetes and hypertension,
    which makes the patient eligible for CCM)."""
    for code in codes or ("E11.9", "I10"):
        patient_services.add_problem(actor=actor, patient_id=patient.pk, icd10_code=code)
    return patient


@pytest.fixture
def patient(coord) -> Patient:
    """A diabetic patient with hypertension (two chronic conditions: CCM-eligible)."""
    return chronic(coord, make_patient(coord, family_name="Plansworth", given_name="Dora"))


@pytest.fixture
def stranger(other_org, actor_of) -> Actor:
    return actor_of(staff_user(other_org, Role.COORDINATOR, "cp-stranger"))


@pytest.fixture
def other_patient(stranger) -> Patient:
    return make_patient(stranger, family_name="Elsewhere")


def _practitioner(org: Organization, given: str, family: str, n: int) -> Practitioner:
    location = Location.objects.filter(organization=org).first()
    return create_practitioner(
        actor=staff_actor(org, Role.ADMINISTRATOR),
        data=PractitionerInput(
            given_name=given,
            family_name=family,
            npi=valid_npi(7000 + n),
            specialty="family_medicine",
            credentials="MD",
            location_ids=[location.pk] if location else [],
        ),
    )


@pytest.fixture
def doctor(org) -> Practitioner:
    return _practitioner(org, "Finn", "Family", 1)


@pytest.fixture
def other_doctor(org) -> Practitioner:
    return _practitioner(org, "Ida", "Internist", 2)


def observe(
    actor: Actor, patient: Patient, kind: str, value: str, value2: str | None = None, days_ago: int = 1
):
    return patient_services.add_observation(
        actor=actor,
        patient_id=patient.pk,
        kind=kind,
        value=value,
        value2=value2,
        effective_at=timezone.now() - dt.timedelta(days=days_ago),
    )

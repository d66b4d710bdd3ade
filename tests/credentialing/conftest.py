"""A clinic with credentials: the scheduling test clinic (Riverside Main Clinic, New York) plus licenses,
privileges and an expired New Jersey license, built through the services like a coordinator would.

Dr. Cora Heart: NY license (active), NJ license expired on 2027-01-31; Dr. Finn Family: NY and NJ
licenses (active). Both hold granted privileges for the follow-up and video visit types at the clinic.
The clocks stand at Monday 1 March 2027, 07:00 New York.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.credentialing import clock as cred_clock
from caredesk.credentialing import services
from caredesk.credentialing.models import StateLicense
from caredesk.scheduling import clock as scheduling_clock
from caredesk.worklist import clock as worklist_clock
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import NOW, Clinic, build_clinic


@pytest.fixture
def cred_now(monkeypatch) -> Callable[[dt.datetime], None]:
    """Credentialing's, the worklist's and scheduling's clocks at NOW; call the value to move all three."""
    current = {"now": NOW}
    for module in (cred_clock, worklist_clock, scheduling_clock):
        monkeypatch.setattr(module, "now", lambda: current["now"].astimezone(dt.UTC))

    def move(to: dt.datetime) -> None:
        current["now"] = to

    return move


@dataclass
class Credentialed:
    clinic: Clinic
    coordinator: Actor
    heart_ny: StateLicense
    heart_nj: StateLicense
    family_ny: StateLicense
    family_nj: StateLicense


def grant(actor: Actor, practitioner_id: int, location_id: int, code: str, label: str = "") -> None:
    services.request_privilege(
        actor=actor,
        practitioner_id=practitioner_id,
        data=services.PrivilegeInput(
            location_id=location_id, service_code=code, service_label=label, status="granted"
        ),
    )


def license_for(actor: Actor, practitioner_id: int, state: str, number: str, issued: str, expires: str):
    return services.add_license(
        actor=actor,
        practitioner_id=practitioner_id,
        data=services.LicenseInput(state=state, number=number, issued_on=issued, expires_on=expires),
    )


@pytest.fixture
def credentialed(org, cred_now) -> Credentialed:
    clinic = build_clinic(org)
    coordinator = staff_actor(org, Role.COORDINATOR)
    heart, family = clinic.heart.pk, clinic.family.pk
    creds = Credentialed(
        clinic=clinic,
        coordinator=coordinator,
        heart_ny=license_for(coordinator, heart, "NY", "NY-200111", "2020-01-15", "2028-12-31"),
        heart_nj=license_for(coordinator, heart, "NJ", "25MA0001", "2019-02-01", "2027-01-31"),
        family_ny=license_for(coordinator, family, "NY", "NY-300222", "2021-06-01", "2029-05-31"),
        family_nj=license_for(coordinator, family, "NJ", "25MA0002", "2021-06-01", "2029-05-31"),
    )
    for practitioner_id in (heart, family):
        for visit_type in (clinic.follow_up, clinic.video, clinic.new_patient):
            grant(coordinator, practitioner_id, clinic.location.pk, visit_type.code, visit_type.name)
    return creds

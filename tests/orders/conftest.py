"""An ordering clinic: the credentialing test clinic (Riverside Main Clinic, New York; Dr. Cora Heart with
an active NY license and an NJ license that expired on 2027-01-31; Dr. Finn Family licensed in NY and NJ)
where both may order a lumbar MRI (CPT 72148) and Dr. Family, who holds a DEA registration in New York,
may do a procedure with a controlled substance (CPT 64483). A patient in New York and one in New Jersey.
Every clock stands at Monday 1 March 2027, 07:00 New York.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role
from caredesk.accounts.services import create_api_token
from caredesk.core.context import Actor, system_actor
from caredesk.credentialing import services as credential_services
from caredesk.orders import clock as order_clock
from caredesk.orders import services
from caredesk.orders.models import Order
from caredesk.patients.models import Patient
from tests.credentialing.conftest import Credentialed, cred_now, credentialed, grant  # noqa: F401
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import NOW, Clinic

MRI = "72148"
INJECTION = "64483"


@dataclass
class Ordering:
    creds: Credentialed
    physician: Actor
    nurse: Actor
    admin: Actor
    ny_patient: Patient
    nj_patient: Patient

    @property
    def clinic(self) -> Clinic:
        return self.creds.clinic

    def order(
        self,
        actor: Actor | None = None,
        *,
        place: bool = True,
        override_reason: str = "",
        **fields: object,
    ) -> Order:
        values: dict[str, object] = {
            "patient_id": self.ny_patient.pk,
            "kind": "imaging",
            "code": MRI,
            "code_display": "MRI lumbar spine without contrast",
            "location_id": self.clinic.location.pk,
            "practitioner_id": self.clinic.heart.pk,
            "diagnoses": ["M54.50"],
            "reason": "Low back pain for 8 weeks despite therapy",
        }
        values.update(fields)
        return services.create_order(
            actor=actor or self.physician,
            data=services.OrderInput(**values),  # type: ignore[arg-type]
            place=place,
            override_reason=override_reason,
        )


@pytest.fixture
def ordering(credentialed, cred_now, monkeypatch) -> Ordering:  # noqa: F811
    monkeypatch.setattr(order_clock, "now", lambda: NOW.astimezone(dt.UTC))
    clinic = credentialed.clinic
    coordinator = credentialed.coordinator
    for practitioner in (clinic.heart, clinic.family):
        grant(coordinator, practitioner.pk, clinic.location.pk, MRI, "MRI lumbar spine")
    grant(coordinator, clinic.family.pk, clinic.location.pk, INJECTION, "Transforaminal epidural injection")
    grant(coordinator, clinic.heart.pk, clinic.location.pk, INJECTION, "Transforaminal epidural injection")
    credential_services.add_dea(
        actor=coordinator,
        practitioner_id=clinic.family.pk,
        data=credential_services.DeaInput(
            state="NY",
            number="BF1234563",
            schedules="2,3,4,5",
            issued_on="2024-01-01",
            expires_on="2029-12-31",
        ),
    )
    return Ordering(
        creds=credentialed,
        physician=staff_actor(clinic.org, Role.PHYSICIAN),
        nurse=staff_actor(clinic.org, Role.NURSE),
        admin=clinic.admin,
        ny_patient=clinic.patient(given_name="Nora", family_name="Yorke", state="NY"),
        nj_patient=clinic.patient(given_name="Jessie", family_name="Jersey", state="NJ"),
    )


@pytest.fixture
def api(make_user) -> Callable[..., Client]:
    """A bearer-token client for a new user of `role` in `organization` (a portal user: of `patient`)."""
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")

    def client_for(role: str, organization: Organization, patient: Patient | None = None) -> Client:
        user = make_user(role, organization, patient=patient)
        token = create_api_token(actor=cli, username=user.username, name="tests")[1]
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return client_for

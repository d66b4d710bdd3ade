"""The practitioner directory through the JSON API."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from tests.patients.factories import portal_user_for
from tests.practitioners.conftest import valid_npi

pytestmark = pytest.mark.django_db


def test_practitioner_search_and_read(client_for, staff, add_practitioner, admin_actor, other_admin_actor):
    smith = add_practitioner(admin_actor, given="Jane", family="Smith", npi=valid_npi(7))
    add_practitioner(admin_actor, given="Omar", family="Jones")
    foreign = add_practitioner(other_admin_actor, given="Jane", family="Smithson")
    billing = client_for(staff(Role.BILLING))
    results = billing.get("/api/v1/practitioners", {"q": "smi"}).json()["results"]
    assert [(p["family_name"], p["npi"]) for p in results] == [("Smith", valid_npi(7))]
    assert billing.get("/api/v1/practitioners", {"npi": valid_npi(7)}).json()["results"][0]["id"] == smith.pk
    assert billing.get(f"/api/v1/practitioners/{smith.pk}").json()["given_name"] == "Jane"
    assert billing.get(f"/api/v1/practitioners/{foreign.pk}").status_code == 404


def test_practitioners_are_staff_only(client_for, patient, add_practitioner, admin_actor):
    practitioner = add_practitioner(admin_actor)
    portal = client_for(portal_user_for(patient))
    assert portal.get(f"/api/v1/practitioners/{practitioner.pk}").status_code == 403

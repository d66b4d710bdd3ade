"""Credentialing over the JSON API and FHIR: credentials, adding a license (bad input changes nothing),
the check with reasons and alternatives, Practitioner.qualification and PractitionerRole read/search."""

from __future__ import annotations

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner
from fhir.resources.R4B.practitionerrole import PractitionerRole

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import create_api_token
from caredesk.core.context import system_actor
from caredesk.credentialing.models import Privilege, StateLicense


@pytest.fixture
def api(make_user):
    cli = system_actor(organization_id=None, permissions=frozenset(), username="tests")

    def client_for(role, organization):
        user = make_user(role, organization)
        token = create_api_token(actor=cli, username=user.username, name="tests")[1]
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return client_for


def test_credentials_license_and_check(credentialed, api, other_org) -> None:
    clinic = credentialed.clinic
    client = api(Role.COORDINATOR, clinic.org)
    read = client.get(f"/api/v1/practitioners/{clinic.heart.pk}/credentials")
    assert read.status_code == 200
    body = read.json()
    assert {(lic["state"], lic["expired"]) for lic in body["licenses"]} == {("NY", False), ("NJ", True)}
    assert len(body["privileges"]) == 3
    assert body["npi_valid"] is True

    before = StateLicense.objects.count()
    bad = client.post(
        f"/api/v1/practitioners/{clinic.heart.pk}/licenses",
        {"state": "QQ", "number": "1", "expires_on": "2030-01-01"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "state"
    backwards = client.post(
        f"/api/v1/practitioners/{clinic.heart.pk}/licenses",
        {"state": "PA", "number": "1", "issued_on": "2031-01-01", "expires_on": "2030-01-01"},
        content_type="application/json",
    )
    assert backwards.status_code == 400
    assert backwards.json()["field"] == "expires_on"
    assert StateLicense.objects.count() == before
    created = client.post(
        f"/api/v1/practitioners/{clinic.heart.pk}/licenses",
        {"state": "PA", "number": "PA-1", "issued_on": "2021-01-01", "expires_on": "2030-01-01"},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["state"] == "PA"

    check = client.get(
        f"/api/v1/practitioners/{clinic.heart.pk}/credential-check",
        {"service_code": clinic.video.code, "location_id": clinic.location.pk, "state": "NJ"},
    )
    assert check.status_code == 200
    assert check.json() == {
        "ok": False,
        "reasons": [
            "Cora Heart, MD's New Jersey license 25MA0001 expired on 2027-01-31 and has not been renewed."
        ],
        "alternatives": [{"id": clinic.family.pk, "name": "Finn Family, MD"}],
    }
    duplicate = client.post(
        f"/api/v1/practitioners/{clinic.heart.pk}/privileges",
        {"location_id": clinic.location.pk, "service_code": clinic.video.code, "status": "granted"},
        content_type="application/json",
    )
    assert duplicate.status_code == 409
    stranger = api(Role.COORDINATOR, other_org)
    assert stranger.get(f"/api/v1/practitioners/{clinic.heart.pk}/credentials").status_code == 404
    assert (
        api(Role.NURSE, clinic.org).get(f"/api/v1/practitioners/{clinic.heart.pk}/credentials").status_code
        == 403
    )


def test_fhir_practitioner_qualifications_and_roles(credentialed, api) -> None:
    clinic = credentialed.clinic
    client = api(Role.COORDINATOR, clinic.org)
    practitioner = client.get(f"/fhir/Practitioner/{clinic.heart.pk}")
    assert practitioner.status_code == 200
    resource = FhirPractitioner.model_validate(practitioner.json())
    texts = [q.code.text for q in resource.qualification or []]
    assert "New Jersey Medical (MD) license (active)" in texts
    nj = next(q for q in resource.qualification or [] if q.identifier and q.identifier[0].value == "25MA0001")
    assert str(nj.period.end) == "2027-01-31"

    privilege = Privilege.objects.get(practitioner=clinic.heart, service_code=clinic.video.code)
    read = client.get(f"/fhir/PractitionerRole/{privilege.pk}")
    assert read.status_code == 200
    role = PractitionerRole.model_validate(read.json())
    assert role.active is True
    assert role.practitioner.reference == f"Practitioner/{clinic.heart.pk}"
    assert role.code[0].coding[0].code == clinic.video.code

    search = client.get(
        "/fhir/PractitionerRole",
        {"practitioner": f"Practitioner/{clinic.family.pk}", "location": f"Location/{clinic.location.pk}"},
    )
    bundle = Bundle.model_validate(search.json())
    assert len(bundle.entry or []) == 3
    by_service = client.get(
        "/fhir/PractitionerRole", {"service": f"urn:caredesk:privilege-service|{clinic.echo.code}"}
    )
    assert Bundle.model_validate(by_service.json()).entry is None
    assert client.get("/fhir/PractitionerRole/999999").status_code == 404
    metadata = client.get("/fhir/metadata").json()
    assert any(r["type"] == "PractitionerRole" for r in metadata["rest"][0]["resource"])

"""FHIR Coverage: read and search by patient, validated R4B resources, scoped to the organization."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role
from caredesk.coverage import services
from caredesk.coverage.schemas import CoverageInput
from tests.interop.conftest import FHIR_JSON, TokenClient, token_for
from tests.patients.factories import make_patient, staff_actor


@pytest.fixture
def insured(db):
    org = Organization.objects.create(name="Riverside Health", short_code="RSH", npi="1234567893")
    billing = staff_actor(org, Role.BILLING)
    payer = services.create_payer(actor=billing, name="Acme Health", payer_id="60054", route="test_payer")
    plan = services.create_plan(actor=billing, payer_id=payer.pk, name="Acme Gold", copay=Decimal("20"))
    patient = make_patient(staff_actor(org, Role.FRONT_DESK), given_name="Maya", family_name="Lindqvist")
    primary = services.add_coverage(
        actor=billing,
        patient_id=patient.pk,
        data=CoverageInput(
            plan_id=plan.pk, member_id="W1", group_number="G7", effective_from=dt.date(2024, 1, 1)
        ),
    )
    secondary = services.add_coverage(
        actor=billing,
        patient_id=patient.pk,
        data=CoverageInput(
            plan_id=plan.pk,
            member_id="W2",
            order=2,
            relationship="spouse",
            subscriber_given_name="Lars",
            subscriber_family_name="Lindqvist",
            effective_from=dt.date(2024, 1, 1),
        ),
    )
    return org, patient, primary, secondary


def test_read_coverage(insured, make_user):
    org, patient, primary, _ = insured
    client = TokenClient(token_for(make_user(Role.COORDINATOR, org)))
    response = client.get(f"/fhir/Coverage/{primary.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "Coverage"
    assert body["status"] == "active"
    assert body["subscriberId"] == "W1"
    assert body["beneficiary"]["reference"] == f"Patient/{patient.pk}"
    assert body["payor"][0]["identifier"]["value"] == "60054"
    assert body["order"] == 1
    assert {c["type"]["coding"][0]["code"]: c["value"] for c in body["class"]}["group"] == "G7"


def test_search_by_patient(insured, make_user):
    org, patient, primary, secondary = insured
    client = TokenClient(token_for(make_user(Role.FRONT_DESK, org)))
    bundle = client.get(f"/fhir/Coverage?patient=Patient/{patient.pk}").json()
    assert bundle["type"] == "searchset"
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert ids == [str(primary.pk), str(secondary.pk)]
    spouse = bundle["entry"][1]["resource"]
    assert spouse["relationship"]["coding"][0]["code"] == "spouse"
    assert spouse["subscriber"]["display"] == "Lars Lindqvist"


def test_other_organization_and_missing_patient(insured, make_user, other_org):
    _, patient, primary, _ = insured
    client = TokenClient(token_for(make_user(Role.FRONT_DESK, other_org)))
    assert client.get(f"/fhir/Coverage/{primary.pk}").status_code == 404
    bundle = client.get(f"/fhir/Coverage?patient={patient.pk}").json()
    assert bundle.get("entry", []) == []
    assert client.get("/fhir/Coverage").status_code == 400

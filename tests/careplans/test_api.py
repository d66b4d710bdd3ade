"""Care plans and CCM through the JSON API: bearer token, declared permission, the API's error format."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.careplans import services
from caredesk.careplans.models import CarePlan, CcmTimeEntry
from tests.interop.conftest import TokenClient, token_for

from .conftest import observe


@pytest.fixture
def api(staff) -> TokenClient:
    return TokenClient(token_for(staff[Role.NURSE]))


def test_create_and_read_a_plan(api, coord, patient):
    observe(coord, patient, "blood_pressure", "124", "76")
    created = api.post_json(f"/api/v1/patients/{patient.pk}/care-plans", {"template": "hypertension"})
    assert created.status_code == 201
    body = created.json()
    assert body["template"] == "hypertension"
    assert [(g["code"], g["status"]) for g in body["goals"]] == [("8480-6", "met"), ("8462-4", "met")]
    again = api.post_json(f"/api/v1/patients/{patient.pk}/care-plans", {"template": "hypertension"})
    assert again.status_code == 409
    assert again.json()["code"] == "careplan_exists"
    listed = api.get(f"/api/v1/patients/{patient.pk}/care-plans").json()["results"]
    assert [p["id"] for p in listed] == [body["id"]]
    assert {a["kind"] for a in listed[0]["activities"]} == {"visit", "lab", "outreach_call", "education"}


def test_bad_input_and_other_organizations(api, patient, other_patient):
    bad = api.post_json(f"/api/v1/patients/{patient.pk}/care-plans", {"template": "diabetes", "extra": 1})
    assert bad.status_code == 400
    unknown = api.post_json(f"/api/v1/patients/{patient.pk}/care-plans", {"template": "gout"})
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "careplan_unknown_template"
    assert api.get(f"/api/v1/patients/{other_patient.pk}/care-plans").status_code == 404
    assert (
        api.post_json(f"/api/v1/patients/{other_patient.pk}/care-plans", {"template": "ckd"}).status_code
        == 404
    )
    assert not CarePlan.objects.exists()


def test_ccm_time_and_summary(api, staff, coord, patient, doctor, other_doctor):
    url = f"/api/v1/patients/{patient.pk}/ccm-time"
    entry = {
        "performed_on": timezone.localdate().isoformat(),
        "minutes": 25,
        "activity": "Care plan review",
        "billing_practitioner_id": doctor.pk,
    }
    missing = api.post_json(url, entry)
    assert missing.status_code == 409
    assert missing.json()["code"] == "ccm_consent_missing"
    services.record_consent(
        actor=coord,
        patient_id=patient.pk,
        consented_on=timezone.localdate() - dt.timedelta(days=60),
        method="verbal",
    )
    logged = api.post_json(url, entry)
    assert logged.status_code == 201
    assert logged.json()["codes"] == ["99490"]
    logged = api.post_json(url, {**entry, "minutes": 20})
    assert logged.json()["month_minutes"] == 45
    assert logged.json()["codes"] == ["99490", "99439"]
    other = api.post_json(url, {**entry, "billing_practitioner_id": other_doctor.pk})
    assert other.status_code == 409
    assert other.json()["code"] == "ccm_other_billing_practitioner"
    assert api.post_json(url, {**entry, "minutes": 0}).status_code == 400
    assert CcmTimeEntry.objects.count() == 2
    assert (
        api.get("/api/v1/ccm/summary").status_code == 403
    )  # nurses log time; the summary is the coordinators'
    coordinator = TokenClient(token_for(User.objects.get(pk=coord.user_id)))
    summary = coordinator.get("/api/v1/ccm/summary").json()
    assert summary["results"] == [
        {"patient_id": patient.pk, "minutes": 45, "codes": ["99490", "99439"], "minutes_to_99490": 0}
    ]
    assert coordinator.get("/api/v1/ccm/summary", {"month": "2026-13"}).status_code == 400


def test_an_administrators_ccm_minutes_are_refused(staff, coord, patient, doctor):
    services.record_consent(
        actor=coord,
        patient_id=patient.pk,
        consented_on=timezone.localdate() - dt.timedelta(days=30),
        method="verbal",
    )
    admin = TokenClient(token_for(staff[Role.ADMINISTRATOR]))
    refused = admin.post_json(
        f"/api/v1/patients/{patient.pk}/ccm-time",
        {
            "performed_on": timezone.localdate().isoformat(),
            "minutes": 20,
            "activity": "Care plan review",
            "billing_practitioner_id": doctor.pk,
        },
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "ccm_not_clinical_staff"
    assert not CcmTimeEntry.objects.exists()

"""Prior authorizations through the JSON API and the insurance pages: request, approve, use, deny, cancel,
the check, and the payer's list of services needing one; bad input answers 4xx and changes nothing."""

from __future__ import annotations

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.coverage import services
from caredesk.coverage.models import AuthorizationRule, PriorAuthorization
from tests.conftest import sign_in
from tests.interop.conftest import TokenClient, token_for

API = "/api/v1"


@pytest.fixture
def api(clinic, make_user) -> TokenClient:
    return TokenClient(token_for(make_user(Role.FRONT_DESK, clinic.org)))


@pytest.fixture
def desk(clinic, make_user, client):
    return sign_in(client, make_user(Role.FRONT_DESK, clinic.org))


@pytest.fixture
def mri(clinic):
    services.add_authorization_rule(
        actor=clinic.billing,
        payer_id=clinic.instant_payer.pk,
        service_code="72148",
        description="MRI lumbar spine",
    )
    return clinic.coverage()


def test_api_request_approve_use_and_check(clinic, api, mri):
    patient = clinic.patient.pk
    check_url = f"{API}/patients/{patient}/authorization-check?service_code=72148&date=2026-06-15"
    missing = api.get(check_url).json()
    assert missing == {
        "needed": True,
        "ok": False,
        "reason": "Acme Health requires prior authorization for 72148 (MRI lumbar spine); none is on file.",
        "authorization_id": None,
    }
    created = api.post_json(
        f"{API}/patients/{patient}/authorizations", {"coverage_id": mri.pk, "service_code": "72148"}
    )
    assert created.status_code == 201, created.content
    auth = created.json()
    assert (auth["status"], auth["payer"], auth["description"]) == (
        "requested",
        "Acme Health",
        "MRI lumbar spine",
    )
    approved = api.post_json(
        f"{API}/authorizations/{auth['id']}/approval",
        {"auth_number": "A123", "units_authorized": 2, "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
    )
    assert approved.status_code == 200, approved.content
    assert api.get(check_url).json() == {
        "needed": True,
        "ok": True,
        "reason": "",
        "authorization_id": auth["id"],
    }
    for left in (1, 0):
        used = api.post_json(f"{API}/authorizations/{auth['id']}/uses", {"used_on": "2026-06-15"})
        assert used.status_code == 201
        assert used.json()["units_left"] == left
    refused = api.post_json(f"{API}/authorizations/{auth['id']}/uses", {"used_on": "2026-06-15"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "authorization_not_usable"
    assert "Authorization A123's 2 units are used up." in refused.json()["message"]
    listed = api.get(f"{API}/patients/{patient}/authorizations").json()["results"]
    assert [(a["units_used"], a["current_status"]) for a in listed] == [(2, "used up")]
    assert api.get(check_url).json()["reason"].endswith("Authorization A123's 2 units are used up.")


def test_api_refusals_change_nothing(clinic, api, mri):
    patient = clinic.patient.pk
    url = f"{API}/patients/{patient}/authorizations"
    assert api.post_json(url, {"coverage_id": mri.pk, "service_code": "no spaces"}).status_code == 400
    assert (
        api.post_json(url, {"coverage_id": mri.pk, "service_code": "72148", "units_requested": 0}).status_code
        == 400
    )
    auth = api.post_json(url, {"coverage_id": mri.pk, "service_code": "72148"}).json()
    backwards = api.post_json(
        f"{API}/authorizations/{auth['id']}/approval",
        {"auth_number": "A1", "units_authorized": 2, "valid_from": "2026-02-01", "valid_to": "2026-01-01"},
    )
    assert backwards.status_code == 400
    assert backwards.json()["field"] == "valid_to"
    denied = api.post_json(f"{API}/authorizations/{auth['id']}/denial", {"reason": "Not medically necessary"})
    assert denied.json()["status"] == "denied"
    again = api.post_json(f"{API}/authorizations/{auth['id']}/cancel", {})
    assert again.status_code == 409
    assert api.get(f"{API}/authorizations/999999").status_code == 404
    assert PriorAuthorization.objects.get().status == "denied"


def test_insurance_page_lists_authorizations_and_the_steps_work(clinic, desk, mri):
    auth = services.request_authorization(actor=clinic.front_desk, coverage_id=mri.pk, service_code="72148")
    page = desk.get(f"/coverage/patients/{clinic.patient.pk}/").content.decode()
    assert "Prior authorizations" in page
    assert f'href="/coverage/authorizations/{auth.pk}/"' in page
    assert AuditEvent.objects.filter(
        action=AuditAction.AUTHORIZATION_VIEW, patient_id=clinic.patient.pk
    ).exists()
    bad = desk.post(
        f"/coverage/authorizations/{auth.pk}/approve/",
        {"auth_number": "A7", "units_authorized": "3", "valid_from": "2026-05-01", "valid_to": "2026-04-01"},
    )
    assert bad.status_code == 400
    assert "cannot end before it starts" in bad.content.decode()
    ok = desk.post(
        f"/coverage/authorizations/{auth.pk}/approve/",
        {"auth_number": "A7", "units_authorized": "3", "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
    )
    assert ok.status_code == 302
    used = desk.post(f"/coverage/authorizations/{auth.pk}/use/", {"used_on": "2026-06-01", "units": "1"})
    assert used.status_code == 302
    detail = desk.get(f"/coverage/authorizations/{auth.pk}/").content.decode()
    assert "1 used of 3 authorized, 2 left" in detail
    late = desk.post(f"/coverage/authorizations/{auth.pk}/use/", {"used_on": "2027-01-05", "units": "1"})
    assert late.status_code == 409
    assert "expired on 2026-12-31" in late.content.decode()
    cancelled = desk.post(f"/coverage/authorizations/{auth.pk}/cancel/", {"cancel-reason": "Patient moved"})
    assert cancelled.status_code == 302
    assert PriorAuthorization.objects.get(pk=auth.pk).status == "cancelled"


def test_request_page_records_a_request(clinic, desk, mri):
    url = f"/coverage/patients/{clinic.patient.pk}/authorizations/new/"
    assert desk.get(url).status_code == 200
    missing = desk.post(url, {"coverage": str(mri.pk), "service_code": ""})
    assert missing.status_code == 400
    response = desk.post(url, {"coverage": str(mri.pk), "service_code": "72148", "units_requested": "6"})
    assert response.status_code == 302
    auth = PriorAuthorization.objects.get()
    assert (auth.units_requested, auth.description) == (6, "MRI lumbar spine")


def test_rules_page_adds_and_switches_off(clinic, make_user, client):
    billing = sign_in(client, make_user(Role.BILLING, clinic.org))
    url = "/coverage/authorization-rules/"
    added = billing.post(
        url,
        {
            "form": "rule",
            "payer": str(clinic.drop_payer.pk),
            "service_code": "pt-session",
            "description": "PT",
        },
    )
    assert added.status_code == 302
    duplicate = billing.post(
        url, {"form": "rule", "payer": str(clinic.drop_payer.pk), "service_code": "PT-SESSION"}
    )
    assert duplicate.status_code == 409
    rule = AuthorizationRule.objects.get()
    assert "pt-session" in billing.get(url).content.decode()
    assert billing.post(url, {"rule": str(rule.pk), "active": "0"}).status_code == 302
    rule.refresh_from_db()
    assert rule.active is False
    clinic.coverage(plan_id=clinic.drop_plan.pk)
    result = services.authorization_check(
        actor=clinic.front_desk,
        patient_id=clinic.patient.pk,
        service_code="pt-session",
        on_date=rule.created_at.date(),
    )
    assert result.needed is False

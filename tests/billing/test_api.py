"""Claims through the JSON API: bearer token, declared permission, audited reads, other organizations 404."""

from __future__ import annotations

import pytest

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from tests.interop.conftest import TokenClient, token_for

from .conftest import BillingClinic

pytestmark = pytest.mark.django_db


def client(make_user, clinic: BillingClinic, role: str) -> TokenClient:
    user: User = make_user(role, clinic.org)
    return TokenClient(token_for(user))


def test_list_filter_and_read(clinic: BillingClinic, make_user) -> None:
    draft = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    ready = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    services.change_status(actor=clinic.billing, claim_id=ready.pk, target=ClaimStatus.READY)
    api = client(make_user, clinic, Role.BILLING)

    listed = api.get("/api/v1/claims", {"status": "ready"})
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["results"]] == [ready.pk]
    assert [c["id"] for c in api.get("/api/v1/claims").json()["results"]] == [ready.pk, draft.pk]

    body = api.get(f"/api/v1/claims/{draft.pk}").json()
    assert body["status"] == "draft"
    assert body["total"] == "160.00"
    assert [d["code"] for d in body["diagnoses"]] == ["E11.9", "I10"]
    assert body["lines"][1] == {
        "position": 2,
        "procedure_code": "G0444",
        "modifiers": ["25"],
        "diagnosis_pointers": [2],
        "units": "2.00",
        "charge": "40.00",
        "service_date": "2026-11-02",
    }
    assert [e["to_status"] for e in body["events"]] == ["draft"]
    assert AuditEvent.objects.filter(action=AuditAction.CLAIM_VIEW, patient_id=clinic.patient.pk).exists()


def test_coordinators_read_front_desk_may_not(clinic: BillingClinic, make_user) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    assert client(make_user, clinic, Role.COORDINATOR).get(f"/api/v1/claims/{claim.pk}").status_code == 200
    assert client(make_user, clinic, Role.FRONT_DESK).get(f"/api/v1/claims/{claim.pk}").status_code == 403


def test_other_organization_and_bad_ids(
    clinic: BillingClinic, other_clinic: BillingClinic, make_user
) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    stranger = client(make_user, other_clinic, Role.BILLING)
    answer = stranger.get(f"/api/v1/claims/{claim.pk}")
    assert answer.status_code == 404
    assert answer.json()["code"] == "claim_not_found"
    assert stranger.get("/api/v1/claims").json()["results"] == []
    assert stranger.get("/api/v1/claims/0").status_code == 400

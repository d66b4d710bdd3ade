"""Entering charges, scrubbing and marking claims ready through the JSON API: what a biller's system sends,
what comes back, and bad input answered 4xx with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.billing import services
from caredesk.billing.choices import ClaimStatus
from caredesk.billing.models import ChargeLine, Claim, ClaimEvent
from caredesk.coverage import services as coverage_services
from tests.interop.conftest import TokenClient, token_for

from .conftest import VISIT, BillingClinic

pytestmark = pytest.mark.django_db


def api(make_user, clinic: BillingClinic, role: str = Role.BILLING) -> TokenClient:
    return TokenClient(token_for(make_user(role, clinic.org)))


def charges(clinic: BillingClinic, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_id": clinic.patient.pk,
        "rendering_provider_id": clinic.practitioner.pk,
        "coverage_id": clinic.coverage.pk,
        "place_of_service": "11",
        "diagnoses": ["E11.9", "I10"],
        "lines": [
            {"procedure_code": "G0439", "service_date": VISIT.isoformat(), "diagnosis_pointers": [1, 2]},
            {
                "procedure_code": "G0444",
                "service_date": VISIT.isoformat(),
                "diagnosis_pointers": [2],
                "modifiers": ["25"],
                "units": "2",
            },
        ],
    }
    body.update(changes)
    return body


def test_enter_charges_then_scrub_and_mark_ready(clinic: BillingClinic, make_user) -> None:
    client = api(make_user, clinic)
    created = client.post_json("/api/v1/claims", charges(clinic))
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    assert body["scrub_problems"] == []
    assert body["place_of_service"] == "11"
    assert body["rendering_provider_id"] == clinic.practitioner.pk
    assert body["billing_npi"] == clinic.org.npi
    assert body["total"] == "160.00"  # 120.00 + 2 x 20.00, from the code list's prices
    assert body["lines"][1]["modifiers"] == ["25"]
    assert body["lines"][1]["diagnosis_pointers"] == [2]
    assert [e["to_status"] for e in body["events"]] == ["draft"]
    claim_id = body["id"]
    assert AuditEvent.objects.filter(action=AuditAction.CLAIM_CREATE, patient_id=clinic.patient.pk).exists()

    scrubbed = client.post_json(f"/api/v1/claims/{claim_id}/scrub", {})
    assert scrubbed.status_code == 200
    assert scrubbed.json() == {"claim_id": claim_id, "status": "draft", "clean": True, "problems": []}

    ready = client.post_json(f"/api/v1/claims/{claim_id}/ready", {"note": "checked"})
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    timeline = ready.json()["events"]
    assert [(e["from_status"], e["to_status"], e["note"]) for e in timeline] == [
        ("", "draft", ""),
        ("draft", "ready", "checked"),
    ]
    # Listing and reading show the same claim with its timeline.
    listed = client.get("/api/v1/claims", {"status": "ready"}).json()["results"]
    assert [c["id"] for c in listed] == [claim_id]
    # A ready claim is no longer scrubbed or marked ready again: 409, unchanged.
    assert client.post_json(f"/api/v1/claims/{claim_id}/scrub", {}).status_code == 409
    again = client.post_json(f"/api/v1/claims/{claim_id}/ready", {})
    assert again.status_code == 409
    assert again.json()["code"] == "claim_blocked"
    assert ClaimEvent.objects.filter(claim_id=claim_id).count() == 2


def test_scrub_reports_problems_and_ready_is_refused_with_them(clinic: BillingClinic, make_user) -> None:
    client = api(make_user, clinic)
    claim_id = client.post_json("/api/v1/claims", charges(clinic)).json()["id"]
    # The coverage ends before the visit: the scrubber now finds the service date outside it.
    coverage_services.end_coverage(
        actor=clinic.billing, coverage_id=clinic.coverage.pk, end_date=VISIT.replace(day=1)
    )
    scrubbed = client.post_json(f"/api/v1/claims/{claim_id}/scrub", {}).json()
    assert scrubbed["clean"] is False
    assert any("outside the coverage" in p for p in scrubbed["problems"])
    assert AuditEvent.objects.filter(action=AuditAction.CLAIM_SCRUBBED, patient_id=clinic.patient.pk).exists()

    refused = client.post_json(f"/api/v1/claims/{claim_id}/ready", {})
    assert refused.status_code == 409
    assert refused.json()["details"]["problems"] == scrubbed["problems"]
    claim = Claim.objects.get(pk=claim_id)
    assert claim.status == ClaimStatus.DRAFT
    assert claim.scrub_problems == scrubbed["problems"]


BAD_INPUT = [
    ("unknown procedure code", {"lines": [{"procedure_code": "ZZZZZ", "service_date": VISIT.isoformat()}]}),
    (
        "pointer past the diagnoses",
        {
            "lines": [
                {"procedure_code": "G0439", "service_date": VISIT.isoformat(), "diagnosis_pointers": [3]}
            ]
        },
    ),
    (
        "five modifiers",
        {
            "lines": [
                {
                    "procedure_code": "G0439",
                    "service_date": VISIT.isoformat(),
                    "modifiers": ["25", "59", "76", "77", "91"],
                }
            ]
        },
    ),
    (
        "zero units",
        {"lines": [{"procedure_code": "G0439", "service_date": VISIT.isoformat(), "units": "0"}]},
    ),
    (
        "a negative charge",
        {"lines": [{"procedure_code": "G0439", "service_date": VISIT.isoformat(), "charge": "-5.00"}]},
    ),
    ("no lines", {"lines": []}),
    ("no diagnosis", {"diagnoses": []}),
    ("not an ICD-10-CM code", {"diagnoses": ["XYZ"]}),
    ("a category, not billable", {"diagnoses": ["E11"]}),
    ("place of service not two digits", {"place_of_service": "1A"}),
    ("an unknown field", {"discount": "10"}),
    (
        "money as a float with too many decimals",
        {"lines": [{"procedure_code": "G0439", "service_date": VISIT.isoformat(), "charge": 10.005}]},
    ),
]


@pytest.mark.parametrize(("why", "change"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_charges_answer_400_and_save_nothing(
    clinic: BillingClinic, make_user, why: str, change: dict[str, Any]
) -> None:
    client = api(make_user, clinic)
    answer = client.post_json("/api/v1/claims", charges(clinic, **change))
    assert answer.status_code == 400, (why, answer.content)
    assert answer.json()["message"]
    assert Claim.objects.count() == 0
    assert ChargeLine.objects.count() == 0
    assert not AuditEvent.objects.filter(action=AuditAction.CLAIM_CREATE).exists()


def test_another_organizations_records_are_not_found_and_change_nothing(
    clinic: BillingClinic, other_clinic: BillingClinic, make_user
) -> None:
    client = api(make_user, clinic)
    # Their patient, their practitioner, their coverage: each refused, nothing saved.
    assert (
        client.post_json("/api/v1/claims", charges(clinic, patient_id=other_clinic.patient.pk)).status_code
        == 404
    )
    for change in (
        {"rendering_provider_id": other_clinic.practitioner.pk},
        {"coverage_id": other_clinic.coverage.pk},
    ):
        assert client.post_json("/api/v1/claims", charges(clinic, **change)).status_code == 400
    assert Claim.objects.count() == 0
    theirs = services.enter_charges(actor=other_clinic.billing, data=other_clinic.charges())
    for action in ("scrub", "ready"):
        answer = client.post_json(f"/api/v1/claims/{theirs.pk}/{action}", {})
        assert answer.status_code == 404
        assert answer.json()["code"] == "claim_not_found"
    theirs.refresh_from_db()
    assert theirs.status == ClaimStatus.DRAFT
    assert client.post_json("/api/v1/claims/0/scrub", {}).status_code == 400


def test_coordinators_read_but_may_not_write(clinic: BillingClinic, make_user) -> None:
    claim = services.enter_charges(actor=clinic.billing, data=clinic.charges())
    coordinator = api(make_user, clinic, Role.COORDINATOR)
    assert coordinator.get(f"/api/v1/claims/{claim.pk}").status_code == 200
    assert coordinator.post_json("/api/v1/claims", charges(clinic)).status_code == 403
    assert coordinator.post_json(f"/api/v1/claims/{claim.pk}/ready", {}).status_code == 403
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DRAFT
    assert Claim.objects.count() == 1

"""The referral loop-closure report over the JSON API: aggregates per specialty and receiver for the
referrals sent in the period, for REFERRAL_MANAGE only; a backwards or too long period is refused; the
reading is audited and names no patient."""

from __future__ import annotations

import pytest
from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from tests.interop.conftest import TokenClient, audit_rows, token_for

pytestmark = pytest.mark.django_db


def test_the_report_counts_the_referrals_sent(api, coordinator, patient):
    sent = api.post_json(
        "/api/v1/referrals",
        {"patient_id": patient.pk, "specialty": "neurology", "reason": "Headaches", "send": True},
    )
    assert sent.status_code == 201, sent.content

    response = api.get("/api/v1/reports/referral-loop")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["until"] == timezone.localdate().isoformat()
    assert (body["total"]["sent"], body["total"]["closed"], body["total"]["closure_rate"]) == (1, 0, 0.0)
    assert [g["key"] for g in body["by_specialty"]] == ["Neurology"]
    assert set(body["total"]["medians"]) == set(body["steps"])
    assert patient.family_name not in response.content.decode()
    [row] = audit_rows(AuditAction.REFERRAL_REPORT_VIEW, actor_id=coordinator.pk)
    assert row.patient_id is None


def test_an_empty_period_and_the_refusals(api, staff):
    empty = api.get("/api/v1/reports/referral-loop?since=2020-01-01&until=2020-02-01").json()
    assert (empty["total"]["sent"], empty["by_specialty"]) == (0, [])

    backwards = api.get("/api/v1/reports/referral-loop?since=2020-02-01&until=2020-01-01")
    assert backwards.status_code == 400
    future = api.get("/api/v1/reports/referral-loop?since=2999-01-01")
    assert (future.status_code, future.json()["field"]) == (400, "since")
    too_long = api.get("/api/v1/reports/referral-loop?since=2010-01-01&until=2020-01-01")
    assert too_long.status_code == 400
    nurse = TokenClient(token_for(staff(Role.NURSE)))
    assert nurse.get("/api/v1/reports/referral-loop").status_code == 403

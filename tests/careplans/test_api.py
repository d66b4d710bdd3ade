"""Care plans and CCM through the JSON API: bearer token, declared permission, the API's error format."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.careplans import services
from caredesk.careplans.models import CarePlan, CcmTimeEntry
from tests.interop.conftest import TokenClient, audit_rows, token_for
from tests.patients.factories import make_patient

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


def _plan_json(api: TokenClient, patient_id: int) -> dict:
    return api.get(f"/api/v1/patients/{patient_id}/care-plans").json()["results"][0]


def test_goals_are_added_changed_and_cancelled(api, coord, patient, stranger):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    due = (timezone.localdate() + dt.timedelta(days=90)).isoformat()
    added = api.post_json(
        f"/api/v1/care-plans/{plan.pk}/goals",
        {
            "description": "HbA1c below 6.5 %",
            "code": "4548-4",
            "comparator": "lt",
            "target": "6.5",
            "due_on": due,
        },
    )
    assert added.status_code == 201, added.content
    goal = added.json()
    assert (goal["unit"], goal["due_on"], goal["lifecycle_status"]) == ("%", due, "active")
    unknown = api.post_json(
        f"/api/v1/care-plans/{plan.pk}/goals",
        {"description": "Shoe size", "code": "0000-0", "comparator": "lt", "target": "44"},
    )
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "code"

    later = (timezone.localdate() + dt.timedelta(days=180)).isoformat()
    changed = api.patch_json(f"/api/v1/care-plans/goals/{goal['id']}", {"target": "7", "due_on": later})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["target"], changed.json()["due_on"]) == ("7.00", later)
    assert changed.json()["description"] == "HbA1c below 6.5 %"  # what was not sent stays
    cleared = api.patch_json(f"/api/v1/care-plans/goals/{goal['id']}", {"due_on": None})
    assert cleared.json()["due_on"] is None

    cancelled = api.post_json(f"/api/v1/care-plans/goals/{goal['id']}/cancel", {"reason": "Too strict"})
    assert cancelled.status_code == 200, cancelled.content
    assert (cancelled.json()["lifecycle_status"], cancelled.json()["cancel_reason"]) == (
        "cancelled",
        "Too strict",
    )
    shown = _plan_json(api, patient.pk)
    assert goal["id"] not in [g["id"] for g in shown["goals"]]
    assert [g["id"] for g in shown["cancelled_goals"]] == [goal["id"]]
    again = api.patch_json(f"/api/v1/care-plans/goals/{goal['id']}", {"target": "8"})
    assert again.status_code == 409
    assert again.json()["code"] == "careplan_item_cancelled"
    assert api.post_json(f"/api/v1/care-plans/goals/{goal['id']}/cancel", {"reason": ""}).status_code == 400

    elsewhere = services.create_plan(
        actor=stranger, patient_id=make_patient(stranger, family_name="Away").pk, template_code="diabetes"
    )
    other_goal = elsewhere.goals.first()
    assert (
        api.post_json(
            f"/api/v1/care-plans/{elsewhere.pk}/goals",
            {"description": "x", "code": "4548-4", "comparator": "lt", "target": "7"},
        ).status_code
        == 404
    )
    assert api.patch_json(f"/api/v1/care-plans/goals/{other_goal.pk}", {"target": "6"}).status_code == 404
    assert (
        api.post_json(f"/api/v1/care-plans/goals/{other_goal.pk}/cancel", {"reason": "x"}).status_code == 404
    )
    assert elsewhere.goals.filter(status="active").count() == elsewhere.goals.count()
    assert len(audit_rows(AuditAction.CAREPLAN_UPDATE, patient_id=patient.pk)) >= 4


def test_activities_are_added_completed_and_cancelled(api, coord, patient):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    added = api.post_json(
        f"/api/v1/care-plans/{plan.pk}/activities",
        {"kind": "lab", "description": "Lipid panel", "every_months": 12, "due_on": due},
    )
    assert added.status_code == 201, added.content
    activity = added.json()
    assert (activity["due_on"], activity["status"]) == (due, "active")
    done = api.post_json(f"/api/v1/care-plans/activities/{activity['id']}/complete", {})
    assert done.status_code == 200, done.content
    today = timezone.localdate()
    assert done.json()["last_done_on"] == today.isoformat()
    assert done.json()["due_on"] > today.isoformat()  # due again a year later
    future = api.post_json(
        f"/api/v1/care-plans/activities/{activity['id']}/complete",
        {"done_on": (today + dt.timedelta(days=2)).isoformat()},
    )
    assert future.status_code == 400
    cancelled = api.post_json(
        f"/api/v1/care-plans/activities/{activity['id']}/cancel", {"reason": "Done by the cardiologist"}
    )
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    shown = _plan_json(api, patient.pk)
    assert [a["id"] for a in shown["cancelled_activities"]] == [activity["id"]]
    assert activity["id"] not in [a["id"] for a in shown["activities"]]
    again = api.post_json(f"/api/v1/care-plans/activities/{activity['id']}/complete", {})
    assert again.status_code == 409
    assert again.json()["code"] == "careplan_item_cancelled"
    services.close_plan(actor=coord, plan_id=plan.pk, status="completed", reason="Done")
    closed = api.post_json(
        f"/api/v1/care-plans/{plan.pk}/activities",
        {"kind": "lab", "description": "Lipid panel", "due_on": due},
    )
    assert closed.status_code == 409
    assert closed.json()["code"] == "careplan_closed"


def test_care_team_members_are_named_and_removed(api, coord, patient, doctor, staff):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    url = f"/api/v1/care-plans/{plan.pk}/care-team"
    named = api.post_json(url, {"role": "physician", "practitioner_id": doctor.pk})
    assert named.status_code == 201, named.content
    member = named.json()
    assert member["practitioner_id"] == doctor.pk
    assert doctor.family_name in member["name"]
    nurse_user = staff[Role.NURSE]
    assert api.post_json(url, {"role": "nurse", "user_id": nurse_user.pk}).status_code == 201
    twice = api.post_json(url, {"role": "nurse", "user_id": nurse_user.pk})
    assert twice.status_code == 400
    both = api.post_json(url, {"role": "nurse", "user_id": nurse_user.pk, "practitioner_id": doctor.pk})
    assert both.status_code == 400
    team = _plan_json(api, patient.pk)["team"]
    assert {(m["role"], m["user_id"]) for m in team} >= {("nurse", nurse_user.pk)}
    removed = api.delete(f"/api/v1/care-plans/care-team/{member['id']}")
    assert removed.status_code == 200, removed.content
    assert member["id"] not in [m["id"] for m in removed.json()["results"]]
    assert api.delete(f"/api/v1/care-plans/care-team/{member['id']}").status_code == 404
    assert len(audit_rows(AuditAction.CAREPLAN_UPDATE, patient_id=patient.pk)) >= 3

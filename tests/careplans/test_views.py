"""Care-plan pages through the browser's eyes: status badges, htmx edits, refusals, other organizations,
the patient copy (PDF text read back) and the CCM month summary with its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.careplans import rules, services, tasks
from caredesk.careplans.models import CarePlan, CcmConsent, CcmTimeEntry, Goal
from caredesk.worklist.models import Task
from tests.patients.factories import portal_user_for

from .conftest import observe

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def plan(coord, patient) -> CarePlan:
    return services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")


@pytest.fixture
def browser(client_as, staff):
    return client_as(staff[Role.COORDINATOR])


def test_the_plan_page_shows_goal_status_and_overdue_activities(browser, coord, patient, plan):
    observe(coord, patient, "hba1c", "8.9")
    lab = plan.activities.get(description="HbA1c blood test")
    services.update_activity(
        actor=coord,
        activity_id=lab.pk,
        description=lab.description,
        every_months=3,
        due_on=timezone.localdate() - dt.timedelta(days=3),
    )
    page = browser.get(reverse("careplans:patient", args=[patient.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Diabetes care plan" in html
    assert 'data-status="not_met"' in html  # HbA1c 8.9 against < 7
    assert 'data-status="no_data"' in html
    assert 'data-testid="overdue"' in html
    assert "Patient copy (PDF)" in html


def test_the_chart_links_to_the_plans(browser, patient):
    page = browser.get(reverse("patients:chart", args=[patient.pk]))
    assert reverse("careplans:patient", args=[patient.pk]) in page.content.decode()


def test_creating_a_plan_and_refusals(browser, patient):
    url = reverse("careplans:new", args=[patient.pk])
    assert browser.post(url, {"template": "copd"}).status_code == 302
    assert CarePlan.objects.filter(patient=patient, template_code="copd").exists()
    again = browser.post(url, {"template": "copd"})
    assert again.status_code == 409
    assert "already has an active" in again.content.decode()
    assert browser.post(url, {"template": "nonsense"}).status_code == 400
    assert CarePlan.objects.filter(patient=patient).count() == 1


def test_other_organizations_records_answer_404(client_as, stranger, other_patient, plan):
    outsider = client_as(User.objects.get(pk=stranger.user_id))
    goal = plan.goals.first()
    assert outsider.get(reverse("careplans:patient", args=[plan.patient_id])).status_code == 404
    assert outsider.get(reverse("careplans:edit_goal", args=[goal.pk])).status_code == 404
    assert outsider.get(reverse("careplans:pdf", args=[plan.pk])).status_code == 404
    assert (
        outsider.post(reverse("careplans:new", args=[plan.patient_id]), {"template": "ckd"}).status_code
        == 404
    )
    assert not CarePlan.objects.filter(template_code="ckd").exists()


def test_editing_a_goal_with_htmx(browser, plan):
    goal = plan.goals.get(code="4548-4")
    url = reverse("careplans:edit_goal", args=[goal.pk])
    form = browser.get(url, **HTMX)
    assert form.status_code == 200
    assert "<html" not in form.content.decode()
    assert "Save goal" in form.content.decode()
    bad = browser.post(
        url, {"description": "A1c", "comparator": "lt", "target": "abc", "stale_after_days": 90}, **HTMX
    )
    assert bad.status_code == 400
    goal.refresh_from_db()
    assert goal.target == 7
    good = browser.post(
        url,
        {"description": "Keep HbA1c below 8%", "comparator": "lt", "target": "8", "stale_after_days": 90},
        **HTMX,
    )
    assert good.status_code == 204
    assert good["HX-Redirect"] == reverse("careplans:patient", args=[plan.patient_id])
    goal.refresh_from_db()
    assert (goal.target, goal.description) == (8, "Keep HbA1c below 8%")


def test_editing_and_completing_an_activity(browser, plan):
    activity = plan.activities.get(description="HbA1c blood test")
    url = reverse("careplans:edit_activity", args=[activity.pk])
    assert browser.get(url).status_code == 200
    assert browser.post(url, {"description": "", "every_months": "3"}).status_code == 400
    assert browser.post(url, {"description": "HbA1c", "every_months": "99"}).status_code == 400
    assert (
        browser.post(url, {"description": "HbA1c", "every_months": "6", "due_on": "2026-12-01"}).status_code
        == 302
    )
    activity.refresh_from_db()
    assert (activity.description, activity.every_months, activity.due_on) == (
        "HbA1c",
        6,
        dt.date(2026, 12, 1),
    )
    done = browser.post(reverse("careplans:activity_done", args=[activity.pk]), {})
    assert done.status_code == 302
    activity.refresh_from_db()
    assert activity.last_done_on == timezone.localdate()


def test_roles_without_the_permission_get_403(client_as, staff, patient):
    front_desk = client_as(staff[Role.FRONT_DESK])
    assert front_desk.get(reverse("careplans:patient", args=[patient.pk])).status_code == 403
    assert (
        front_desk.post(reverse("careplans:new", args=[patient.pk]), {"template": "ckd"}).status_code == 403
    )
    billing = client_as(staff[Role.BILLING])
    assert billing.get(reverse("careplans:ccm")).status_code == 200


def test_the_patient_copy_lists_the_goals(browser, coord, patient, plan):
    observe(coord, patient, "hba1c", "6.5")
    response = browser.get(reverse("careplans:pdf", args=[plan.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Your diabetes care plan" in text
    assert "Keep your HbA1c (3-month blood sugar average) below 7%" in text
    assert "Keep the top number of your blood pressure below 130" in text
    assert "On target" in text
    assert "Not measured yet" in text
    assert "HbA1c blood test" in text
    assert AuditEvent.objects.filter(action=AuditAction.CAREPLAN_PRINT, patient_id=patient.pk).exists()


def test_the_portal_user_sees_and_prints_their_own_plan(
    client, patient, plan, coord, other_patient, stranger
):
    user = portal_user_for(patient)
    client.force_login(user)
    page = client.get(reverse("careplans:mine"))
    assert page.status_code == 200
    assert "Diabetes care plan" in page.content.decode()
    assert client.get(reverse("careplans:my_pdf", args=[plan.pk])).status_code == 200
    theirs = services.create_plan(actor=stranger, patient_id=other_patient.pk, template_code="asthma")
    assert client.get(reverse("careplans:my_pdf", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("careplans:patient", args=[patient.pk])).status_code == 403


def test_ccm_consent_and_time_entry(client_as, staff, patient, doctor, other_doctor):
    nurse = client_as(staff[Role.NURSE])
    page_url = reverse("careplans:patient", args=[patient.pk])
    time_url = reverse("careplans:log_time", args=[patient.pk])
    today = timezone.localdate().isoformat()
    entry = {
        "performed_on": today,
        "minutes": "12",
        "activity": "Care plan review",
        "billing_practitioner": doctor.pk,
    }
    refused = nurse.post(time_url, entry)
    assert refused.status_code == 409
    assert not CcmTimeEntry.objects.exists()
    assert (
        nurse.post(
            reverse("careplans:consent", args=[patient.pk]), {"consented_on": "", "method": "verbal"}
        ).status_code
        == 400
    )
    assert not CcmConsent.objects.exists()
    consent = {
        "consented_on": (timezone.localdate() - dt.timedelta(days=60)).isoformat(),
        "method": "written",
    }
    assert nurse.post(reverse("careplans:consent", args=[patient.pk]), consent).status_code == 302
    assert nurse.post(time_url, entry).status_code == 302
    assert nurse.post(time_url, {**entry, "minutes": "500"}).status_code == 400
    assert nurse.post(time_url, {**entry, "billing_practitioner": other_doctor.pk}).status_code == 409
    assert CcmTimeEntry.objects.count() == 1
    html = nurse.get(page_url).content.decode()
    assert "12 min" in html
    assert "8 min to 99490" in html


def test_ccm_summary_chart_and_csv(client_as, staff, coord, nurse, patient, doctor):
    services.record_consent(
        actor=coord,
        patient_id=patient.pk,
        consented_on=timezone.localdate() - dt.timedelta(days=60),
        method="verbal",
    )
    services.log_ccm_time(
        actor=nurse,
        patient_id=patient.pk,
        performed_on=timezone.localdate(),
        minutes=42,
        activity="Call",
        billing_practitioner_id=doctor.pk,
    )
    browser = client_as(staff[Role.COORDINATOR])
    page = browser.get(reverse("careplans:ccm"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html
    assert "<rect" in html
    assert "style=" not in html.split("<svg", 1)[1].split("</svg>")[0]
    assert patient.mrn in html
    assert "99439" in html
    export = browser.get(reverse("careplans:ccm_export"))
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][:4] == ["month", "mrn", "patient", "minutes"]
    assert rows[1][1] == patient.mrn
    assert rows[1][3:6] == ["42", "1", "1"]
    assert AuditEvent.objects.filter(action=AuditAction.CCM_REPORT_EXPORT).get().detail["result_ids"] == [
        patient.pk
    ]
    assert browser.get(reverse("careplans:ccm"), {"month": "garbage"}).status_code == 404


def test_goal_rows_unchanged_after_a_refused_edit(browser, plan):
    before = list(Goal.objects.filter(plan=plan).values_list("description", "target"))
    browser.post(reverse("careplans:edit_goal", args=[plan.goals.first().pk]), {"description": ""})
    assert list(Goal.objects.filter(plan=plan).values_list("description", "target")) == before


def test_adding_an_activity_and_ending_a_plan(browser, coord, patient, plan, org):
    add = reverse("careplans:add_activity", args=[plan.pk])
    prefix = f"a{plan.pk}"
    refused = browser.post(
        add, {f"{prefix}-kind": "lab", f"{prefix}-description": "", f"{prefix}-due_on": "2026-12-01"}
    )
    assert refused.status_code == 400
    assert plan.activities.count() == 6
    done = browser.post(
        add,
        {
            f"{prefix}-kind": "lab",
            f"{prefix}-description": "Urine albumin-to-creatinine ratio",
            f"{prefix}-every_months": "12",
            f"{prefix}-due_on": "2020-01-01",
        },
    )
    assert done.status_code == 302
    added = plan.activities.get(description="Urine albumin-to-creatinine ratio")
    assert (added.kind, added.every_months, added.position) == ("lab", 12, 6)
    services.create_overdue_tasks(actor=tasks.task_actor(org.pk))
    task = Task.objects.get(dedupe_key=rules.overdue_task_key(added.pk, added.due_on))
    close = reverse("careplans:close", args=[plan.pk])
    assert (
        browser.post(close, {f"c{plan.pk}-status": "completed", f"c{plan.pk}-reason": ""}).status_code == 400
    )
    ended = browser.post(close, {f"c{plan.pk}-status": "cancelled", f"c{plan.pk}-reason": "Moved away"})
    assert ended.status_code == 302
    plan.refresh_from_db()
    task.refresh_from_db()
    assert plan.status == "cancelled"
    assert task.status == "cancelled"
    page = browser.get(reverse("careplans:patient", args=[patient.pk])).content.decode()
    assert "Diabetes care plan" not in page.split("New plan from a template")[0]
    # a new plan from the same template may start now
    services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    assert (
        browser.post(close, {f"c{plan.pk}-status": "completed", f"c{plan.pk}-reason": "x"}).status_code == 409
    )


def test_recording_that_the_patient_stops_ccm(browser, coord, patient):
    services.record_consent(
        actor=coord,
        patient_id=patient.pk,
        consented_on=timezone.localdate() - dt.timedelta(days=5),
        method="verbal",
    )
    url = reverse("careplans:revoke_consent", args=[patient.pk])
    assert browser.post(url, {"revoked_on": "2999-01-01"}).status_code == 400
    assert CcmConsent.objects.get().revoked_on is None
    assert (
        browser.post(url, {"revoked_on": timezone.localdate().isoformat(), "reason": "Moving"}).status_code
        == 302
    )
    assert CcmConsent.objects.get().revoked_on == timezone.localdate()
    assert "Stopped on" in browser.get(reverse("careplans:patient", args=[patient.pk])).content.decode()


def test_the_consent_form_says_why_a_patient_with_one_chronic_condition_is_not_eligible(browser, coord):
    from tests.patients.factories import make_patient

    from .conftest import chronic

    single = chronic(coord, make_patient(coord, family_name="Onlyone", given_name="Ola"), "I10")
    consent = {"consented_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(), "method": "verbal"}
    refused = browser.post(reverse("careplans:consent", args=[single.pk]), consent)
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "at least 2 chronic conditions" in html
    assert "only Hypertension" in html
    assert not CcmConsent.objects.filter(patient=single).exists()
    chronic(coord, single, "N18.30")
    assert browser.post(reverse("careplans:consent", args=[single.pk]), consent).status_code == 302

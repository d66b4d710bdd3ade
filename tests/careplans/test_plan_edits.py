"""Editing a patient's plan after it was copied from its template: the care team (roles with named staff or
practitioners), goals (added, target and due date changed, cancelled with a reason and kept), activities
(added, edited, done, cancelled); through the services and through the plan page, each change audited."""

from __future__ import annotations

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
from caredesk.careplans import selectors, services
from caredesk.careplans.choices import ItemStatus
from caredesk.careplans.errors import ItemCancelled, PlanClosed, TeamMemberNotFound
from caredesk.careplans.models import CarePlan, CareTeamMember
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.worklist.choices import TaskStatus
from caredesk.worklist.models import Task
from tests.patients.factories import portal_user_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(coord, patient) -> CarePlan:
    return services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")


@pytest.fixture
def browser(client_as, staff):
    return client_as(staff[Role.COORDINATOR])


def _updates(patient_id: int) -> int:
    return AuditEvent.objects.filter(action=AuditAction.CAREPLAN_UPDATE, patient_id=patient_id).count()


def _team(actor: Actor, plan: CarePlan) -> list[str]:
    _, view = selectors.get_plan(actor=actor, plan_id=plan.pk)
    return view.care_team_labels


# --- the care team: services ------------------------------------------------------------------------------


def test_a_new_plan_has_the_templates_roles_with_nobody_named(coord, plan):
    assert plan.care_team == ["physician", "nurse", "coordinator", "educator", "dietitian"]
    assert _team(coord, plan)[0] == "Primary care physician"


def test_naming_a_practitioner_fills_the_roles_place_and_a_staff_user_adds_one(
    coord, plan, doctor, staff, patient
):
    before = _updates(patient.pk)
    filled = services.add_team_member(
        actor=coord, plan_id=plan.pk, role="physician", practitioner_id=doctor.pk
    )
    assert filled.position == 0  # the template's unnamed physician place, now named
    nurse_user = staff[Role.NURSE]
    services.add_team_member(actor=coord, plan_id=plan.pk, role="pharmacist", user_id=nurse_user.pk)
    team = _team(coord, plan)
    assert team[0] == "Primary care physician: Finn Family, MD"
    assert team[-1] == f"Pharmacist: {nurse_user.display_name}"
    assert len(team) == 6
    assert _updates(patient.pk) == before + 2
    row = (
        AuditEvent.objects.filter(action=AuditAction.CAREPLAN_UPDATE, patient_id=patient.pk)
        .order_by("pk")
        .last()
    )
    assert row.detail["team_member_added"]["user_id"] == nurse_user.pk
    with pytest.raises(ValidationFailed):  # the same person twice in one role
        services.add_team_member(actor=coord, plan_id=plan.pk, role="pharmacist", user_id=nurse_user.pk)
    with pytest.raises(ValidationFailed):  # an unnamed role already there
        services.add_team_member(actor=coord, plan_id=plan.pk, role="nurse")
    with pytest.raises(ValidationFailed):
        services.add_team_member(actor=coord, plan_id=plan.pk, role="astrologer")


def test_removing_a_member_is_audited_and_other_organizations_are_refused(
    coord, actor_of, plan, patient, stranger, other_doctor, staff
):
    dietitian = plan.team_members.get(role="dietitian")
    services.remove_team_member(actor=coord, member_id=dietitian.pk)
    assert "dietitian" not in CarePlan.objects.get(pk=plan.pk).care_team
    row = (
        AuditEvent.objects.filter(action=AuditAction.CAREPLAN_UPDATE, patient_id=patient.pk)
        .order_by("pk")
        .last()
    )
    assert row.detail == {
        "team_member_removed": {"role": "dietitian", "user_id": None, "practitioner_id": None}
    }
    member = plan.team_members.first()
    with pytest.raises(TeamMemberNotFound):
        services.remove_team_member(actor=stranger, member_id=member.pk)
    stranger_user = User.objects.get(pk=stranger.user_id)
    with pytest.raises(ValidationFailed):  # a user of another organization cannot be named
        services.add_team_member(actor=coord, plan_id=plan.pk, role="nurse", user_id=stranger_user.pk)
    with pytest.raises(ValidationFailed):  # portal accounts are not staff
        services.add_team_member(
            actor=coord, plan_id=plan.pk, role="nurse", user_id=portal_user_for(patient).pk
        )
    with pytest.raises(ValidationFailed):
        services.add_team_member(
            actor=coord,
            plan_id=plan.pk,
            role="nurse",
            user_id=staff[Role.NURSE].pk,
            practitioner_id=other_doctor.pk,
        )
    billing = actor_of(staff[Role.BILLING])
    with pytest.raises(Forbidden):
        services.remove_team_member(actor=billing, member_id=member.pk)
    services.close_plan(actor=coord, plan_id=plan.pk, status="completed", reason="Done")
    with pytest.raises(PlanClosed):
        services.remove_team_member(actor=coord, member_id=member.pk)
    assert CareTeamMember.objects.filter(pk=member.pk).exists()


# --- goals: services --------------------------------------------------------------------------------------


def test_goals_are_added_edited_with_a_due_date_and_cancelled_but_kept(coord, plan, patient):
    due = timezone.localdate() + dt.timedelta(days=90)
    goal = services.add_goal(
        actor=coord,
        plan_id=plan.pk,
        description="Weight under 80 kg",
        code="29463-7",
        comparator="lt",
        target="80",
        due_on=due,
    )
    assert (goal.due_on, goal.unit) == (due, "kg")
    later = due + dt.timedelta(days=30)
    services.update_goal(
        actor=coord,
        goal_id=goal.pk,
        description="Weight under 78 kg",
        comparator="lt",
        target="78",
        stale_after_days=90,
        due_on=later,
    )
    goal.refresh_from_db()
    assert (goal.target, goal.due_on) == (78, later)
    before = _updates(patient.pk)
    services.cancel_goal(actor=coord, goal_id=goal.pk, reason="Patient prefers to focus on HbA1c")
    goal.refresh_from_db()
    assert (goal.status, goal.cancel_reason, goal.cancelled_on) == (
        ItemStatus.CANCELLED,
        "Patient prefers to focus on HbA1c",
        timezone.localdate(),
    )
    assert _updates(patient.pk) == before + 1
    _, view = selectors.get_plan(actor=coord, plan_id=plan.pk)
    assert goal.pk not in [g.goal.pk for g in view.goals]
    assert [g.pk for g in view.cancelled_goals] == [goal.pk]
    with pytest.raises(ItemCancelled):
        services.update_goal(
            actor=coord, goal_id=goal.pk, description="x", comparator="lt", target="1", stale_after_days=9
        )
    with pytest.raises(ItemCancelled):
        services.cancel_goal(actor=coord, goal_id=goal.pk, reason="again")
    with pytest.raises(ValidationFailed):
        services.cancel_goal(actor=coord, goal_id=plan.goals.first().pk, reason="  ")


# --- activities: services ---------------------------------------------------------------------------------


def test_cancelling_an_activity_keeps_it_cancels_its_task_and_stops_new_ones(coord, plan, patient, org):
    lab = plan.activities.get(description="HbA1c blood test")
    past = timezone.localdate() - dt.timedelta(days=5)
    services.update_activity(
        actor=coord, activity_id=lab.pk, description=lab.description, every_months=3, due_on=past
    )
    assert services.create_overdue_tasks(actor=coord).created == 1
    task = Task.objects.get(organization=org, patient_id=patient.pk)
    services.cancel_activity(actor=coord, activity_id=lab.pk, reason="Done by the endocrinologist")
    lab.refresh_from_db()
    task.refresh_from_db()
    assert (lab.status, lab.cancel_reason) == (ItemStatus.CANCELLED, "Done by the endocrinologist")
    assert task.status == TaskStatus.CANCELLED
    assert services.create_overdue_tasks(actor=coord).created == 0
    _, view = selectors.get_plan(actor=coord, plan_id=plan.pk)
    assert lab.pk not in [a.activity.pk for a in view.activities]
    assert [a.pk for a in view.cancelled_activities] == [lab.pk]
    with pytest.raises(ItemCancelled):
        services.complete_activity(actor=coord, activity_id=lab.pk)
    with pytest.raises(ItemCancelled):
        services.update_activity(
            actor=coord, activity_id=lab.pk, description="x", every_months=None, due_on=None
        )


# --- the plan page ------------------------------------------------------------------------------------------


def test_the_page_edits_the_care_team(browser, plan, doctor, staff, patient):
    page = browser.get(reverse("careplans:patient", args=[patient.pk])).content.decode()
    assert 'data-testid="add-team-member"' in page
    assert "Family, Finn MD" in page  # offered in the member list
    url = reverse("careplans:add_team_member", args=[plan.pk])
    added = browser.post(url, {f"t{plan.pk}-role": "physician", f"t{plan.pk}-member": f"p:{doctor.pk}"})
    assert added.status_code == 302
    nurse_user = staff[Role.NURSE]
    assert (
        browser.post(
            url, {f"t{plan.pk}-role": "nurse", f"t{plan.pk}-member": f"u:{nurse_user.pk}"}
        ).status_code
        == 302
    )
    again = browser.post(url, {f"t{plan.pk}-role": "nurse", f"t{plan.pk}-member": f"u:{nurse_user.pk}"})
    assert again.status_code == 400
    assert "already has this role" in again.content.decode()
    assert (
        browser.post(url, {f"t{plan.pk}-role": "nurse", f"t{plan.pk}-member": "u:999999"}).status_code == 400
    )
    html = browser.get(reverse("careplans:patient", args=[patient.pk])).content.decode()
    assert "<strong>Finn Family, MD</strong>" in html
    assert f"<strong>{nurse_user.display_name}</strong>" in html
    dietitian = plan.team_members.get(role="dietitian")
    removed = browser.post(reverse("careplans:remove_team_member", args=[dietitian.pk]))
    assert removed.status_code == 302
    assert not plan.team_members.filter(role="dietitian").exists()
    pdf = browser.get(reverse("careplans:pdf", args=[plan.pk]))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Primary care physician: Finn Family, MD" in text
    assert f"Nurse: {nurse_user.display_name}" in text
    assert "Dietitian" not in text


def test_the_page_adds_edits_and_cancels_a_goal(browser, plan, patient):
    before = _updates(patient.pk)
    prefix = f"g{plan.pk}"
    url = reverse("careplans:add_goal", args=[plan.pk])
    bad = browser.post(
        url, {f"{prefix}-code": "29463-7", f"{prefix}-description": "Weight", f"{prefix}-comparator": "lt"}
    )
    assert bad.status_code == 400
    added = browser.post(
        url,
        {
            f"{prefix}-code": "29463-7",
            f"{prefix}-description": "Weight under 80 kg",
            f"{prefix}-comparator": "lt",
            f"{prefix}-target": "80",
            f"{prefix}-due_on": "2027-06-30",
            f"{prefix}-stale_after_days": "180",
        },
    )
    assert added.status_code == 302
    goal = plan.goals.get(description="Weight under 80 kg")
    assert goal.due_on == dt.date(2027, 6, 30)
    page = browser.get(reverse("careplans:patient", args=[patient.pk])).content.decode()
    assert "2027-06-30" in page
    edit_url = reverse("careplans:edit_goal", args=[goal.pk])
    form = browser.get(edit_url).content.decode()
    assert "Cancel goal" in form
    edited = browser.post(
        edit_url,
        {
            "description": "Weight under 78 kg",
            "comparator": "lt",
            "target": "78",
            "stale_after_days": 90,
            "due_on": "2027-09-30",
        },
    )
    assert edited.status_code == 302
    goal.refresh_from_db()
    assert (goal.target, goal.due_on) == (78, dt.date(2027, 9, 30))
    cancel_url = reverse("careplans:cancel_goal", args=[goal.pk])
    assert browser.post(cancel_url, {"cancel-reason": ""}).status_code == 400
    cancelled = browser.post(cancel_url, {"cancel-reason": "Not a priority now"}, HTTP_HX_REQUEST="true")
    assert cancelled.status_code == 204
    goal.refresh_from_db()
    assert goal.status == ItemStatus.CANCELLED
    assert browser.post(cancel_url, {"cancel-reason": "again"}).status_code == 409
    page = browser.get(reverse("careplans:patient", args=[patient.pk])).content.decode()
    assert 'data-testid="cancelled-goal"' in page
    assert "Not a priority now" in page
    assert _updates(patient.pk) == before + 3


def test_the_page_adds_edits_completes_and_cancels_an_activity(browser, plan, patient):
    prefix = f"a{plan.pk}"
    added = browser.post(
        reverse("careplans:add_activity", args=[plan.pk]),
        {
            f"{prefix}-kind": "visit",
            f"{prefix}-description": "Podiatry visit",
            f"{prefix}-every_months": "12",
            f"{prefix}-due_on": "2027-01-15",
        },
    )
    assert added.status_code == 302
    activity = plan.activities.get(description="Podiatry visit")
    edit_url = reverse("careplans:edit_activity", args=[activity.pk])
    assert "Cancel activity" in browser.get(edit_url).content.decode()
    assert (
        browser.post(
            edit_url, {"description": "Foot check", "every_months": "6", "due_on": "2027-02-01"}
        ).status_code
        == 302
    )
    assert browser.post(reverse("careplans:activity_done", args=[activity.pk]), {}).status_code == 302
    activity.refresh_from_db()
    assert (activity.description, activity.last_done_on) == ("Foot check", timezone.localdate())
    cancel_url = reverse("careplans:cancel_activity", args=[activity.pk])
    assert browser.post(cancel_url, {"cancel-reason": "Seen by podiatry elsewhere"}).status_code == 302
    activity.refresh_from_db()
    assert activity.status == ItemStatus.CANCELLED
    assert browser.post(reverse("careplans:activity_done", args=[activity.pk]), {}).status_code == 409
    page = browser.get(reverse("careplans:patient", args=[patient.pk])).content.decode()
    assert 'data-testid="cancelled-activity"' in page
    assert "Seen by podiatry elsewhere" in page


def test_other_organizations_and_roles_without_the_permission(client_as, stranger, staff, plan):
    outsider = client_as(User.objects.get(pk=stranger.user_id))
    goal, activity, member = plan.goals.first(), plan.activities.first(), plan.team_members.first()
    assert (
        outsider.post(reverse("careplans:cancel_goal", args=[goal.pk]), {"cancel-reason": "x"}).status_code
        == 404
    )
    assert (
        outsider.post(
            reverse("careplans:cancel_activity", args=[activity.pk]), {"cancel-reason": "x"}
        ).status_code
        == 404
    )
    assert outsider.post(reverse("careplans:remove_team_member", args=[member.pk])).status_code == 404
    assert outsider.post(reverse("careplans:add_goal", args=[plan.pk]), {}).status_code == 404
    assert outsider.post(reverse("careplans:add_team_member", args=[plan.pk]), {}).status_code == 404
    front_desk = client_as(staff[Role.FRONT_DESK])
    assert front_desk.post(reverse("careplans:remove_team_member", args=[member.pk])).status_code == 403
    assert CareTeamMember.objects.filter(pk=member.pk).exists()
    goal.refresh_from_db()
    assert goal.status == ItemStatus.ACTIVE

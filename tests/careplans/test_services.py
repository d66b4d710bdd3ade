"""Care-plan and CCM use cases on a real database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from caredesk.accounts.permissions import Role
from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.careplans import rules, selectors, services, tasks
from caredesk.careplans.choices import GoalStatus
from caredesk.careplans.errors import (
    ConsentMissing,
    GoalNotFound,
    NotClinicalStaff,
    NotEnoughChronicConditions,
    OtherBillingPractitioner,
    PlanExists,
    UnknownTemplate,
)
from caredesk.careplans.models import Activity, CarePlan, CcmConsent, CcmMonth, CcmTimeEntry
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.patients import services as patient_services
from caredesk.patients.errors import PatientNotFound
from caredesk.worklist.choices import TaskStatus
from caredesk.worklist.models import Task
from tests.patients.factories import make_patient, staff_actor

from .conftest import chronic, observe


def _statuses(actor, patient) -> dict[str, str]:
    plans = selectors.patient_plans(actor=actor, patient_id=patient.pk)
    return {g.goal.code: g.status for view in plans.plans for g in view.goals}


def test_a_plan_copies_its_template(coord, patient):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    assert plan.title == "Diabetes care plan"
    assert [g.code for g in plan.goals.all()] == ["4548-4", "8480-6", "8462-4", "13457-7"]
    assert plan.activities.count() == 6
    hba1c_lab = plan.activities.get(description="HbA1c blood test")
    assert hba1c_lab.every_months == 3
    assert hba1c_lab.due_on == rules.add_months(timezone.localdate(), 3)
    assert "physician" in plan.care_team
    assert AuditEvent.objects.filter(action=AuditAction.CAREPLAN_CREATE, patient_id=patient.pk).count() == 1


def test_one_active_plan_per_template(coord, patient):
    services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    with pytest.raises(PlanExists):
        services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    services.create_plan(actor=coord, patient_id=patient.pk, template_code="hypertension")
    assert CarePlan.objects.filter(patient=patient).count() == 2


def test_unknown_template_other_organization_and_permission(
    coord, patient, stranger, other_patient, staff, actor_of
):
    with pytest.raises(UnknownTemplate):
        services.create_plan(actor=coord, patient_id=patient.pk, template_code="gout")
    with pytest.raises(PatientNotFound):
        services.create_plan(actor=coord, patient_id=other_patient.pk, template_code="diabetes")
    with pytest.raises(Forbidden):
        services.create_plan(
            actor=actor_of(staff["front_desk"]), patient_id=patient.pk, template_code="asthma"
        )
    assert not CarePlan.objects.exists()


def test_goal_status_follows_the_latest_observations(coord, patient):
    services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    assert set(_statuses(coord, patient).values()) == {GoalStatus.NO_DATA}
    observe(coord, patient, "hba1c", "6.4", days_ago=400)
    assert _statuses(coord, patient)["4548-4"] == GoalStatus.STALE
    observe(coord, patient, "hba1c", "8.6", days_ago=10)
    observe(coord, patient, "blood_pressure", "128", "84", days_ago=2)
    statuses = _statuses(coord, patient)
    assert statuses["4548-4"] == GoalStatus.NOT_MET
    assert statuses["8480-6"] == GoalStatus.MET
    assert statuses["8462-4"] == GoalStatus.NOT_MET
    assert statuses["13457-7"] == GoalStatus.NO_DATA
    observe(coord, patient, "hba1c", "6.8", days_ago=1)
    assert _statuses(coord, patient)["4548-4"] == GoalStatus.MET


def test_reading_plans_is_audited(coord, patient):
    services.create_plan(actor=coord, patient_id=patient.pk, template_code="ckd")
    selectors.patient_plans(actor=coord, patient_id=patient.pk)
    assert AuditEvent.objects.filter(action=AuditAction.CAREPLAN_VIEW, patient_id=patient.pk).exists()


def test_editing_a_goal_changes_its_status(coord, patient):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    observe(coord, patient, "hba1c", "7.4")
    goal = plan.goals.get(code="4548-4")
    services.update_goal(
        actor=coord,
        goal_id=goal.pk,
        description="HbA1c below 8%",
        comparator="lt",
        target="8",
        stale_after_days=180,
    )
    assert _statuses(coord, patient)["4548-4"] == GoalStatus.MET
    with pytest.raises(ValidationFailed):
        services.update_goal(
            actor=coord, goal_id=goal.pk, description="x", comparator="lt", target="NaN", stale_after_days=1
        )
    goal.refresh_from_db()
    assert goal.target == 8


def test_goals_of_another_organization_are_not_found(coord, patient, stranger):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="asthma")
    goal = plan.goals.first()
    with pytest.raises(GoalNotFound):
        services.update_goal(
            actor=stranger, goal_id=goal.pk, description="x", comparator="lt", target="1", stale_after_days=1
        )


def _overdue_plan(coord, patient) -> CarePlan:
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="diabetes")
    lab = plan.activities.get(description="HbA1c blood test")
    services.update_activity(
        actor=coord,
        activity_id=lab.pk,
        description=lab.description,
        every_months=3,
        due_on=timezone.localdate() - dt.timedelta(days=5),
    )
    return plan


def test_overdue_activities_become_tasks_once(coord, patient, org):
    plan = _overdue_plan(coord, patient)
    actor = tasks.task_actor(org.pk)
    first = services.create_overdue_tasks(actor=actor)
    second = services.create_overdue_tasks(actor=actor)
    assert (first.created, first.existing) == (1, 0)
    assert (second.created, second.existing) == (0, 1)
    task = Task.objects.get(organization=org, patient=patient)
    assert task.title == "Overdue: HbA1c blood test"
    assert task.queue == "nursing"
    assert task.source_type == "careplans.careplan"
    assert task.source_id == str(plan.pk)


def test_doing_the_activity_closes_its_task_and_sets_the_next_due_date(coord, patient, org):
    plan = _overdue_plan(coord, patient)
    tasks.create_overdue_activity_tasks.enqueue(org.pk)  # the background task (immediate in tests)
    lab = plan.activities.get(description="HbA1c blood test")
    today = timezone.localdate()
    services.complete_activity(actor=coord, activity_id=lab.pk)
    lab.refresh_from_db()
    assert lab.last_done_on == today
    assert lab.due_on == rules.add_months(today, 3)
    assert Task.objects.get(patient=patient).status == TaskStatus.DONE
    assert services.create_overdue_tasks(actor=tasks.task_actor(org.pk)).created == 0


def test_overdue_run_ignores_other_organizations(coord, patient, stranger, other_org):
    _overdue_plan(coord, patient)
    assert services.create_overdue_tasks(actor=tasks.task_actor(other_org.pk)).created == 0


def test_one_off_activity_is_due_no_more_once_done(coord, patient):
    plan = services.create_plan(actor=coord, patient_id=patient.pk, template_code="asthma")
    education = plan.activities.get(kind="education")
    services.complete_activity(actor=coord, activity_id=education.pk)
    education.refresh_from_db()
    assert education.due_on is None


# --- CCM ---------------------------------------------------------------------------------------------


def _consent(actor, patient):
    return services.record_consent(
        actor=actor,
        patient_id=patient.pk,
        consented_on=timezone.localdate() - dt.timedelta(days=70),
        method="verbal",
    )


def _log(actor, patient, doctor, minutes, day=None):
    return services.log_ccm_time(
        actor=actor,
        patient_id=patient.pk,
        performed_on=day or timezone.localdate(),
        minutes=minutes,
        activity="Medication review call",
        billing_practitioner_id=doctor.pk,
    )


def test_time_needs_documented_consent(nurse, patient, doctor):
    with pytest.raises(ConsentMissing):
        _log(nurse, patient, doctor, 15)
    assert not CcmMonth.objects.exists()


def test_month_total_flags_the_codes(coord, nurse, patient, doctor):
    _consent(coord, patient)
    _log(nurse, patient, doctor, 15)
    assert selectors.patient_plans(actor=nurse, patient_id=patient.pk).ccm.billing.codes == []
    _log(coord, patient, doctor, 10)
    assert selectors.patient_plans(actor=nurse, patient_id=patient.pk).ccm.billing.codes == [("99490", 1)]
    _log(nurse, patient, doctor, 20)
    ccm = selectors.patient_plans(actor=nurse, patient_id=patient.pk).ccm
    assert ccm.billing.minutes == 45
    assert ccm.billing.codes == [("99490", 1), ("99439", 1)]
    assert [e.staff_role for e in ccm.entries] == ["nurse", "coordinator", "nurse"]


def test_only_one_billing_practitioner_per_month(coord, nurse, patient, doctor, other_doctor):
    _consent(coord, patient)
    _log(nurse, patient, doctor, 15)
    with pytest.raises(OtherBillingPractitioner):
        _log(nurse, patient, other_doctor, 15)
    assert CcmMonth.objects.get().entries.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        CcmMonth.objects.create(
            organization_id=patient.organization_id,
            patient=patient,
            month=rules.month_start(timezone.localdate()),
            billing_practitioner=other_doctor,
        )


def test_last_month_is_its_own_month(coord, nurse, patient, doctor, other_doctor):
    _consent(coord, patient)
    last_month = rules.add_months(rules.month_start(timezone.localdate()), -1)
    _log(nurse, patient, other_doctor, 30, day=last_month)
    _log(nurse, patient, doctor, 5)
    assert CcmMonth.objects.count() == 2


def test_ccm_rules_refuse_bad_entries(coord, nurse, patient, doctor, stranger, other_patient):
    _consent(coord, patient)
    with pytest.raises(ValidationFailed):
        _log(nurse, patient, doctor, 0)
    with pytest.raises(ValidationFailed):
        _log(nurse, patient, doctor, 10, day=timezone.localdate() + dt.timedelta(days=1))
    with pytest.raises(ValidationFailed):
        _log(stranger, other_patient, doctor, 10)  # another organization's practitioner
    with pytest.raises(ValidationFailed):
        _consent(coord, patient)  # documented already
    with pytest.raises(Forbidden):
        _log(staff_actor(patient.organization, "front_desk"), patient, doctor, 10)


def test_ccm_summary_lists_enrolled_patients_fewest_minutes_first(
    coord, nurse, patient, doctor, staff, actor_of
):
    second = chronic(coord, make_patient(coord, family_name="Minutes", given_name="Max"), "J44.9", "N18.3")
    _consent(coord, patient)
    _consent(coord, second)
    _log(nurse, second, doctor, 25)
    _log(nurse, patient, doctor, 5)
    summary = selectors.ccm_summary(actor=actor_of(staff["billing"]))
    assert [(r.patient_id, r.minutes) for r in summary.rows] == [(patient.pk, 5), (second.pk, 25)]
    assert [r.patient_id for r in summary.below] == [patient.pk]
    event = AuditEvent.objects.filter(action=AuditAction.CCM_REPORT_VIEW).get()
    assert event.detail["result_ids"] == [patient.pk, second.pk]
    with pytest.raises(Forbidden):
        selectors.ccm_summary(actor=nurse)


def test_merge_moves_plans(coord, patient):
    duplicate = make_patient(coord, family_name="Plansworth", given_name="Dorothy")
    services.create_plan(actor=coord, patient_id=duplicate.pk, template_code="copd")
    patient_services.merge_patients(
        actor=coord, source_id=duplicate.pk, target_id=patient.pk, reason="same person"
    )
    assert CarePlan.objects.get().patient_id == patient.pk
    assert Activity.objects.filter(plan__patient=patient).count() == 3


def test_stopping_ccm_ends_with_the_month(coord, nurse, patient, doctor):
    _consent(coord, patient)
    today = timezone.localdate()
    services.revoke_consent(
        actor=coord, patient_id=patient.pk, revoked_on=today, reason="No longer wants calls"
    )
    _log(nurse, patient, doctor, 10)  # this month still counts
    rows = selectors.ccm_summary(actor=coord).rows
    assert [(r.patient_id, r.minutes) for r in rows] == [(patient.pk, 10)]
    assert selectors.ccm_summary(actor=coord, month=rules.add_months(today, 1)).rows == []
    with pytest.raises(ConsentMissing):
        services.revoke_consent(actor=coord, patient_id=patient.pk, revoked_on=today)
    assert (
        AuditEvent.objects.filter(action=AuditAction.CCM_CONSENT_UPDATE, patient_id=patient.pk).count() == 1
    )
    # documented again later: one row per patient in the summary
    services.record_consent(actor=coord, patient_id=patient.pk, consented_on=today, method="written")
    assert len(selectors.ccm_summary(actor=coord).rows) == 1


# --- CCM eligibility and clinical staff ------------------------------------------------------------------


def test_ccm_consent_needs_two_chronic_conditions_among_the_active_problems(coord, nurse):
    one = make_patient(coord, family_name="Single", given_name="Sue")
    with pytest.raises(NotEnoughChronicConditions, match="the chart has none"):
        _consent(coord, one)
    chronic(coord, one, "E11.65", "E11.9")  # two codes, one condition
    with pytest.raises(NotEnoughChronicConditions, match="only Type 2 diabetes") as refused:
        _consent(coord, one)
    assert refused.value.code == "ccm_not_eligible"
    assert refused.value.details == {"conditions": ["Type 2 diabetes"]}
    resolved = patient_services.add_problem(actor=coord, patient_id=one.pk, icd10_code="J45.909")
    patient_services.correct_entry(
        actor=coord,
        entry_type="problem",
        entry_id=resolved.pk,
        changes={"clinical_status": "resolved"},
        reason="Outgrown",
    )
    with pytest.raises(NotEnoughChronicConditions):  # a resolved asthma does not count
        _consent(coord, one)
    assert not CcmConsent.objects.filter(patient=one).exists()
    chronic(coord, one, "I50.9")
    assert _consent(nurse, one).patient_id == one.pk


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (["E11.9", "I10"], ["Type 2 diabetes", "Hypertension"]),
        (["I10", "I11.9"], ["Hypertension"]),
        (["j44.1", "N18.4", "Z00.00"], ["Chronic obstructive pulmonary disease", "Chronic kidney disease"]),
        (["Z00.00"], []),
    ],
)
def test_which_codes_are_chronic_conditions(codes, expected):
    assert rules.chronic_conditions(codes, services.CCM_CONDITIONS) == expected
    assert (rules.ccm_eligibility_error(expected, services.CCM_CONDITIONS) is None) == (len(expected) >= 2)


def test_only_clinical_staff_minutes_count(coord, nurse, patient, doctor, staff, actor_of):
    _consent(coord, patient)
    admin = actor_of(staff[Role.ADMINISTRATOR])
    with pytest.raises(NotClinicalStaff, match="clinical staff") as refused:
        _log(admin, patient, doctor, 10)
    assert refused.value.http_status == 403
    assert not CcmTimeEntry.objects.exists()
    for role in (Role.COORDINATOR, Role.NURSE, Role.PHYSICIAN):
        _log(actor_of(staff[role]), patient, doctor, 5)
    assert sorted(CcmTimeEntry.objects.values_list("staff_role", flat=True)) == sorted(
        [Role.COORDINATOR, Role.NURSE, Role.PHYSICIAN]
    )

"""Care-plan and CCM use cases: keyword-only actor, one transaction, the audit row inside.

CONTRACT: `create_plan`, `add_goal`, `update_goal`, `cancel_goal`, `add_activity`, `update_activity`,
`complete_activity`, `cancel_activity`, `add_team_member`, `remove_team_member`, `close_plan`,
`create_overdue_tasks` (the rule behind the management command and the background task), `record_consent`,
`log_ccm_time`. Every plan edit writes one CAREPLAN_UPDATE audit row. Goals and activities are cancelled
with a reason, never deleted, so the plan keeps its history.
Plans and CCM rows of another organization answer *NotFound, like ones that do not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden, ValidationFailed
from caredesk.core.inputs import checked_text
from caredesk.education import services as education
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.choices import PatientStatus
from caredesk.patients.errors import PatientNotFound
from caredesk.practitioners import selectors as practitioner_selectors
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskStatus, TaskType

from . import catalog, rules, selectors
from .choices import ActivityKind, CareTeamRole, Comparator, ConsentMethod, ItemStatus, PlanStatus
from .errors import (
    ConsentMissing,
    ItemCancelled,
    NotClinicalStaff,
    NotEnoughChronicConditions,
    OtherBillingPractitioner,
    PlanClosed,
    PlanExists,
    UnknownTemplate,
)
from .models import Activity, CarePlan, CareTeamMember, CcmConsent, CcmMonth, CcmTimeEntry, Goal

MAX_TEXT = 300
ONE_OFF_DUE_DAYS = 14
#: Which worklist queue an overdue activity goes to.
QUEUE_OF_KIND: dict[str, str] = {
    ActivityKind.LAB: TaskQueue.NURSING,
    ActivityKind.VISIT: TaskQueue.FRONT_DESK,
    ActivityKind.OUTREACH_CALL: TaskQueue.CARE_COORDINATION,
    ActivityKind.EDUCATION: TaskQueue.NURSING,
}


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.has(permission):
        raise Forbidden(f"This needs the permission {permission}.", details={"permission": str(permission)})


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise Forbidden("Only a member of an organization can work with care plans.")
    return actor.organization_id


def _text(value: Any, field: str, label: str, limit: int = MAX_TEXT, *, required: bool = True) -> str:
    return checked_text(value, field, label, limit, required=required)


def _date(value: Any, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationFailed(f"{label} must be a date.", field=field)
    return value


def _optional_date(value: Any, field: str, label: str) -> dt.date | None:
    return None if value is None else _date(value, field, label)


def _whole(value: Any, field: str, label: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{label} must be a whole number.", field=field)
    if not low <= value <= high:
        raise ValidationFailed(f"{label} must be between {low} and {high}.", field=field)
    return value


def _name_of(actor: Actor) -> str:
    return selectors.display_name(actor)[:150]


def today() -> dt.date:
    return timezone.localdate()


def _patient_for_write(actor: Actor, patient_id: Any) -> int:
    status = selectors.patient_status(actor, patient_id)
    if status is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", details={"id": str(patient_id)})
    if status == PatientStatus.MERGED:
        raise ValidationFailed("That patient was merged into another record; use the surviving record.")
    return int(patient_id)


# --- plans ----------------------------------------------------------------------------------------------


def create_plan(
    *, actor: Actor, patient_id: int, template_code: str, start_on: dt.date | None = None
) -> CarePlan:
    """A plan for the patient from a template: its goals, activities (first due dates from `start_on`)
    and care team are copied, so editing the plan never changes the template. One active plan per
    template and patient (PlanExists)."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    organization_id = _organization_id(actor)
    template = catalog.TEMPLATES.get(str(template_code))
    if template is None:
        raise UnknownTemplate(f"{template_code!r} is not a care-plan template.", field="template")
    start = today() if start_on is None else _date(start_on, "start_on", "Start")
    with transaction.atomic():
        pk = _patient_for_write(actor, patient_id)
        if CarePlan.objects.filter(
            patient_id=pk, template_code=template.code, status=PlanStatus.ACTIVE
        ).exists():
            raise PlanExists(f"The patient already has an active {template.title.lower()}.", field="template")
        plan = CarePlan(
            organization_id=organization_id,
            patient_id=pk,
            template_code=template.code,
            title=template.title,
            condition=template.condition,
            source=template.source,
            created_by_id=actor.user_id,
            created_by_name=_name_of(actor),
        )
        try:
            with transaction.atomic():
                plan.save(force_insert=True)
        except IntegrityError as exc:  # a concurrent creation won the race
            raise PlanExists(f"The patient already has an active {template.title.lower()}.") from exc
        CareTeamMember.objects.bulk_create(
            CareTeamMember(plan=plan, position=i, role=role) for i, role in enumerate(template.care_team)
        )
        Goal.objects.bulk_create(
            Goal(
                plan=plan,
                position=i,
                description=g.description,
                code=g.code,
                comparator=g.comparator,
                target=g.target,
                unit=catalog.MEASURES[g.code].unit,
                stale_after_days=g.stale_after_days,
            )
            for i, g in enumerate(template.goals)
        )
        activities = Activity.objects.bulk_create(
            Activity(
                plan=plan,
                position=i,
                kind=a.kind,
                description=a.description,
                every_months=a.every_months,
                due_on=rules.next_due(start, a.every_months) or start + dt.timedelta(days=ONE_OFF_DUE_DAYS),
            )
            for i, a in enumerate(template.activities)
        )
        _assign_education(actor, pk, template, activities)
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_CREATE,
            patient_id=pk,
            obj=plan,
            detail={"template": template.code},
        )
    return plan


def _assign_education(
    actor: Actor, patient_id: int, template: catalog.PlanTemplate, activities: list[Activity]
) -> None:
    """Each education activity of a new plan points at the library's best handout for the plan's
    conditions, and the patient is assigned it (patient education records the delivery later)."""
    for activity in activities:
        if activity.kind != ActivityKind.EDUCATION or activity.pk is None:
            continue
        assignment = education.assign_for_care_plan(
            actor=actor,
            patient_id=patient_id,
            condition_codes=list(template.icd10_prefixes),
            source_ref=f"careplans.activity:{activity.pk}",
        )
        if assignment is not None:
            activity.education_material_id = assignment.material_id
            activity.save(update_fields=["education_material", "updated_at"])


def _active_plan(plan: CarePlan) -> None:
    if plan.status != PlanStatus.ACTIVE:
        raise PlanClosed("The plan is no longer active.")


def _not_cancelled(item: Goal | Activity) -> None:
    if item.status == ItemStatus.CANCELLED:
        kind = "goal" if isinstance(item, Goal) else "activity"
        raise ItemCancelled(f"The {kind} was cancelled; add a new one instead.")


def _target(value: Decimal | str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed("The target must be a number.", field="target") from exc
    if not number.is_finite() or not Decimal("-100000") < number < Decimal("100000"):
        raise ValidationFailed("The target must be a number.", field="target")
    return number.quantize(Decimal("0.01"))


def _touch(plan: CarePlan) -> None:
    plan.version += 1
    plan.save(update_fields=["version", "updated_at"])


def update_goal(
    *,
    actor: Actor,
    goal_id: int,
    description: str,
    comparator: str,
    target: Decimal | str,
    stale_after_days: int,
    due_on: dt.date | None = None,
) -> Goal:
    """Change a goal's wording, target, due date (None: none) or how old its latest value may be. A
    cancelled goal no longer changes (ItemCancelled)."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    description = _text(description, "description", "Goal")
    if comparator not in Comparator.values:
        raise ValidationFailed(f"{comparator!r} is not a comparison.", field="comparator")
    number = _target(target)
    days = _whole(stale_after_days, "stale_after_days", "Out of date after (days)", 1, 3650)
    due = _optional_date(due_on, "due_on", "Due")
    with transaction.atomic():
        goal = selectors.locked_goal(actor, goal_id)
        _active_plan(goal.plan)
        _not_cancelled(goal)
        before = {
            "description": goal.description,
            "comparator": goal.comparator,
            "target": str(goal.target),
            "stale_after_days": goal.stale_after_days,
            "due_on": goal.due_on.isoformat() if goal.due_on else None,
        }
        goal.description, goal.comparator, goal.target, goal.stale_after_days, goal.due_on = (
            description,
            comparator,
            number,
            days,
            due,
        )
        goal.save(
            update_fields=["description", "comparator", "target", "stale_after_days", "due_on", "updated_at"]
        )
        _touch(goal.plan)
        after = {
            "description": description,
            "comparator": comparator,
            "target": str(number),
            "stale_after_days": days,
            "due_on": due.isoformat() if due else None,
        }
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_UPDATE,
            patient_id=goal.plan.patient_id,
            obj=goal,
            detail={"before": before, "after": after},
        )
    return goal


def update_activity(
    *, actor: Actor, activity_id: int, description: str, every_months: int | None, due_on: dt.date | None
) -> Activity:
    """Change an activity's wording, recurrence or next due date."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    description = _text(description, "description", "Activity")
    months = None if every_months is None else _whole(every_months, "every_months", "Every (months)", 1, 60)
    due = None if due_on is None else _date(due_on, "due_on", "Due")
    with transaction.atomic():
        activity = selectors.locked_activity(actor, activity_id)
        _active_plan(activity.plan)
        _not_cancelled(activity)
        before = {
            "description": activity.description,
            "every_months": activity.every_months,
            "due_on": activity.due_on.isoformat() if activity.due_on else None,
        }
        activity.description, activity.every_months, activity.due_on = description, months, due
        activity.save(update_fields=["description", "every_months", "due_on", "updated_at"])
        _touch(activity.plan)
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_UPDATE,
            patient_id=activity.plan.patient_id,
            obj=activity,
            detail={
                "before": before,
                "after": {
                    "description": description,
                    "every_months": months,
                    "due_on": due.isoformat() if due else None,
                },
            },
        )
    return activity


def add_activity(
    *,
    actor: Actor,
    plan_id: int,
    kind: str,
    description: str,
    every_months: int | None,
    due_on: dt.date,
) -> Activity:
    """An activity of the plan's own (beyond its template's), due first on `due_on`."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    if kind not in ActivityKind.values:
        raise ValidationFailed(f"{kind!r} is not a kind of activity.", field="kind")
    description = _text(description, "description", "Activity")
    months = None if every_months is None else _whole(every_months, "every_months", "Every (months)", 1, 60)
    due = _date(due_on, "due_on", "Due")
    with transaction.atomic():
        plan = selectors.locked_plan(actor, plan_id)
        _active_plan(plan)
        position = plan.activities.count()
        activity = Activity.objects.create(
            plan=plan, position=position, kind=kind, description=description, every_months=months, due_on=due
        )
        _touch(plan)
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_UPDATE,
            patient_id=plan.patient_id,
            obj=activity,
            detail={"added": {"kind": kind, "every_months": months, "due_on": due.isoformat()}},
        )
    return activity


def add_goal(
    *,
    actor: Actor,
    plan_id: int,
    description: str,
    code: str,
    comparator: str,
    target: Decimal | str,
    stale_after_days: int = 180,
    due_on: dt.date | None = None,
) -> Goal:
    """A goal of the plan's own (beyond its template's): a target on one of the measures the chart records
    (catalog.MEASURES, by LOINC code; its unit is the measure's), optionally to be reached by `due_on`."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    description = _text(description, "description", "Goal")
    measure = catalog.MEASURES.get(code)
    if measure is None:
        known = ", ".join(catalog.MEASURES)
        raise ValidationFailed(
            f"{code!r} is not a measure the chart records; use one of {known}.", field="code"
        )
    if comparator not in Comparator.values:
        raise ValidationFailed(f"{comparator!r} is not a comparison.", field="comparator")
    number = _target(target)
    days = _whole(stale_after_days, "stale_after_days", "Out of date after (days)", 1, 3650)
    due = _optional_date(due_on, "due_on", "Due")
    with transaction.atomic():
        plan = selectors.locked_plan(actor, plan_id)
        _active_plan(plan)
        goal = Goal.objects.create(
            plan=plan,
            position=plan.goals.count(),
            description=description,
            code=code,
            comparator=comparator,
            target=number,
            unit=measure.unit,
            stale_after_days=days,
            due_on=due,
        )
        _touch(plan)
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_UPDATE,
            patient_id=plan.patient_id,
            obj=goal,
            detail={
                "added": {
                    "code": code,
                    "comparator": comparator,
                    "target": str(number),
                    "due_on": due.isoformat() if due else None,
                }
            },
        )
    return goal


def _cancel(actor: Actor, item: Goal | Activity, reason: str) -> None:
    """Mark a goal or activity of an active plan cancelled (kept, with when and why), inside the caller's
    transaction, with its audit row."""
    _active_plan(item.plan)
    _not_cancelled(item)
    item.status, item.cancel_reason, item.cancelled_on = ItemStatus.CANCELLED, reason, today()
    item.save(update_fields=["status", "cancel_reason", "cancelled_on", "updated_at"])
    _touch(item.plan)
    audit.record(
        actor=actor,
        action=AuditAction.CAREPLAN_UPDATE,
        patient_id=item.plan.patient_id,
        obj=item,
        detail={"cancelled": {"reason": reason}},
    )


def cancel_goal(*, actor: Actor, goal_id: int, reason: str) -> Goal:
    """Cancel a goal of an active plan, with a reason: it no longer counts (nor shows among the plan's
    goals) but is kept, with when and why, as the plan's history."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    reason = _text(reason, "reason", "Reason")
    with transaction.atomic():
        goal = selectors.locked_goal(actor, goal_id)
        _cancel(actor, goal, reason)
    return goal


def cancel_activity(*, actor: Actor, activity_id: int, reason: str) -> Activity:
    """Cancel an activity of an active plan, with a reason: it is due no more (its open overdue task is
    cancelled) and is kept, with when and why, as the plan's history."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    reason = _text(reason, "reason", "Reason")
    with transaction.atomic():
        activity = selectors.locked_activity(actor, activity_id)
        _cancel(actor, activity, reason)
        if activity.due_on is not None and actor.has(Permission.TASK_WORK):
            worklist.close_tasks_by_keys(
                actor=actor,
                dedupe_keys=[rules.overdue_task_key(activity.pk, activity.due_on)],
                status=TaskStatus.CANCELLED,
                reason=f"Care-plan activity cancelled: {reason}",
            )
    return activity


# --- the care team --------------------------------------------------------------------------------------


def _member_detail(member: CareTeamMember) -> dict[str, Any]:
    return {"role": member.role, "user_id": member.user_id, "practitioner_id": member.practitioner_id}


def add_team_member(
    *,
    actor: Actor,
    plan_id: int,
    role: str,
    user_id: int | None = None,
    practitioner_id: int | None = None,
) -> CareTeamMember:
    """Put someone on the plan's care team in a role: a named staff user or practitioner of the actor's
    organization, or (neither) the role alone. A named person fills the role's first unnamed place when
    there is one; the same person twice in one role is refused."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    if role not in CareTeamRole.values:
        raise ValidationFailed(f"{role!r} is not a care-team role.", field="role")
    if user_id is not None and practitioner_id is not None:
        raise ValidationFailed("Name a staff member or a practitioner, not both.", field="member")
    with transaction.atomic():
        plan = selectors.locked_plan(actor, plan_id)
        _active_plan(plan)
        if user_id is not None and not selectors.team_staff(actor).filter(pk=user_id).exists():
            raise ValidationFailed("Pick an active staff member of your organization.", field="member")
        if practitioner_id is not None and not (
            selectors.team_practitioners(actor).filter(pk=practitioner_id).exists()
        ):
            raise ValidationFailed("Pick an active practitioner of your organization.", field="member")
        members = plan.team_members.select_for_update()
        person: dict[str, int] = {}
        if user_id is not None:
            person["user_id"] = user_id
        elif practitioner_id is not None:
            person["practitioner_id"] = practitioner_id
        named = bool(person)
        if named and members.filter(role=role, **person).exists():
            raise ValidationFailed("That person already has this role on the care team.", field="member")
        if not named and members.filter(role=role, user__isnull=True, practitioner__isnull=True).exists():
            raise ValidationFailed("The care team already has this role; name who fills it.", field="member")
        place = (
            members.filter(role=role, user__isnull=True, practitioner__isnull=True)
            .order_by("position")
            .first()
            if named
            else None
        )
        filled = place is not None
        if place is None:
            last = members.order_by("-position").values_list("position", flat=True).first()
            place = CareTeamMember(plan=plan, role=role, position=0 if last is None else last + 1)
        place.user_id, place.practitioner_id = user_id, practitioner_id
        place.save()
        _touch(plan)
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_UPDATE,
            patient_id=plan.patient_id,
            obj=place,
            detail={"team_member_added": {**_member_detail(place), "filled_role": filled}},
        )
    return place


def remove_team_member(*, actor: Actor, member_id: int) -> CareTeamMember:
    """Take someone (or an unfilled role) off the plan's care team; the audit row keeps who it was."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    with transaction.atomic():
        member = selectors.locked_team_member(actor, member_id)
        _active_plan(member.plan)
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_UPDATE,
            patient_id=member.plan.patient_id,
            obj=member,
            detail={"team_member_removed": _member_detail(member)},
        )
        member.delete()
        _touch(member.plan)
    return member


def close_plan(*, actor: Actor, plan_id: int, status: str, reason: str) -> CarePlan:
    """End an active plan: `completed` or `cancelled`, with a reason. Its open overdue tasks are cancelled;
    a new plan from the same template may then be started."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    if status not in (PlanStatus.COMPLETED, PlanStatus.CANCELLED):
        raise ValidationFailed(f"{status!r} is not a way to end a plan.", field="status")
    reason = _text(reason, "reason", "Reason")
    with transaction.atomic():
        plan = selectors.locked_plan(actor, plan_id)
        _active_plan(plan)
        plan.status = status
        plan.version += 1
        plan.save(update_fields=["status", "version", "updated_at"])
        keys = [
            rules.overdue_task_key(pk, due)
            for pk, due in plan.activities.values_list("pk", "due_on")
            if due is not None
        ]
        if keys and actor.has(Permission.TASK_WORK):
            worklist.close_tasks_by_keys(
                actor=actor,
                dedupe_keys=keys,
                status=TaskStatus.CANCELLED,
                reason=f"Care plan ended: {reason}",
            )
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_UPDATE,
            patient_id=plan.patient_id,
            obj=plan,
            detail={"status": status, "reason": reason},
        )
    return plan


def complete_activity(*, actor: Actor, activity_id: int, done_on: dt.date | None = None) -> Activity:
    """Record that the activity was done: a recurring one is due again `every_months` later, a one-off is
    due no more. The overdue task it caused, if any, is closed as done."""
    _require(actor, Permission.CAREPLAN_MANAGE)
    day = today() if done_on is None else _date(done_on, "done_on", "Done on")
    if day > today():
        raise ValidationFailed("The date is in the future.", field="done_on")
    with transaction.atomic():
        activity = selectors.locked_activity(actor, activity_id)
        _active_plan(activity.plan)
        _not_cancelled(activity)
        previous_due = activity.due_on
        activity.last_done_on = day
        activity.due_on = rules.next_due(day, activity.every_months)
        activity.save(update_fields=["last_done_on", "due_on", "updated_at"])
        _touch(activity.plan)
        if previous_due is not None:
            worklist.close_tasks_by_keys(
                actor=actor,
                dedupe_keys=[rules.overdue_task_key(activity.pk, previous_due)],
                status=TaskStatus.DONE,
                reason="The care-plan activity was done.",
            )
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_UPDATE,
            patient_id=activity.plan.patient_id,
            obj=activity,
            detail={
                "done_on": day.isoformat(),
                "next_due": activity.due_on.isoformat() if activity.due_on else None,
            },
        )
    return activity


@dataclass(frozen=True)
class OverdueRun:
    created: int
    existing: int


def create_overdue_tasks(*, actor: Actor, on: dt.date | None = None) -> OverdueRun:
    """The rule "care-plan activity overdue → task": every activity of an active plan of the actor's
    organization due before `on` gets one worklist task (dedupe key per activity and due date), so running
    it again creates nothing new."""
    _require(actor, Permission.TASK_WORK)
    organization_id = _organization_id(actor)
    day = today() if on is None else on
    created = existing = 0
    overdue = (
        Activity.objects.filter(
            plan__organization_id=organization_id,
            plan__status=PlanStatus.ACTIVE,
            status=ItemStatus.ACTIVE,
            due_on__lt=day,
        )
        .select_related("plan")
        .order_by("pk")
    )
    for activity in overdue.iterator(chunk_size=500):
        assert activity.due_on is not None
        outcome = worklist.create_task(
            actor=actor,
            data=worklist.NewTask(
                title=f"Overdue: {activity.description}"[:200],
                description=f"{activity.plan.title}: {activity.get_kind_display()} was due on "
                f"{activity.due_on:%Y-%m-%d}.",
                queue=QUEUE_OF_KIND.get(activity.kind, TaskQueue.CARE_COORDINATION),
                task_type=TaskType.CAREPLAN_ACTIVITY_OVERDUE,
                patient_id=activity.plan.patient_id,
                priority=TaskPriority.NORMAL,
                source_type="careplans.careplan",
                source_id=str(activity.plan_id),
                dedupe_key=rules.overdue_task_key(activity.pk, activity.due_on),
            ),
        )
        if outcome.created:
            created += 1
        else:
            existing += 1
    return OverdueRun(created=created, existing=existing)


# --- CCM ------------------------------------------------------------------------------------------------


#: The chronic conditions CCM eligibility counts: the care-plan templates' conditions and ICD-10-CM prefixes.
CCM_CONDITIONS: dict[str, tuple[str, ...]] = {
    template.condition: template.icd10_prefixes for template in catalog.TEMPLATES.values()
}


def _chronic_conditions(actor: Actor, patient_id: int) -> list[str]:
    """The CCM chronic conditions among the patient's active problems (read through the chart's audited
    problem list)."""
    codes: list[str] = []
    page, more = 1, True
    while more:
        found = patient_selectors.list_entries(
            actor=actor, patient_id=patient_id, entry_type="problem", page=page, page_size=200
        )
        codes += [p.icd10_code for p in found.results if p.clinical_status == "active"]
        page, more = page + 1, found.has_next
    return rules.chronic_conditions(codes, CCM_CONDITIONS)


def record_consent(
    *, actor: Actor, patient_id: int, consented_on: dt.date, method: str, note: str = ""
) -> CcmConsent:
    """Document the patient's consent to CCM (date, how, who). One open consent per patient. The patient
    must be eligible: two or more of the chronic conditions the care-plan templates target (their ICD-10-CM
    prefixes in `catalog`: diabetes, hypertension, heart failure, COPD, asthma, CKD) among the active
    problems of the chart (NotEnoughChronicConditions names what is missing)."""
    _require(actor, Permission.CCM_LOG)
    organization_id = _organization_id(actor)
    day = _date(consented_on, "consented_on", "Consent date")
    if day > today():
        raise ValidationFailed("The consent date is in the future.", field="consented_on")
    if method not in ConsentMethod.values:
        raise ValidationFailed(f"{method!r} is not a way of consenting.", field="method")
    note = _text(note, "note", "Note", 500, required=False)
    with transaction.atomic():
        pk = _patient_for_write(actor, patient_id)
        if CcmConsent.objects.filter(patient_id=pk, revoked_on__isnull=True).exists():
            raise ValidationFailed(
                "The patient's consent to CCM is already documented.", field="consented_on"
            )
        conditions = _chronic_conditions(actor, pk)
        problem = rules.ccm_eligibility_error(conditions, CCM_CONDITIONS)
        if problem:
            raise NotEnoughChronicConditions(problem, details={"conditions": conditions})
        consent = CcmConsent.objects.create(
            organization_id=organization_id,
            patient_id=pk,
            consented_on=day,
            method=method,
            note=note,
            obtained_by_id=actor.user_id,
            obtained_by_name=_name_of(actor),
        )
        audit.record(
            actor=actor,
            action=AuditAction.CCM_CONSENT_CREATE,
            patient_id=pk,
            obj=consent,
            detail={"consented_on": day.isoformat(), "method": method},
        )
    return consent


def revoke_consent(*, actor: Actor, patient_id: int, revoked_on: dt.date, reason: str = "") -> CcmConsent:
    """The patient stops CCM: it ends with the calendar month of `revoked_on` (time of that month still
    counts). A new consent may be documented later."""
    _require(actor, Permission.CCM_LOG)
    day = _date(revoked_on, "revoked_on", "Date")
    if day > today():
        raise ValidationFailed("The date is in the future.", field="revoked_on")
    reason = _text(reason, "reason", "Reason", 500, required=False)
    with transaction.atomic():
        pk = _patient_for_write(actor, patient_id)
        consent = (
            CcmConsent.objects.select_for_update().filter(patient_id=pk, revoked_on__isnull=True).first()
        )
        if consent is None:
            raise ConsentMissing("The patient has no open consent to CCM.")
        if day < consent.consented_on:
            raise ValidationFailed("The date is before the consent.", field="revoked_on")
        consent.revoked_on = day
        consent.note = f"{consent.note} Stopped: {reason}".strip()[:500] if reason else consent.note
        consent.save(update_fields=["revoked_on", "note", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.CCM_CONSENT_UPDATE,
            patient_id=pk,
            obj=consent,
            detail={"revoked_on": day.isoformat()},
        )
    return consent


def log_ccm_time(
    *,
    actor: Actor,
    patient_id: int,
    performed_on: dt.date,
    minutes: int,
    activity: str,
    billing_practitioner_id: int,
) -> CcmTimeEntry:
    """Log clinical-staff minutes for the patient's CCM month. Needs documented consent (ConsentMissing);
    the month's billing practitioner is set by its first entry and every later entry must name the same
    one (OtherBillingPractitioner): the database allows one CcmMonth per patient and month. Only clinical
    staff time counts (rules.CCM_CLINICAL_STAFF_ROLES: physician, nurse, care coordinator; see there why):
    anyone else's minutes are refused (NotClinicalStaff)."""
    _require(actor, Permission.CCM_LOG)
    if not rules.is_ccm_clinical_staff(actor.role):
        raise NotClinicalStaff(
            "Only clinical staff time counts toward CCM (physicians, nurses and care coordinators); "
            f"a {actor.role.replace('_', ' ')}'s minutes cannot be logged."
        )
    organization_id = _organization_id(actor)
    day = _date(performed_on, "performed_on", "Date")
    minutes = _whole(minutes, "minutes", "Minutes", 1, rules.MAX_ENTRY_MINUTES)
    problem = rules.entry_error(minutes, day, today())
    if problem:
        raise ValidationFailed(problem[1], field=problem[0])
    activity = _text(activity, "activity", "Activity")
    month = rules.month_start(day)
    with transaction.atomic():
        pk = _patient_for_write(actor, patient_id)  # outside the organization: 404 before anything else
        practitioner = (
            practitioner_selectors.practitioner_queryset(actor)
            .filter(pk=billing_practitioner_id, active=True)
            .first()
        )
        if practitioner is None:
            raise ValidationFailed(
                "Pick an active practitioner of your organization.", field="billing_practitioner"
            )
        consents = CcmConsent.objects.filter(patient_id=pk).values_list("consented_on", "revoked_on")
        if not any(rules.consent_covers(start, end, day) for start, end in consents):
            raise ConsentMissing("Document the patient's consent to CCM before logging time.")
        ccm_month = CcmMonth.objects.select_for_update().filter(patient_id=pk, month=month).first()
        if ccm_month is None:
            try:
                with transaction.atomic():
                    ccm_month = CcmMonth.objects.create(
                        organization_id=organization_id,
                        patient_id=pk,
                        month=month,
                        billing_practitioner_id=practitioner.pk,
                    )
            except IntegrityError:
                ccm_month = CcmMonth.objects.select_for_update().get(patient_id=pk, month=month)
        if ccm_month.billing_practitioner_id != practitioner.pk:
            raise OtherBillingPractitioner(
                "Another practitioner already bills CCM for this patient this month; only one may.",
                field="billing_practitioner",
                details={"billing_practitioner_id": ccm_month.billing_practitioner_id},
            )
        entry = CcmTimeEntry.objects.create(
            ccm_month=ccm_month,
            staff_id=actor.user_id,
            staff_name=_name_of(actor),
            staff_role=actor.role[:20],
            performed_on=day,
            minutes=minutes,
            activity=activity,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CCM_TIME_CREATE,
            patient_id=pk,
            obj=entry,
            detail={
                "month": f"{month:%Y-%m}",
                "minutes": minutes,
                "billing_practitioner_id": practitioner.pk,
            },
        )
    return entry


def move_plans_on_merge(actor: Actor, source: Any, target: Any) -> None:
    """patients.services merge hook: the surviving record takes over the merged one's plans and CCM rows
    (inside the merge's transaction, which writes the audit rows). A month both records have stays with the
    merged record: two billing practitioners cannot be joined into one month."""
    CarePlan.objects.filter(patient_id=source.pk).exclude(
        template_code__in=CarePlan.objects.filter(patient_id=target.pk, status=PlanStatus.ACTIVE).values(
            "template_code"
        ),
        status=PlanStatus.ACTIVE,
    ).update(patient_id=target.pk)
    taken = CcmMonth.objects.filter(patient_id=target.pk).values("month")
    CcmMonth.objects.filter(patient_id=source.pk).exclude(month__in=taken).update(patient_id=target.pk)
    if not CcmConsent.objects.filter(patient_id=target.pk, revoked_on__isnull=True).exists():
        CcmConsent.objects.filter(patient_id=source.pk).update(patient_id=target.pk)

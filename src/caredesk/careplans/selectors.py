"""Read queries of care plans and CCM, restricted to the actor's organization and audited where they show
a patient. A plan, goal or activity outside the scope answers *NotFound, exactly like a missing one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from caredesk.accounts.models import User
from caredesk.accounts.permissions import Permission, Role
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.errors import PatientNotFound
from caredesk.practitioners import selectors as practitioner_selectors

from . import catalog, rules
from .choices import CareTeamRole, ItemStatus, PlanStatus
from .errors import ActivityNotFound, GoalNotFound, PlanNotFound, TeamMemberNotFound
from .models import Activity, CarePlan, CareTeamMember, CcmConsent, CcmMonth, CcmTimeEntry, Goal

#: What a plan view loads with each plan (its team with the people named).
PLAN_PREFETCH = ("goals", "activities", "team_members__user", "team_members__practitioner")


def parse_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def display_name(actor: Actor) -> str:
    if actor.user_id is not None:
        user = User.objects.filter(pk=actor.user_id).only("first_name", "last_name", "username").first()
        if user is not None:
            return user.display_name
    return actor.username


def patient_status(actor: Actor, patient_id: Any) -> str | None:
    """The status of a patient in the actor's scope (None outside it). Not audited: for writes, which
    write their own audit row."""
    pk = parse_id(patient_id)
    if pk is None:
        return None
    status: str | None = (
        patient_selectors.patient_queryset(actor).filter(pk=pk).values_list("status", flat=True).first()
    )
    return status


def _can_view(actor: Actor) -> bool:
    return actor.has(Permission.CAREPLAN_VIEW) or (
        actor.is_portal and actor.has(Permission.PORTAL_OWN_RECORD)
    )


def plan_queryset(actor: Actor) -> QuerySet[CarePlan]:
    """Plans of the actor's organization (a portal user: their own). Not audited."""
    if actor.organization_id is None or not _can_view(actor):
        return CarePlan.objects.none()
    plans = CarePlan.objects.filter(organization_id=actor.organization_id)
    if actor.is_portal:
        plans = plans.filter(patient_id=actor.patient_id or 0)
    return plans


def _staff_plans(actor: Actor) -> QuerySet[CarePlan]:
    return plan_queryset(actor) if not actor.is_portal else CarePlan.objects.none()


_Item = TypeVar("_Item", Goal, Activity, CareTeamMember)


def _locked_item(actor: Actor, model: type[_Item], item_id: Any) -> _Item | None:
    """A goal, activity or care-team member of a plan the (staff) actor may see, row-locked with its
    plan loaded; None when there is none."""
    pk = parse_id(item_id)
    if pk is None:
        return None
    return (
        model.objects.select_for_update()
        .select_related("plan")
        .filter(pk=pk, plan__in=_staff_plans(actor))
        .first()
    )


def locked_goal(actor: Actor, goal_id: Any) -> Goal:
    goal = _locked_item(actor, Goal, goal_id)
    if goal is None:
        raise GoalNotFound(f"No goal with id {goal_id}.", details={"id": str(goal_id)})
    return goal


def locked_plan(actor: Actor, plan_id: Any) -> CarePlan:
    pk = parse_id(plan_id)
    plan = None if pk is None else _staff_plans(actor).select_for_update().filter(pk=pk).first()
    if plan is None:
        raise PlanNotFound(f"No care plan with id {plan_id}.", details={"id": str(plan_id)})
    return plan


def locked_activity(actor: Actor, activity_id: Any) -> Activity:
    activity = _locked_item(actor, Activity, activity_id)
    if activity is None:
        raise ActivityNotFound(f"No activity with id {activity_id}.", details={"id": str(activity_id)})
    return activity


def locked_team_member(actor: Actor, member_id: Any) -> CareTeamMember:
    member = _locked_item(actor, CareTeamMember, member_id)
    if member is None:
        raise TeamMemberNotFound(f"No care-team member with id {member_id}.", details={"id": str(member_id)})
    return member


def team_staff(actor: Actor) -> QuerySet[User]:
    """Staff users of the actor's organization who can be named on a care team (not portal accounts)."""
    if actor.organization_id is None:
        return User.objects.none()
    return (
        User.objects.filter(organization_id=actor.organization_id, is_active=True)
        .exclude(role=Role.PATIENT)
        .order_by("last_name", "first_name", "pk")
    )


def team_practitioners(actor: Actor) -> QuerySet[Any]:
    """Active practitioners of the actor's organization who can be named on a care team."""
    return (
        practitioner_selectors.practitioner_queryset(actor)
        .filter(active=True)
        .order_by("family_name", "given_name", "pk")
    )


def team_choices(*, actor: Actor) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Who may be named on a care team: (staff users, practitioners) as (id, name) pairs."""
    users = [(u.pk, u.display_name) for u in team_staff(actor)]
    practitioners = [
        (p.pk, f"{p.family_name}, {p.given_name} {p.credentials}".strip()) for p in team_practitioners(actor)
    ]
    return users, practitioners


# --- one patient's plans --------------------------------------------------------------------------------


@dataclass
class GoalView:
    goal: Goal
    measure: str
    status: str
    latest_value: Decimal | None
    latest_on: dt.date | None


@dataclass
class ActivityView:
    activity: Activity
    overdue: bool


@dataclass
class TeamMemberView:
    member: CareTeamMember
    role_label: str
    name: str

    @property
    def line(self) -> str:
        """ "Nurse: Nora Nightingale", or the role alone when nobody is named."""
        return f"{self.role_label}: {self.name}" if self.name else self.role_label


@dataclass
class PlanView:
    """A plan as shown: its current goals and activities (cancelled ones apart, kept as history) and its
    care team."""

    plan: CarePlan
    goals: list[GoalView]
    activities: list[ActivityView]
    team: list[TeamMemberView] = field(default_factory=list)
    cancelled_goals: list[Goal] = field(default_factory=list)
    cancelled_activities: list[Activity] = field(default_factory=list)
    #: The cancelled goals with their measure's latest value (for the API and FHIR, which still show them).
    cancelled_goal_views: list[GoalView] = field(default_factory=list)

    @property
    def care_team_labels(self) -> list[str]:
        return [m.line for m in self.team]


@dataclass
class CcmMonthView:
    month: dt.date
    consent: CcmConsent | None
    billing: rules.CcmBilling
    entries: list[CcmTimeEntry] = field(default_factory=list)
    billing_practitioner: str = ""
    billing_practitioner_id: int | None = None
    days_left: int = 0


@dataclass
class PatientPlans:
    patient: Any
    plans: list[PlanView]
    ccm: CcmMonthView | None
    today: dt.date


def _latest(observations: dict[str, Any], code: str) -> tuple[Decimal | None, dt.date | None]:
    measure = catalog.MEASURES.get(code)
    if measure is None:
        return None, None
    observation = observations.get(measure.kind)
    if observation is None:
        return None, None
    value = getattr(observation, measure.component)
    return value, timezone.localdate(observation.effective_at)


def _plan_views(plans: list[CarePlan], observations: dict[str, Any], today: dt.date) -> list[PlanView]:
    views = []
    for plan in plans:
        goals = []
        all_goals = list(plan.goals.all())
        for goal in all_goals:
            value, on = _latest(observations, goal.code)
            measure = catalog.MEASURES.get(goal.code)
            goals.append(
                GoalView(
                    goal=goal,
                    measure=measure.label if measure else goal.code,
                    status=rules.goal_status(
                        comparator=goal.comparator,
                        target=goal.target,
                        latest_value=value,
                        latest_on=on,
                        today=today,
                        stale_after_days=goal.stale_after_days,
                    ),
                    latest_value=value,
                    latest_on=on,
                )
            )
        cancelled_goal_views = [g for g in goals if g.goal.status == ItemStatus.CANCELLED]
        goals = [g for g in goals if g.goal.status != ItemStatus.CANCELLED]
        all_activities = list(plan.activities.all())
        activities = [
            ActivityView(a, rules.is_overdue(a.due_on, today))
            for a in all_activities
            if a.status != ItemStatus.CANCELLED
        ]
        team = [
            TeamMemberView(
                member=m,
                role_label=CareTeamRole(m.role).label if m.role in CareTeamRole.values else m.role,
                name=m.member_name,
            )
            for m in plan.team_members.all()
        ]
        views.append(
            PlanView(
                plan=plan,
                goals=goals,
                activities=activities,
                team=team,
                cancelled_goals=[g for g in all_goals if g.status == ItemStatus.CANCELLED],
                cancelled_activities=[a for a in all_activities if a.status == ItemStatus.CANCELLED],
                cancelled_goal_views=cancelled_goal_views,
            )
        )
    return views


def _ccm_month(patient_id: int, today: dt.date) -> CcmMonthView:
    month = rules.month_start(today)
    consent = (
        CcmConsent.objects.filter(patient_id=patient_id)
        .filter(Q(revoked_on__isnull=True) | Q(revoked_on__gte=month))
        .order_by(F("revoked_on").asc(nulls_first=True), "-consented_on")  # an open consent first
        .first()
    )
    ccm_month = (
        CcmMonth.objects.filter(patient_id=patient_id, month=month)
        .select_related("billing_practitioner")
        .first()
    )
    entries = list(ccm_month.entries.all()) if ccm_month else []
    practitioner = ccm_month.billing_practitioner if ccm_month else None
    return CcmMonthView(
        month=month,
        consent=consent,
        billing=rules.ccm_billing(rules.total_minutes(e.minutes for e in entries)),
        entries=entries,
        billing_practitioner=f"{practitioner.given_name} {practitioner.family_name}" if practitioner else "",
        billing_practitioner_id=practitioner.pk if practitioner else None,
        days_left=rules.days_left(today),
    )


def patient_plans(*, actor: Actor, patient_id: int) -> PatientPlans:
    """The patient's active plans with each goal's status from the latest observations and each activity's
    due state, and (staff with CCM_LOG) this month's CCM. One CAREPLAN_VIEW audit row; the chart read for
    the observations writes its own PATIENT_VIEW row."""
    if not _can_view(actor):
        raise Forbidden(f"This needs the permission {Permission.CAREPLAN_VIEW}.")
    today = timezone.localdate()
    with transaction.atomic():
        if actor.is_portal:
            if parse_id(patient_id) != actor.patient_id:
                raise PatientNotFound(f"No patient with id {patient_id}.")
            chart = patient_selectors.portal_summary(actor=actor)
        else:
            chart = patient_selectors.get_chart(actor=actor, patient_id=patient_id)
        patient = chart.patient
        plans = list(
            plan_queryset(actor)
            .filter(patient_id=patient.pk, status=PlanStatus.ACTIVE)
            .prefetch_related(*PLAN_PREFETCH)
            .order_by("created_at", "pk")
        )
        views = _plan_views(plans, chart.latest_vitals, today)
        ccm = _ccm_month(patient.pk, today) if actor.has(Permission.CCM_LOG) else None
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_VIEW,
            patient_id=patient.pk,
            obj=patient,
            detail={"plan_ids": [p.pk for p in plans]},
        )
    return PatientPlans(patient=patient, plans=views, ccm=ccm, today=today)


def get_plan(*, actor: Actor, plan_id: int, print_copy: bool = False) -> tuple[PatientPlans, PlanView]:
    """One plan with its goal status (the patient copy with `print_copy`); a CAREPLAN_VIEW (or
    CAREPLAN_PRINT) audit row naming the plan, besides the patient-plans read. PlanNotFound outside the
    actor's scope."""
    pk = parse_id(plan_id)
    plan = None if pk is None else plan_queryset(actor).filter(pk=pk).first()
    if plan is None:
        raise PlanNotFound(f"No care plan with id {plan_id}.", details={"id": str(plan_id)})
    with transaction.atomic():
        everything = patient_plans(actor=actor, patient_id=plan.patient_id)
        view = next((v for v in everything.plans if v.plan.pk == plan.pk), None)
        if view is None:  # no longer active: shown all the same, without goal status
            plan = CarePlan.objects.prefetch_related(*PLAN_PREFETCH).get(pk=plan.pk)
            view = _plan_views([plan], {}, everything.today)[0]
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_PRINT if print_copy else AuditAction.CAREPLAN_VIEW,
            patient_id=plan.patient_id,
            obj=plan,
            detail={},
        )
    return everything, view


def goal_for_edit(*, actor: Actor, goal_id: int) -> Goal:
    pk = parse_id(goal_id)
    with transaction.atomic():
        goal = (
            None
            if pk is None
            else Goal.objects.select_related("plan").filter(pk=pk, plan__in=_staff_plans(actor)).first()
        )
        if goal is None:
            raise GoalNotFound(f"No goal with id {goal_id}.", details={"id": str(goal_id)})
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_VIEW,
            patient_id=goal.plan.patient_id,
            obj=goal,
            detail={"view": "goal"},
        )
    return goal


def activity_for_edit(*, actor: Actor, activity_id: int) -> Activity:
    pk = parse_id(activity_id)
    with transaction.atomic():
        activity = (
            None
            if pk is None
            else Activity.objects.select_related("plan").filter(pk=pk, plan__in=_staff_plans(actor)).first()
        )
        if activity is None:
            raise ActivityNotFound(f"No activity with id {activity_id}.", details={"id": str(activity_id)})
        audit.record(
            actor=actor,
            action=AuditAction.CAREPLAN_VIEW,
            patient_id=activity.plan.patient_id,
            obj=activity,
            detail={"view": "activity"},
        )
    return activity


def billing_practitioners(*, actor: Actor) -> list[tuple[int, str]]:
    return [
        (p.pk, f"{p.family_name}, {p.given_name} {p.credentials}".strip())
        for p in practitioner_selectors.practitioner_queryset(actor)
        .filter(active=True)
        .order_by("family_name", "given_name", "pk")
    ]


# --- the CCM month summary ----------------------------------------------------------------------------


@dataclass
class CcmRow:
    patient_id: int
    mrn: str
    name: str
    minutes: int
    billing: rules.CcmBilling
    billing_practitioner: str


@dataclass
class CcmSummary:
    month: dt.date
    rows: list[CcmRow]
    days_left: int
    is_current: bool

    @property
    def below(self) -> list[CcmRow]:
        return [r for r in self.rows if not r.billing.base]

    @property
    def largest(self) -> int:
        return max([rules.CCM_BASE_MINUTES * 2, *(r.minutes for r in self.rows)])


def ccm_summary(*, actor: Actor, month: dt.date | None = None, export: bool = False) -> CcmSummary:
    """Every patient with open CCM consent, with the month's minutes and codes, fewest minutes first;
    one CCM_REPORT_VIEW (or _EXPORT) audit row with the patient ids shown."""
    if not actor.has(Permission.CCM_REPORT) or actor.organization_id is None:
        raise Forbidden(f"This needs the permission {Permission.CCM_REPORT}.")
    today = timezone.localdate()
    first = rules.month_start(month or today)
    with transaction.atomic():
        consents = list(
            CcmConsent.objects.filter(
                Q(revoked_on__isnull=True) | Q(revoked_on__gte=first),
                organization_id=actor.organization_id,
                consented_on__lte=rules.month_end(first),
            )
            .select_related("patient")
            .order_by("patient__family_name", "patient__given_name", "patient_id")
        )
        months = {
            m.patient_id: m
            for m in CcmMonth.objects.filter(organization_id=actor.organization_id, month=first)
            .select_related("billing_practitioner")
            .annotate(total=Sum("entries__minutes"))
        }
        rows = []
        seen: set[int] = set()
        for consent in consents:
            if consent.patient_id in seen:  # stopped and consented again within the month
                continue
            seen.add(consent.patient_id)
            found = months.get(consent.patient_id)
            minutes = int(getattr(found, "total", 0) or 0) if found else 0
            practitioner = found.billing_practitioner if found else None
            rows.append(
                CcmRow(
                    patient_id=consent.patient_id,
                    mrn=consent.patient.mrn,
                    name=consent.patient.full_name,
                    minutes=minutes,
                    billing=rules.ccm_billing(minutes),
                    billing_practitioner=f"{practitioner.given_name} {practitioner.family_name}"
                    if practitioner
                    else "",
                )
            )
        rows.sort(key=lambda r: (r.minutes, r.name))
        audit.record(
            actor=actor,
            action=AuditAction.CCM_REPORT_EXPORT if export else AuditAction.CCM_REPORT_VIEW,
            object_type="careplans.ccmmonth",
            detail={"month": f"{first:%Y-%m}", "result_ids": [r.patient_id for r in rows]},
        )
    is_current = first == rules.month_start(today)
    return CcmSummary(
        month=first, rows=rows, days_left=rules.days_left(today) if is_current else 0, is_current=is_current
    )


def month_billing(*, ccm_month_id: int) -> rules.CcmBilling:
    """The codes a CCM month's minutes support (for a caller that just wrote, and audited, an entry)."""
    total = CcmTimeEntry.objects.filter(ccm_month_id=ccm_month_id).aggregate(total=Sum("minutes"))["total"]
    return rules.ccm_billing(int(total or 0))


def plan_of_goal(*, actor: Actor, goal_id: Any) -> int:
    """The plan a goal belongs to, in the actor's scope (a portal user: their own). Not audited: it shows
    nothing; read the plan (`get_plan`) for the goal itself. GoalNotFound outside the scope."""
    pk = parse_id(goal_id)
    plan_id = (
        None
        if pk is None
        else Goal.objects.filter(pk=pk, plan__in=plan_queryset(actor))
        .values_list("plan_id", flat=True)
        .first()
    )
    if plan_id is None:
        raise GoalNotFound(f"No goal with id {goal_id}.", details={"id": str(goal_id)})
    return int(plan_id)


def plan_of_team_member(*, actor: Actor, member_id: Any) -> tuple[int, int]:
    """The (plan, patient) a care-team member belongs to, in the actor's staff scope. Not audited: it shows
    nothing; the change made through it writes its own row. TeamMemberNotFound outside the scope."""
    pk = parse_id(member_id)
    found = (
        None
        if pk is None
        else CareTeamMember.objects.filter(pk=pk, plan__in=_staff_plans(actor))
        .values_list("plan_id", "plan__patient_id")
        .first()
    )
    if found is None:
        raise TeamMemberNotFound(f"No care-team member with id {member_id}.", details={"id": str(member_id)})
    return int(found[0]), int(found[1])

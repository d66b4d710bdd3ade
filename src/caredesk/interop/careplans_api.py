"""Care plans and CCM in the JSON API (/api/v1/...): a patient's plans with goal status and activities,
a plan from a template, the plan's edits (goals added, changed and cancelled; activities added, done and
cancelled; care-team members named and removed, through careplans.services), CCM time, and the CCM month
summary.

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Refusals answer like everywhere: 404 outside the
organization, 409 `careplan_exists`, `ccm_consent_missing`, `ccm_other_billing_practitioner`.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.careplans import selectors, services
from caredesk.careplans.models import Activity

from .api import ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

PatientId = PathEx[int, P(ge=1, le=MAX_ID, description="The patient's id")]
PlanId = PathEx[int, P(ge=1, le=MAX_ID, description="The care plan's id")]
GoalId = PathEx[int, P(ge=1, le=MAX_ID, description="The goal's id")]
ActivityId = PathEx[int, P(ge=1, le=MAX_ID, description="The activity's id")]
TeamMemberId = PathEx[int, P(ge=1, le=MAX_ID, description="The care-team place's id")]
TAGS = ["care plans"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


class GoalOut(Schema):
    id: int
    description: str
    code: str = Field(description="LOINC code of what is measured")
    measure: str
    comparator: str = Field(description="lt, le, gt or ge")
    target: Decimal
    unit: str
    status: str = Field(description="met, not_met, no_data or stale")
    latest_value: Decimal | None
    latest_on: dt.date | None
    due_on: dt.date | None = Field(description="The date the target should be reached by")
    lifecycle_status: str = Field(description="active or cancelled")
    cancel_reason: str
    cancelled_on: dt.date | None


class ActivityOut(Schema):
    id: int
    kind: str
    description: str
    every_months: int | None
    due_on: dt.date | None
    last_done_on: dt.date | None
    overdue: bool
    status: str = Field(description="active or cancelled")
    cancel_reason: str
    cancelled_on: dt.date | None


class TeamMemberOut(Schema):
    id: int
    role: str
    name: str = Field(description="Who fills the role; empty when nobody is named yet")
    user_id: int | None
    practitioner_id: int | None


class PlanOut(Schema):
    id: int
    patient_id: int
    template: str
    title: str
    condition: str
    status: str
    care_team: list[str]
    source: str
    goals: list[GoalOut]
    activities: list[ActivityOut]
    team: list[TeamMemberOut]
    cancelled_goals: list[GoalOut]
    cancelled_activities: list[ActivityOut]


class PlanListOut(Schema):
    results: list[PlanOut]


class NewPlanIn(InputSchema):
    template: str = Field(
        max_length=30, description="diabetes, hypertension, heart_failure, copd, asthma or ckd"
    )
    start_on: dt.date | None = None


class TimeIn(InputSchema):
    performed_on: dt.date
    minutes: int = Field(ge=1, le=240)
    activity: str = Field(min_length=1, max_length=300)
    billing_practitioner_id: int = Field(ge=1, le=MAX_ID)


class TimeOut(Schema):
    id: int
    performed_on: dt.date
    minutes: int
    activity: str
    staff_name: str
    month_minutes: int
    codes: list[str] = Field(description="99490, and 99439 once per additional 20 minutes")


class CcmRowOut(Schema):
    patient_id: int
    minutes: int
    codes: list[str]
    minutes_to_99490: int


class CcmSummaryOut(Schema):
    month: str
    days_left: int
    results: list[CcmRowOut]


class MonthFilter(Schema):
    month: str | None = Field(default=None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")


def _codes(billing: Any) -> list[str]:
    return [code for code, units in billing.codes for _ in range(units)]


def _goal_out(g: selectors.GoalView) -> dict[str, Any]:
    return {
        "id": g.goal.pk,
        "description": g.goal.description,
        "code": g.goal.code,
        "measure": g.measure,
        "comparator": g.goal.comparator,
        "target": g.goal.target,
        "unit": g.goal.unit,
        "status": g.status,
        "latest_value": g.latest_value,
        "latest_on": g.latest_on,
        "due_on": g.goal.due_on,
        "lifecycle_status": g.goal.status,
        "cancel_reason": g.goal.cancel_reason,
        "cancelled_on": g.goal.cancelled_on,
    }


def _activity_out(activity: Activity, overdue: bool) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "kind": activity.kind,
        "description": activity.description,
        "every_months": activity.every_months,
        "due_on": activity.due_on,
        "last_done_on": activity.last_done_on,
        "overdue": overdue,
        "status": activity.status,
        "cancel_reason": activity.cancel_reason,
        "cancelled_on": activity.cancelled_on,
    }


def _member_out(m: selectors.TeamMemberView) -> dict[str, Any]:
    member = m.member
    return {
        "id": member.pk,
        "role": member.role,
        "name": m.name,
        "user_id": member.user_id,
        "practitioner_id": member.practitioner_id,
    }


def _plan_out(view: selectors.PlanView) -> dict[str, Any]:
    plan = view.plan
    return {
        "id": plan.pk,
        "patient_id": plan.patient_id,
        "template": plan.template_code,
        "title": plan.title,
        "condition": plan.condition,
        "status": plan.status,
        "care_team": list(plan.care_team),
        "source": plan.source,
        "goals": [_goal_out(g) for g in view.goals],
        "activities": [_activity_out(a.activity, a.overdue) for a in view.activities],
        "team": [_member_out(m) for m in view.team],
        "cancelled_goals": [_goal_out(g) for g in view.cancelled_goal_views],
        "cancelled_activities": [_activity_out(a, False) for a in view.cancelled_activities],
    }


@endpoint(
    "GET",
    "/patients/{patient_id}/care-plans",
    Permission.CAREPLAN_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    response={200: PlanListOut, **ERRORS},
    summary="A patient's care plans",
    tags=TAGS,
)
def list_care_plans(request: HttpRequest, patient_id: PatientId) -> Any:
    """Active plans with each goal's status from the latest observations and each activity's due date
    (a portal user: their own). Audited."""
    found = selectors.patient_plans(actor=actor_of(request), patient_id=patient_id)
    return {"results": [_plan_out(view) for view in found.plans]}


@endpoint(
    "POST",
    "/patients/{patient_id}/care-plans",
    Permission.CAREPLAN_MANAGE,
    response={201: PlanOut, **WRITE_ERRORS},
    summary="Create a care plan from a template",
    tags=TAGS,
)
def create_care_plan(request: HttpRequest, patient_id: PatientId, payload: NewPlanIn) -> Any:
    """One active plan per template and patient (409 `careplan_exists`)."""
    actor = actor_of(request)
    plan = services.create_plan(
        actor=actor, patient_id=patient_id, template_code=payload.template, start_on=payload.start_on
    )
    found = selectors.patient_plans(actor=actor, patient_id=patient_id)
    view = next(v for v in found.plans if v.plan.pk == plan.pk)
    return Status(201, _plan_out(view))


@endpoint(
    "POST",
    "/patients/{patient_id}/ccm-time",
    Permission.CCM_LOG,
    response={201: TimeOut, **WRITE_ERRORS},
    summary="Log CCM minutes",
    tags=TAGS,
)
def log_ccm_time(request: HttpRequest, patient_id: PatientId, payload: TimeIn) -> Any:
    """Clinical-staff minutes for the patient's CCM month; needs documented consent. The month's billing
    practitioner is set by its first entry (409 `ccm_other_billing_practitioner` for another one)."""
    actor = actor_of(request)
    entry = services.log_ccm_time(
        actor=actor,
        patient_id=patient_id,
        performed_on=payload.performed_on,
        minutes=payload.minutes,
        activity=payload.activity,
        billing_practitioner_id=payload.billing_practitioner_id,
    )
    billing = selectors.month_billing(ccm_month_id=entry.ccm_month_id)
    return Status(
        201,
        {
            "id": entry.pk,
            "performed_on": entry.performed_on,
            "minutes": entry.minutes,
            "activity": entry.activity,
            "staff_name": entry.staff_name,
            "month_minutes": billing.minutes,
            "codes": _codes(billing),
        },
    )


@endpoint(
    "GET",
    "/ccm/summary",
    Permission.CCM_REPORT,
    response={200: CcmSummaryOut, **ERRORS},
    summary="CCM month summary",
    tags=TAGS,
)
def ccm_summary(request: HttpRequest, filters: Query[MonthFilter]) -> Any:
    """Every patient with CCM consent: the month's minutes and codes, fewest minutes first. Audited with
    the patient ids."""
    month = dt.datetime.strptime(filters.month, "%Y-%m").date() if filters.month else None  # noqa: DTZ007
    summary = selectors.ccm_summary(actor=actor_of(request), month=month)
    return {
        "month": f"{summary.month:%Y-%m}",
        "days_left": summary.days_left,
        "results": [
            {
                "patient_id": r.patient_id,
                "minutes": r.minutes,
                "codes": _codes(r.billing),
                "minutes_to_99490": r.billing.minutes_to_base,
            }
            for r in summary.rows
        ],
    }


# --- plan edits: goals, activities, the care team ----------------------------------------------------------
# Each calls the careplans service (one CAREPLAN_UPDATE audit row) and answers the item as the plan now shows
# it (read through selectors.get_plan: a CAREPLAN_VIEW row). A closed plan answers 409 `careplan_closed`, a
# cancelled goal or activity 409 `careplan_item_cancelled`; another organization's 404.


class GoalIn(InputSchema):
    description: str = Field(min_length=1, max_length=300)
    code: str = Field(max_length=10, description="LOINC code of a measure the chart records")
    comparator: str = Field(max_length=2, description="lt, le, gt or ge")
    target: Decimal
    stale_after_days: int = Field(default=180, ge=1, le=3650)
    due_on: dt.date | None = None


class GoalChangeIn(InputSchema):
    """Only the fields sent change (`due_on: null` removes the due date)."""

    description: str | None = Field(default=None, min_length=1, max_length=300)
    comparator: str | None = Field(default=None, max_length=2, description="lt, le, gt or ge")
    target: Decimal | None = None
    stale_after_days: int | None = Field(default=None, ge=1, le=3650)
    due_on: dt.date | None = None


class CancelIn(InputSchema):
    reason: str = Field(min_length=1, max_length=300)


class ActivityIn(InputSchema):
    kind: str = Field(max_length=20, description="lab, outreach_call, education or visit")
    description: str = Field(min_length=1, max_length=300)
    every_months: int | None = Field(default=None, ge=1, le=60, description="Empty: once")
    due_on: dt.date


class DoneIn(InputSchema):
    done_on: dt.date | None = Field(default=None, description="Default: today")


class TeamMemberIn(InputSchema):
    role: str = Field(max_length=30)
    user_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="A staff member")
    practitioner_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Or a practitioner")


class TeamOut(Schema):
    results: list[TeamMemberOut]


def _shown_goal(request: HttpRequest, plan_id: int, goal_id: int) -> dict[str, Any]:
    _, view = selectors.get_plan(actor=actor_of(request), plan_id=plan_id)
    return _goal_out(next(g for g in (*view.goals, *view.cancelled_goal_views) if g.goal.pk == goal_id))


def _shown_activity(request: HttpRequest, plan_id: int, activity_id: int) -> dict[str, Any]:
    _, view = selectors.get_plan(actor=actor_of(request), plan_id=plan_id)
    current = {a.activity.pk: (a.activity, a.overdue) for a in view.activities}
    current.update({a.pk: (a, False) for a in view.cancelled_activities})
    return _activity_out(*current[activity_id])


@endpoint(
    "POST",
    "/care-plans/{plan_id}/goals",
    Permission.CAREPLAN_MANAGE,
    response={201: GoalOut, **WRITE_ERRORS},
    summary="Add a goal to a care plan",
    tags=TAGS,
)
def add_goal(request: HttpRequest, plan_id: PlanId, payload: GoalIn) -> Any:
    """A target on a measure the chart records (its unit is the measure's), optionally due by a date."""
    goal = services.add_goal(actor=actor_of(request), plan_id=plan_id, **payload.model_dump())
    return Status(201, _shown_goal(request, goal.plan_id, goal.pk))


@endpoint(
    "PATCH",
    "/care-plans/goals/{goal_id}",
    Permission.CAREPLAN_MANAGE,
    response={200: GoalOut, **WRITE_ERRORS},
    summary="Change a goal (target, due date, wording)",
    tags=TAGS,
)
def update_goal(request: HttpRequest, goal_id: GoalId, payload: GoalChangeIn) -> Any:
    """Only the fields sent change; `due_on: null` removes the due date."""
    actor = actor_of(request)
    goal = selectors.goal_for_edit(actor=actor, goal_id=goal_id)
    sent = payload.model_dump(exclude_unset=True)
    goal = services.update_goal(
        actor=actor,
        goal_id=goal.pk,
        description=sent.get("description") or goal.description,
        comparator=sent.get("comparator") or goal.comparator,
        target=sent["target"] if sent.get("target") is not None else goal.target,
        stale_after_days=sent.get("stale_after_days") or goal.stale_after_days,
        due_on=sent.get("due_on", goal.due_on),
    )
    return _shown_goal(request, goal.plan_id, goal.pk)


@endpoint(
    "POST",
    "/care-plans/goals/{goal_id}/cancel",
    Permission.CAREPLAN_MANAGE,
    response={200: GoalOut, **WRITE_ERRORS},
    summary="Cancel a goal",
    tags=TAGS,
)
def cancel_goal(request: HttpRequest, goal_id: GoalId, payload: CancelIn) -> Any:
    """The goal is kept, with when and why, among the plan's `cancelled_goals`."""
    goal = services.cancel_goal(actor=actor_of(request), goal_id=goal_id, reason=payload.reason)
    return _shown_goal(request, goal.plan_id, goal.pk)


@endpoint(
    "POST",
    "/care-plans/{plan_id}/activities",
    Permission.CAREPLAN_MANAGE,
    response={201: ActivityOut, **WRITE_ERRORS},
    summary="Add an activity to a care plan",
    tags=TAGS,
)
def add_activity(request: HttpRequest, plan_id: PlanId, payload: ActivityIn) -> Any:
    """Once or every so many months, first due on `due_on`."""
    activity = services.add_activity(actor=actor_of(request), plan_id=plan_id, **payload.model_dump())
    return Status(201, _shown_activity(request, activity.plan_id, activity.pk))


@endpoint(
    "POST",
    "/care-plans/activities/{activity_id}/complete",
    Permission.CAREPLAN_MANAGE,
    response={200: ActivityOut, **WRITE_ERRORS},
    summary="Record an activity as done",
    tags=TAGS,
)
def complete_activity(request: HttpRequest, activity_id: ActivityId, payload: DoneIn) -> Any:
    """A recurring activity is due again `every_months` later; a one-off is due no more."""
    activity = services.complete_activity(
        actor=actor_of(request), activity_id=activity_id, done_on=payload.done_on
    )
    return _shown_activity(request, activity.plan_id, activity.pk)


@endpoint(
    "POST",
    "/care-plans/activities/{activity_id}/cancel",
    Permission.CAREPLAN_MANAGE,
    response={200: ActivityOut, **WRITE_ERRORS},
    summary="Cancel an activity",
    tags=TAGS,
)
def cancel_activity(request: HttpRequest, activity_id: ActivityId, payload: CancelIn) -> Any:
    """It is due no more (its open overdue task is cancelled) and kept among `cancelled_activities`."""
    activity = services.cancel_activity(
        actor=actor_of(request), activity_id=activity_id, reason=payload.reason
    )
    return _shown_activity(request, activity.plan_id, activity.pk)


@endpoint(
    "POST",
    "/care-plans/{plan_id}/care-team",
    Permission.CAREPLAN_MANAGE,
    response={201: TeamMemberOut, **WRITE_ERRORS},
    summary="Put someone on a care plan's team",
    tags=TAGS,
)
def add_team_member(request: HttpRequest, plan_id: PlanId, payload: TeamMemberIn) -> Any:
    """A staff member or a practitioner of the organization in a role (filling the role's first unnamed
    place), or the role alone."""
    actor = actor_of(request)
    member = services.add_team_member(actor=actor, plan_id=plan_id, **payload.model_dump())
    _, view = selectors.get_plan(actor=actor, plan_id=member.plan_id)
    return Status(201, _member_out(next(m for m in view.team if m.member.pk == member.pk)))


@endpoint(
    "DELETE",
    "/care-plans/care-team/{team_member_id}",
    Permission.CAREPLAN_MANAGE,
    response={200: TeamOut, **WRITE_ERRORS},
    summary="Take someone off a care plan's team",
    tags=TAGS,
)
def remove_team_member(request: HttpRequest, team_member_id: TeamMemberId) -> Any:
    """Answers the plan's care team as it is now."""
    actor = actor_of(request)
    member = services.remove_team_member(actor=actor, member_id=team_member_id)
    _, view = selectors.get_plan(actor=actor, plan_id=member.plan_id)
    return {"results": [_member_out(m) for m in view.team]}

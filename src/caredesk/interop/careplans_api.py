"""Care plans and CCM in the JSON API (/api/v1/...): a patient's plans with goal status and activities,
a plan from a template, CCM time, and the CCM month summary.

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

from .api import ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

PatientId = PathEx[int, P(ge=1, le=MAX_ID, description="The patient's id")]
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


class ActivityOut(Schema):
    id: int
    kind: str
    description: str
    every_months: int | None
    due_on: dt.date | None
    last_done_on: dt.date | None
    overdue: bool


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
        "goals": [
            {
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
            }
            for g in view.goals
        ],
        "activities": [
            {
                "id": a.activity.pk,
                "kind": a.activity.kind,
                "description": a.activity.description,
                "every_months": a.activity.every_months,
                "due_on": a.activity.due_on,
                "last_done_on": a.activity.last_done_on,
                "overdue": a.overdue,
            }
            for a in view.activities
        ],
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

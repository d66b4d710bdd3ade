"""Care plans -> FHIR R4 CarePlan (validated with fhir.resources.R4B), with their goals as contained Goal
resources, and the read and search-by-patient handlers (registered in fhir/urls.py, listed in the
CapabilityStatement by fhir/views.py).

A goal's target is its LOINC-coded measure with a UCUM quantity and comparator ("< 7 %"); its achievement
status comes from the latest observation (achieved, not-achieving, or none when there is no current value).
Each activity is a `detail` with its kind, description and next due date; a one-off that was done is
`completed`; a cancelled one stays listed, `cancelled` with the reason as `statusReason`. A plan with a
care team names it in `careTeam` (`CareTeam/<plan id>`: careteam.py serves one CareTeam per plan, with the
plan's id). A goal's due date is its target's `dueDate`.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan

from caredesk.accounts.permissions import Permission
from caredesk.careplans import selectors
from caredesk.careplans.choices import GoalStatus, ItemStatus
from caredesk.core.context import Actor
from caredesk.patients.errors import PatientNotFound

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
CATEGORY_SYSTEM = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
TEMPLATE_SYSTEM = "urn:caredesk:careplan-template"
MAX_ID = 2**63 - 1
COMPARATORS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
ACHIEVEMENT: dict[str, str] = {GoalStatus.MET: "achieved", GoalStatus.NOT_MET: "not-achieving"}
STATUS = {"active": "active", "completed": "completed", "cancelled": "revoked"}
ACTIVITY_KIND = {
    "lab": "ServiceRequest",
    "visit": "Appointment",
    "outreach_call": "Task",
    "education": "Task",
}
SUPPORT = ResourceSupport(
    "CarePlan",
    ("read", "search-type"),
    (SearchParam("patient", "reference", "Required: the patient's active care plans"),),
)


def _goal(view: selectors.GoalView, patient_id: int) -> dict[str, Any]:
    goal = view.goal
    achievement = ACHIEVEMENT.get(view.status)
    return {
        "resourceType": "Goal",
        "id": f"goal-{goal.pk}",
        "lifecycleStatus": "active",
        "achievementStatus": {"coding": [{"system": ACHIEVEMENT_SYSTEM, "code": achievement}]}
        if achievement
        else None,
        "description": {"text": goal.description},
        "subject": {"reference": f"Patient/{patient_id}"},
        "target": [
            {
                "measure": {"coding": [{"system": LOINC, "code": goal.code, "display": view.measure}]},
                "detailQuantity": {
                    "value": goal.target,
                    "comparator": COMPARATORS[goal.comparator],
                    "unit": goal.unit,
                    "system": UCUM,
                    "code": goal.unit,
                },
                "dueDate": goal.due_on.isoformat() if goal.due_on else None,
            }
        ],
    }


def careplan_to_fhir(view: selectors.PlanView) -> FhirCarePlan:
    plan = view.plan
    goals = [_goal(g, plan.patient_id) for g in view.goals]
    activities = []
    every = [item.activity for item in view.activities] + list(view.cancelled_activities)
    for activity in sorted(every, key=lambda a: (a.position, a.pk)):
        cancelled = activity.status == ItemStatus.CANCELLED
        schedule = f"every {activity.every_months} month(s)" if activity.every_months else "once"
        if activity.due_on and not cancelled:
            schedule += f"; next due {activity.due_on.isoformat()}"
        when = f" on {activity.cancelled_on.isoformat()}" if activity.cancelled_on else ""
        activities.append(
            {
                "detail": {
                    "kind": ACTIVITY_KIND.get(activity.kind),
                    "code": {"text": activity.get_kind_display()},
                    "status": "cancelled" if cancelled else "scheduled" if activity.due_on else "completed",
                    "statusReason": {"text": f"Cancelled{when}: {activity.cancel_reason}"}
                    if cancelled
                    else None,
                    "description": activity.description,
                    "scheduledString": schedule,
                }
            }
        )
    data: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(plan.pk),
        "meta": {"lastUpdated": instant(plan.updated_at), "versionId": str(plan.version)},
        "status": STATUS.get(plan.status, "unknown"),
        "intent": "plan",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "assess-plan"}]}],
        "title": plan.title,
        "description": f"{plan.condition}. Targets: {plan.source}.",
        "subject": {"reference": f"Patient/{plan.patient_id}"},
        "created": instant(plan.created_at),
        "careTeam": [{"reference": f"CareTeam/{plan.pk}"}] if plan.care_team else [],
        "instantiatesUri": [f"{TEMPLATE_SYSTEM}:{plan.template_code}"],
        "contained": goals,
        "goal": [{"reference": f"#{g['id']}"} for g in goals],
        "activity": activities,
    }
    return FhirCarePlan.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


@operation(
    "GET",
    "/CarePlan/{entry_id}",
    Permission.CAREPLAN_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Read a CarePlan",
)
def read_careplan(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """(`entry_id`: the URL keyword every FHIR read of a chart-like resource uses.)"""
    if not (entry_id.isascii() and entry_id.isdigit() and 0 < int(entry_id) <= MAX_ID):
        raise FhirError.single(404, "not-found", f"No CarePlan with id {entry_id!r}.")
    _, view = selectors.get_plan(actor=_actor(actor), plan_id=int(entry_id))
    return fhir_response(careplan_to_fhir(view))


@operation(
    "GET",
    "/CarePlan",
    Permission.CAREPLAN_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Search CarePlan by patient",
)
def search_careplans(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), params.CLINICAL_PARAMS, strict=prefers_strict(request))
    _, reference = params.patient_reference(search)
    views: list[selectors.PlanView] = []
    if reference.isascii() and reference.isdigit() and 0 < int(reference) <= MAX_ID:
        # Another organization's patient, or none: an empty result, as for any search.
        with suppress(PatientNotFound):
            views = selectors.patient_plans(actor=actor, patient_id=int(reference)).plans
    start = (search.page - 1) * search.count
    shown = views[start : start + search.count]
    has_next = len(views) > start + search.count
    base = base_url(request)
    links = PageLinks(f"{base}/CarePlan", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(shown), has_next)
    return fhir_response(
        searchset([careplan_to_fhir(v) for v in shown], resource_url=base, links=links, total=total)
    )

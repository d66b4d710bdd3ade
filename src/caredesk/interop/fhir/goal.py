"""Care-plan goals -> FHIR R4 Goal (validated with fhir.resources.R4B), with the read and search handlers
(registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

A goal's target is its LOINC-coded measure with a UCUM quantity and comparator ("< 7 %"), the same as the
contained goals of a CarePlan. Its achievement status is computed from the patient's latest observation of
that measure (careplans.rules.goal_status): met -> `achieved`, not met -> `not-achieving`; with no value,
or one older than the goal's freshness window, there is no achievement status and `statusReason` says why.
`statusDate` is the day of the observation the status was computed from. The lifecycle follows the plan:
active, completed or cancelled; a goal cancelled on its own is `cancelled` (no achievement status), with
the day as `statusDate` and the reason as `statusReason` and a note. A goal's due date is `target.dueDate`.

Staff with the care-plan permission and a portal user (their own goals) may read them; reads go through
careplans.selectors.get_plan, which writes the CAREPLAN_VIEW audit rows. Create (CAREPLAN_MANAGE) adds a goal
to an existing active plan named by the extension `urn:caredesk:fhir:StructureDefinition/goal-careplan`
(valueReference `CarePlan/[id]`), through careplans.services.add_goal (audited CAREPLAN_UPDATE).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.goal import Goal as FhirGoal

from caredesk.accounts.permissions import Permission
from caredesk.careplans import selectors, services
from caredesk.careplans.choices import GoalStatus, ItemStatus
from caredesk.careplans.errors import GoalNotFound, PlanNotFound
from caredesk.careplans.models import CarePlan
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, Forbidden
from caredesk.patients.errors import PatientNotFound

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .careplan import ACHIEVEMENT, ACHIEVEMENT_SYSTEM, COMPARATORS, LOINC, UCUM
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, read_json_body, search_pairs, validate
from .outcomes import FhirError

MAX_ID = 2**63 - 1
CAREPLAN_EXTENSION = "urn:caredesk:fhir:StructureDefinition/goal-careplan"
LIFECYCLE = {"active": "active", "completed": "completed", "cancelled": "cancelled"}
STATUS_REASON = {GoalStatus.NO_DATA: "No current value", GoalStatus.STALE: "The latest value is out of date"}
SEARCH_PARAMS = ("patient", "subject", "lifecycle-status", "achievement-status", "_id")
SUPPORT = ResourceSupport(
    "Goal",
    ("read", "search-type", "create"),
    (
        SearchParam("patient", "reference", "Required: the goals of the patient's active care plans"),
        SearchParam(
            "lifecycle-status",
            "token",
            "active (the default), or cancelled (cancelled goals); goals of active plans are searched",
        ),
        SearchParam(
            "achievement-status",
            "token",
            "achieved or not-achieving, from the latest observation of the goal's measure",
        ),
        SearchParam("_id", "token", "One goal id"),
    ),
    "The achievement status is computed from the patient's latest observation of the target's measure. "
    f"Create adds a goal to an active care plan, named by the extension {CAREPLAN_EXTENSION} "
    "(valueReference CarePlan/[id]); one target: a LOINC measure the chart records, a comparator, a value.",
)


def goal_to_fhir(view: selectors.GoalView, plan: CarePlan) -> FhirGoal:
    goal = view.goal
    cancelled = goal.status == ItemStatus.CANCELLED
    achievement = None if cancelled else ACHIEVEMENT.get(view.status)
    reason = STATUS_REASON.get(GoalStatus(view.status)) if view.status in GoalStatus.values else None
    latest = (
        f"Latest {view.measure}: {view.latest_value} {goal.unit} on {view.latest_on.isoformat()}"
        if view.latest_value is not None and view.latest_on is not None
        else ""
    )
    notes = [{"text": latest}] if latest else []
    if cancelled:
        when = f" on {goal.cancelled_on.isoformat()}" if goal.cancelled_on else ""
        reason = f"Cancelled: {goal.cancel_reason}"
        notes.append({"text": f"Cancelled{when}: {goal.cancel_reason}"})
    data: dict[str, Any] = {
        "resourceType": "Goal",
        "id": str(goal.pk),
        "meta": {"lastUpdated": instant(goal.updated_at)},
        "extension": [{"url": CAREPLAN_EXTENSION, "valueReference": {"reference": f"CarePlan/{plan.pk}"}}],
        "lifecycleStatus": "cancelled" if cancelled else LIFECYCLE.get(plan.status, "active"),
        "achievementStatus": {
            "coding": [{"system": ACHIEVEMENT_SYSTEM, "code": achievement}],
            "text": GoalStatus(view.status).label,
        }
        if achievement
        else None,
        "category": [{"text": plan.condition}],
        "description": {"text": goal.description},
        "subject": {"reference": f"Patient/{plan.patient_id}"},
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
        "statusDate": goal.cancelled_on.isoformat()
        if cancelled and goal.cancelled_on
        else view.latest_on.isoformat()
        if view.latest_on
        else None,
        "statusReason": reason,
        "note": notes,
        "addresses": [{"display": plan.condition}],
    }
    return FhirGoal.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


@operation(
    "GET",
    "/Goal/{entry_id}",
    Permission.CAREPLAN_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Read a Goal",
)
def read_goal(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """One goal of a care plan, with its status computed now."""
    actor = _actor(actor)
    pk = _number(entry_id)
    try:
        if pk is None:
            raise GoalNotFound(f"No goal with id {entry_id}.")
        plan_id = selectors.plan_of_goal(actor=actor, goal_id=pk)
        _, view = selectors.get_plan(actor=actor, plan_id=plan_id)
    except (GoalNotFound, PlanNotFound, PatientNotFound) as exc:
        raise FhirError.single(404, "not-found", f"No Goal with id {entry_id!r}.") from exc
    found = next((g for g in (*view.goals, *view.cancelled_goal_views) if g.goal.pk == pk), None)
    if found is None:
        raise FhirError.single(404, "not-found", f"No Goal with id {entry_id!r}.")
    return fhir_response(goal_to_fhir(found, view.plan))


@operation(
    "GET",
    "/Goal",
    Permission.CAREPLAN_VIEW,
    also=(Permission.PORTAL_OWN_RECORD,),
    summary="Search Goal by patient, lifecycle-status, achievement-status",
)
def search_goals(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    """The goals of the patient's active plans, in plan and goal order."""
    actor = _actor(actor)
    search = params.parse(search_pairs(request), SEARCH_PARAMS, strict=prefers_strict(request))
    _, reference = params.patient_reference(search)
    lifecycle = search.values.get("lifecycle-status")
    if lifecycle is not None and lifecycle not in ("proposed", "planned", "accepted", *LIFECYCLE.values()):
        raise params.invalid(
            f"lifecycle-status {lifecycle!r} is not a Goal lifecycle status.", "lifecycle-status"
        )
    achievement = search.values.get("achievement-status")
    if achievement is not None:
        achievement = achievement.rpartition("|")[2]
        if achievement not in set(ACHIEVEMENT.values()):
            known = ", ".join(sorted(set(ACHIEVEMENT.values())))
            raise params.invalid(f"achievement-status must be one of {known}.", "achievement-status")
    wanted_id = search.values.get("_id")
    rows: list[tuple[selectors.GoalView, CarePlan]] = []
    patient_id = _number(reference)
    if patient_id is not None and lifecycle in (None, "active", "cancelled"):
        with suppress(PatientNotFound):  # another organization's patient, or none: an empty result
            plans = selectors.patient_plans(actor=actor, patient_id=patient_id).plans
            rows = [
                (g, p.plan)
                for p in plans
                for g in (p.cancelled_goal_views if lifecycle == "cancelled" else p.goals)
            ]
    if achievement is not None:
        rows = [(g, p) for g, p in rows if ACHIEVEMENT.get(g.status) == achievement]
    if wanted_id is not None:
        rows = [(g, p) for g, p in rows if str(g.goal.pk) == wanted_id]
    start = (search.page - 1) * search.count
    shown = rows[start : start + search.count]
    has_next = len(rows) > start + search.count
    base = base_url(request)
    links = PageLinks(f"{base}/Goal", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(shown), has_next)
    return fhir_response(
        searchset([goal_to_fhir(g, p) for g, p in shown], resource_url=base, links=links, total=total)
    )


# --- create: a goal onto an existing care plan -------------------------------------------------------------

REVERSE_COMPARATORS = {symbol: ours for ours, symbol in COMPARATORS.items()}


def _unprocessable(message: str, path: str) -> FhirError:
    return FhirError.single(422, "business-rule", message, expression=(path,))


def _plan_id(resource: FhirGoal) -> int:
    for extension in resource.extension or []:
        if extension.url == CAREPLAN_EXTENSION:
            reference = extension.valueReference.reference if extension.valueReference else None
            kind, _, value = str(reference or "").rpartition("/")
            pk = _number(value)
            if kind.rsplit("/", 1)[-1] != "CarePlan" or pk is None:
                raise FhirError.single(
                    400,
                    "value",
                    "The care-plan extension must refer to CarePlan/[id].",
                    expression=("Goal.extension",),
                )
            return pk
    raise FhirError.single(
        400,
        "required",
        f"Name the care plan the goal belongs to: an extension {CAREPLAN_EXTENSION} with valueReference "
        "CarePlan/[id].",
        expression=("Goal.extension",),
    )


def _target(resource: FhirGoal) -> tuple[str, str, Any]:
    """(LOINC code, our comparator, value) of the one target."""
    targets = resource.target or []
    if len(targets) != 1:
        raise _unprocessable("A goal has exactly one target (a measure and a quantity).", "Goal.target")
    target = targets[0]
    codes = [
        c.code
        for c in (target.measure.coding if target.measure else None) or []
        if c.system == LOINC and c.code
    ]
    if not codes:
        raise _unprocessable("target.measure needs a LOINC coding (http://loinc.org).", "Goal.target.measure")
    quantity = target.detailQuantity
    if quantity is None or quantity.value is None:
        raise _unprocessable("target.detailQuantity needs a value.", "Goal.target.detailQuantity")
    comparator = REVERSE_COMPARATORS.get(str(quantity.comparator or ""))
    if comparator is None:
        raise _unprocessable(
            "target.detailQuantity.comparator must be <, <=, > or >=.",
            "Goal.target.detailQuantity.comparator",
        )
    return str(codes[0]), comparator, quantity.value


@operation("POST", "/Goal", Permission.CAREPLAN_MANAGE, summary="Add a Goal to an existing CarePlan")
def create_goal(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    """The goal goes onto the care plan named by the extension (an active plan of the goal's subject); its
    target is a LOINC measure the chart records, with a comparator and a value (the unit is the measure's)."""
    actor = _actor(actor)
    data = read_json_body(request, "Goal")
    resource = validate(FhirGoal, data)
    plan_id = _plan_id(resource)
    code, comparator, value = _target(resource)
    subject = str(resource.subject.reference or "") if resource.subject else ""
    try:
        _, plan_view = selectors.get_plan(actor=actor, plan_id=plan_id)
    except (PlanNotFound, PatientNotFound) as exc:
        raise _unprocessable(f"No CarePlan with id {plan_id}.", "Goal.extension") from exc
    kind, _, subject_id = subject.rpartition("/")
    if kind.rsplit("/", 1)[-1] != "Patient" or subject_id != str(plan_view.plan.patient_id):
        raise _unprocessable("The goal's subject must be the care plan's patient.", "Goal.subject")
    try:
        goal = services.add_goal(
            actor=actor,
            plan_id=plan_id,
            description=resource.description.text or "",
            code=code,
            comparator=comparator,
            target=value,
        )
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise
        raise _unprocessable(exc.message, "Goal") from exc
    _, view = selectors.get_plan(actor=actor, plan_id=plan_id)
    found = next(g for g in view.goals if g.goal.pk == goal.pk)
    headers = {"Location": f"{base_url(request)}/Goal/{goal.pk}"}
    return fhir_response(goal_to_fhir(found, view.plan), status=201, headers=headers)

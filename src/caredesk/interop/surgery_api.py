"""Surgery planning in the JSON API (/api/v1/...): a location's requested cases, requesting and
withdrawing a case, planning (the optimizer, with a time limit), reading a plan, moving one of its cases,
and booking the whole plan in one step.

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator. Every handler
calls one function of scheduling.surgery, which checks, audits and refuses; times are ISO 8601 with their
UTC offset, given back in the location's time zone. A move or a booking that breaks a rule answers 409
`surgery_plan_conflict` with every failing case and why under `items`; nothing is changed.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import P, PathEx, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.scheduling import planning, selectors, surgery
from caredesk.scheduling.errors import SurgeryPlanConflict
from caredesk.scheduling.models import MAX_DURATION_MINUTES, SurgeryPlan, SurgeryPlanItem, SurgicalCase

from .api import API_PREFIX, ERRORS, MAX_ID, actor_of, endpoint
from .errors import error_response
from .schemas import ErrorOut, InputSchema

LocationId = PathEx[int, P(ge=1, le=MAX_ID, description="The location's id")]
CaseId = PathEx[int, P(ge=1, le=MAX_ID, description="The surgical case's id")]
PlanId = PathEx[int, P(ge=1, le=MAX_ID, description="The surgery plan's id")]
ItemId = PathEx[int, P(ge=1, le=MAX_ID, description="The plan item's id")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
TAGS = ["surgery planning"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}


# --- bodies --------------------------------------------------------------------------------------------


class CaseOut(Schema):
    id: int
    patient_id: int
    location_id: int
    surgeon_id: int = Field(description="The surgeon's scheduling resource")
    procedure_id: int = Field(description="The procedure's visit type")
    procedure: str = Field(description="The visit type's code")
    procedure_code: str
    procedure_name: str
    duration_minutes: int
    priority: int = Field(description="1 urgent, 2 soon, 3 routine, 4 elective")
    earliest_date: dt.date
    latest_date: dt.date
    status: str
    equipment_ids: list[int]
    appointment_id: int | None
    notes: str

    @staticmethod
    def resolve_procedure(obj: SurgicalCase) -> str:
        return obj.procedure.code

    @staticmethod
    def resolve_equipment_ids(obj: SurgicalCase) -> list[int]:
        return sorted(e.pk for e in obj.equipment.all())


class CaseListOut(Schema):
    results: list[CaseOut]


class CaseIn(InputSchema):
    patient_id: int = Field(ge=1, le=MAX_ID)
    location_id: int = Field(ge=1, le=MAX_ID)
    surgeon_id: int = Field(ge=1, le=MAX_ID, description="A practitioner's scheduling resource")
    procedure_id: int = Field(ge=1, le=MAX_ID, description="The procedure's visit type")
    duration_minutes: int = Field(ge=5, le=MAX_DURATION_MINUTES, description="Estimated")
    earliest_date: dt.date
    latest_date: dt.date
    priority: int = Field(3, ge=1, le=4, description="1 urgent, 2 soon, 3 routine, 4 elective")
    equipment_ids: list[BodyId] = Field(default_factory=list, max_length=20)
    procedure_code: str = Field("", max_length=20, description="CPT or local code")
    procedure_name: str = Field("", max_length=200)
    notes: str = Field("", max_length=500)

    def to_input(self) -> surgery.CaseInput:
        return surgery.CaseInput(**self.model_dump())


class PlanIn(InputSchema):
    location_id: int = Field(ge=1, le=MAX_ID)
    date_from: dt.date
    date_to: dt.date
    case_ids: list[BodyId] | None = Field(
        None, max_length=500, description="Omit to plan every open case whose window meets the dates"
    )
    turnover: int = Field(planning.DEFAULT_TURNOVER, ge=0, le=surgery.MAX_TURNOVER, description="Minutes")
    overtime_cap: int = Field(planning.DEFAULT_OVERTIME_CAP, ge=0, le=surgery.MAX_OVERTIME_CAP)
    time_limit: float = Field(
        planning.DEFAULT_TIME_LIMIT, ge=0.5, le=60, description="The optimizer's limit, in seconds"
    )


class MoveIn(InputSchema):
    room_id: int = Field(ge=1, le=MAX_ID, description="One of the location's operating rooms")
    start: dt.datetime = Field(description="With its UTC offset, e.g. 2027-03-02T09:00:00-05:00")


class PlanItemOut(Schema):
    id: int
    case_id: int
    patient_id: int
    surgeon_id: int
    procedure: str
    priority: int
    room_id: int
    room: str
    anesthetist_id: int | None = Field(description="The anesthesia provider's scheduling resource")
    start: dt.datetime = Field(description="In the location's time zone")
    end: dt.datetime
    appointment_id: int | None


class UnplacedOut(Schema):
    case_id: int
    code: str
    reason: str


class PlanOut(Schema):
    id: int
    location_id: int
    date_from: dt.date
    date_to: dt.date
    status: str
    method: str = Field(description="cp-sat or first-fit: which plan was kept")
    solver_status: str
    objective: int = Field(description="The kept plan's cost (lower is better)")
    baseline_objective: int = Field(description="The first-fit plan's cost")
    solve_ms: int
    turnover_minutes: int
    overtime_cap_minutes: int
    items: list[PlanItemOut]
    unplaced: list[UnplacedOut]


def _item(item: SurgeryPlanItem, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": item.pk,
        "case_id": item.case_id,
        "patient_id": item.case.patient_id,
        "surgeon_id": item.case.surgeon_id,
        "procedure": item.case.procedure.code,
        "priority": item.case.priority,
        "room_id": item.room_id,
        "room": item.room.name,
        "anesthetist_id": item.anesthetist_id,
        "start": item.starts_at.astimezone(zone),
        "end": item.ends_at.astimezone(zone),
        "appointment_id": item.appointment_id,
    }


def _plan(plan: SurgeryPlan, items: list[SurgeryPlanItem] | None = None) -> dict[str, Any]:
    zone = selectors.zone_of(plan.location)
    if items is None:
        items = list(
            plan.items.select_related("case__procedure", "room").order_by("starts_at", "room__name", "pk")
        )
    return {
        "id": plan.pk,
        "location_id": plan.location_id,
        "date_from": plan.date_from,
        "date_to": plan.date_to,
        "status": plan.status,
        "method": plan.method,
        "solver_status": plan.solver_status,
        "objective": plan.objective,
        "baseline_objective": plan.baseline_objective,
        "solve_ms": plan.solve_ms,
        "turnover_minutes": plan.turnover_minutes,
        "overtime_cap_minutes": plan.overtime_cap_minutes,
        "items": [_item(i, zone) for i in items],
        "unplaced": [
            {"case_id": int(u["case_id"]), "code": str(u["code"]), "reason": str(u["reason"])}
            for u in plan.unplaced
        ],
    }


def _conflict(exc: SurgeryPlanConflict) -> JsonResponse:
    """409 with every failing case (the API's generic mapping keeps plain detail values only)."""
    return error_response(exc.http_status, exc.code, exc.message, field=exc.field, items=exc.items)


# --- cases -----------------------------------------------------------------------------------------------


@endpoint(
    "GET",
    "/locations/{location_id}/surgical-cases",
    Permission.APPOINTMENT_BOOK,
    response={200: CaseListOut, **ERRORS},
    summary="A location's open surgical cases",
    tags=TAGS,
)
def list_cases(request: HttpRequest, location_id: LocationId) -> Any:
    """Requested and planned cases, most urgent first. Audited."""
    return {"results": surgery.open_cases(actor=actor_of(request), location_id=location_id)}


@endpoint(
    "POST",
    "/surgical-cases",
    Permission.APPOINTMENT_BOOK,
    response={201: CaseOut, **WRITE_ERRORS},
    summary="Request a surgical case",
    tags=TAGS,
)
def request_case(request: HttpRequest, payload: CaseIn, response: HttpResponse) -> Any:
    """Surgeon, procedure, estimated duration, equipment, priority and date window. 400 with the field at
    fault for an unknown patient, surgeon, procedure or equipment, a window reversed or in the past."""
    case = surgery.request_case(actor=actor_of(request), data=payload.to_input())
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/surgical-cases/{case.pk}")
    return Status(201, case)


@endpoint(
    "POST",
    "/surgical-cases/{surgical_case_id}/withdraw",
    Permission.APPOINTMENT_BOOK,
    response={200: CaseOut, **WRITE_ERRORS},
    summary="Withdraw a surgical case",
    tags=TAGS,
)
def withdraw_case(request: HttpRequest, surgical_case_id: CaseId) -> Any:
    """A requested or planned case (a draft plan holding it can no longer be booked until re-planned).
    400 `invalid_surgical_case` for a booked or cancelled one."""
    return surgery.cancel_case(actor=actor_of(request), case_id=surgical_case_id)


# --- plans -----------------------------------------------------------------------------------------------


@endpoint(
    "POST",
    "/surgery-plans",
    Permission.SCHEDULE_MANAGE,
    response={201: PlanOut, **WRITE_ERRORS},
    summary="Plan surgical cases",
    tags=TAGS,
)
def create_plan(request: HttpRequest, payload: PlanIn, response: HttpResponse) -> Any:
    """Assign a room and start to the location's open cases (or `case_ids`) over `date_from`..`date_to`
    (at most 14 days) with the optimizer, within `time_limit` seconds, and store the draft (earlier drafts
    holding these cases are superseded). Cases that cannot be placed are listed under `unplaced`."""
    plan = surgery.plan_cases(
        actor=actor_of(request),
        location_id=payload.location_id,
        date_from=payload.date_from,
        date_to=payload.date_to,
        case_ids=payload.case_ids,
        turnover=payload.turnover,
        overtime_cap=payload.overtime_cap,
        time_limit=payload.time_limit,
    )
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/surgery-plans/{plan.pk}")
    return Status(201, _plan(plan))


@endpoint(
    "GET",
    "/surgery-plans/{surgery_plan_id}",
    Permission.APPOINTMENT_BOOK,
    response={200: PlanOut, **ERRORS},
    summary="Read a surgery plan",
    tags=TAGS,
)
def read_plan(request: HttpRequest, surgery_plan_id: PlanId) -> Any:
    """The plan's cases by start, and those it could not place with the reason. Audited."""
    detail = surgery.get_plan(actor=actor_of(request), plan_id=surgery_plan_id)
    return _plan(detail.plan, detail.items)


@endpoint(
    "POST",
    "/surgery-plans/{surgery_plan_id}/items/{surgery_item_id}/move",
    Permission.SCHEDULE_MANAGE,
    response={200: PlanItemOut, **WRITE_ERRORS},
    summary="Move a case of a draft plan",
    tags=TAGS,
)
def move_item(request: HttpRequest, surgery_plan_id: PlanId, surgery_item_id: ItemId, payload: MoveIn) -> Any:
    """To another operating room and/or start, checked against the rest of the plan and the existing
    bookings: 409 `surgery_plan_conflict` lists what the move would break, and nothing changes."""
    try:
        item = surgery.adjust_plan_item(
            actor=actor_of(request),
            plan_id=surgery_plan_id,
            item_id=surgery_item_id,
            room_id=payload.room_id,
            start=payload.start,
        )
    except SurgeryPlanConflict as exc:
        return _conflict(exc)
    moved = SurgeryPlanItem.objects.select_related("case__procedure", "room", "plan__location").get(
        pk=item.pk
    )
    return _item(moved, selectors.zone_of(moved.plan.location))


@endpoint(
    "POST",
    "/surgery-plans/{surgery_plan_id}/book",
    Permission.SCHEDULE_MANAGE,
    response={200: PlanOut, **WRITE_ERRORS},
    summary="Book a draft plan",
    tags=TAGS,
)
def book_plan(request: HttpRequest, surgery_plan_id: PlanId) -> Any:
    """Every case becomes an appointment, all or nothing: 409 `surgery_plan_conflict` lists every case
    that cannot be booked (a resource booked meanwhile, a withdrawn case …), and none is."""
    try:
        surgery.book_plan(actor=actor_of(request), plan_id=surgery_plan_id)
    except SurgeryPlanConflict as exc:
        return _conflict(exc)
    return _plan(SurgeryPlan.objects.select_related("location").get(pk=surgery_plan_id))

"""Surgery and procedure planning: requested cases, the optimizer's draft plan, moving an item by hand,
and booking the whole plan in one step.

- `request_case` records a case (patient, surgeon, procedure, duration, equipment, priority, date window).
- `plan_cases` reads the operating rooms' block time (their availability templates at the location, with
  blocks reserved for a procedure or held for a surgeon), the surgeons' hours and everybody's existing
  bookings through the scheduling selectors, asks `planning` (CP-SAT beside a first-fit baseline; the
  better plan is kept) and stores the result as a draft `SurgeryPlan`. The solver runs outside any
  transaction (it may take its whole time limit); the draft is written in one.
- `adjust_plan_item` moves one case (room, start) after checking it against the rest of the plan and the
  existing bookings; `book_plan` books every case of a draft all or nothing, in one transaction, after
  checking everything again under the resources' locks.

Every case needs an anesthesia provider: the planner picks one from the organization's active practitioner
resources of category "anesthesia" who work at the location then (their availability templates there) and
are not on another case or booking at the same time; the plan item records who. Like credential checks,
this starts with the organization's first anesthesia provider: an organization that has none on file yet
plans rooms, surgeons and equipment as before.

A booked case is an appointment of the case's procedure (a visit type) holding the surgeon, the
anesthesia provider and the equipment for the operation, and the room for the operation plus the
turnover (so the database's no-double-booking guard keeps turnover too). The visit type's buffers and
booking rules (notice, horizon, new/established) are for clinic visits and do not apply to planned cases;
the plan's own rules do.

Operating rooms are the location's active rooms of category "operating".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import DatabaseError, transaction
from django.db.models import QuerySet

from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import ValidationFailed
from caredesk.patients import selectors as patient_selectors
from caredesk.patients.choices import PatientStatus
from caredesk.patients.errors import PatientNotFound

from . import clock, planning, rules, selectors
from .choices import (
    AppointmentEventKind,
    AppointmentSource,
    AppointmentStatus,
    CaseStatus,
    Modality,
    ResourceKind,
    SurgeryPlanStatus,
)
from .errors import (
    InvalidSurgicalCase,
    InvalidTime,
    SurgeryPlanConflict,
    SurgeryPlanNotFound,
    SurgicalCaseNotFound,
)
from .models import (
    MAX_DURATION_MINUTES,
    Appointment,
    AppointmentEvent,
    AppointmentResource,
    Resource,
    SurgeryPlan,
    SurgeryPlanItem,
    SurgicalCase,
)
from .services import is_overlap_violation, refresh_busy_days, scheduling_organization_id

OPERATING_CATEGORY = "operating"
ANESTHESIA_CATEGORY = "anesthesia"
MAX_PLAN_DAYS = 14
MAX_TURNOVER = 240
MAX_OVERTIME_CAP = 480
OPEN_STATUSES = (CaseStatus.REQUESTED, CaseStatus.PLANNED)


def _location(actor: Actor, location_id: Any) -> Location:
    try:
        pk = int(location_id)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Choose a location.", field="location_id") from exc
    return selectors.get_location(actor=actor, location_id=pk)


def case_queryset(actor: Actor) -> QuerySet[SurgicalCase]:
    if actor.organization_id is None or not actor.has(Permission.APPOINTMENT_BOOK):
        return SurgicalCase.objects.none()
    return SurgicalCase.objects.filter(organization_id=actor.organization_id)


def plan_queryset(actor: Actor) -> QuerySet[SurgeryPlan]:
    if actor.organization_id is None or not actor.has(Permission.APPOINTMENT_BOOK):
        return SurgeryPlan.objects.none()
    return SurgeryPlan.objects.filter(organization_id=actor.organization_id)


def operating_rooms(organization_id: int, location_id: int) -> list[Resource]:
    return list(
        Resource.objects.filter(
            organization_id=organization_id,
            location_id=location_id,
            kind=ResourceKind.ROOM,
            category=OPERATING_CATEGORY,
            active=True,
        ).order_by("name", "pk")
    )


def anesthesia_providers(organization_id: int) -> list[Resource]:
    """The anesthesia pool: active practitioner resources of category "anesthesia" (where and when they
    work is up to their templates)."""
    return list(
        Resource.objects.filter(
            organization_id=organization_id,
            kind=ResourceKind.PRACTITIONER,
            category=ANESTHESIA_CATEGORY,
            active=True,
        ).order_by("name", "pk")
    )


# --- requesting a case -----------------------------------------------------------------------------------


@dataclass
class CaseInput:
    patient_id: int
    location_id: int
    surgeon_id: int  # a practitioner resource
    procedure_id: int  # a visit type
    duration_minutes: int
    earliest_date: dt.date
    latest_date: dt.date
    priority: int = 3
    equipment_ids: list[int] = field(default_factory=list)
    procedure_code: str = ""
    procedure_name: str = ""
    notes: str = ""


def _bookable_patient(actor: Actor, patient_id: Any) -> int:
    row = (
        patient_selectors.patient_queryset(actor)
        .filter(pk=int(patient_id or 0))
        .values("pk", "status")
        .first()
    )
    if row is None:
        raise PatientNotFound(f"No patient with id {patient_id}.", field="patient_id")
    if row["status"] in (PatientStatus.MERGED, PatientStatus.DECEASED):
        raise InvalidSurgicalCase(
            "This patient record takes no new cases (merged or deceased).", field="patient_id"
        )
    return int(row["pk"])


def request_case(*, actor: Actor, data: CaseInput) -> SurgicalCase:
    """Record a requested case (SURGERY_CASE_CREATE). Clear errors, nothing written, for: an unknown
    patient, location, surgeon, procedure or equipment; a duration outside 5 minutes to 24 hours; a
    window that ends before it starts or lies in the past; a priority outside 1-4."""
    actor.require(Permission.APPOINTMENT_BOOK)
    organization_id = scheduling_organization_id(actor)
    if not 5 <= int(data.duration_minutes or 0) <= MAX_DURATION_MINUTES:
        raise InvalidSurgicalCase(
            f"The estimated duration must be 5 to {MAX_DURATION_MINUTES} minutes.", field="duration_minutes"
        )
    if int(data.priority) not in planning.PRIORITIES:
        raise InvalidSurgicalCase("Priority must be 1 (urgent) to 4 (elective).", field="priority")
    if data.latest_date < data.earliest_date:
        raise InvalidTime("The latest date is before the earliest date.", field="latest_date")
    with transaction.atomic():
        location = _location(actor, data.location_id)
        today = clock.now().astimezone(selectors.zone_of(location)).date()
        if data.latest_date < today:
            raise InvalidTime("The date window is in the past.", field="latest_date")
        patient_id = _bookable_patient(actor, data.patient_id)
        resources = selectors.resource_queryset(actor).filter(active=True)
        surgeon = resources.filter(pk=data.surgeon_id, kind=ResourceKind.PRACTITIONER).first()
        if surgeon is None:
            raise InvalidSurgicalCase(
                "Choose a surgeon (a practitioner who can be scheduled).", field="surgeon_id"
            )
        procedure = selectors.get_visit_type(actor=actor, visit_type_id=int(data.procedure_id))
        equipment_ids = sorted(set(data.equipment_ids))
        equipment = list(
            resources.filter(pk__in=equipment_ids, kind=ResourceKind.EQUIPMENT, location_id=location.pk)
        )
        if len(equipment) != len(equipment_ids):
            raise InvalidSurgicalCase(
                f"Equipment must be equipment at {location.name}.", field="equipment_ids"
            )
        case = SurgicalCase.objects.create(
            organization_id=organization_id,
            patient_id=patient_id,
            location=location,
            surgeon=surgeon,
            procedure=procedure,
            procedure_code=str(data.procedure_code or "").strip()[:20],
            procedure_name=str(data.procedure_name or "").strip()[:200],
            duration_minutes=int(data.duration_minutes),
            priority=int(data.priority),
            earliest_date=data.earliest_date,
            latest_date=data.latest_date,
            requested_by_name=actor.username,
            notes=str(data.notes or "").strip()[:500],
        )
        case.equipment.set(equipment)
        audit.record(
            actor=actor,
            action=AuditAction.SURGERY_CASE_CREATE,
            patient_id=patient_id,
            obj=case,
            detail={
                "procedure": procedure.code,
                "surgeon": surgeon.pk,
                "duration_minutes": case.duration_minutes,
                "priority": case.priority,
                "window": [data.earliest_date.isoformat(), data.latest_date.isoformat()],
                "equipment": equipment_ids,
            },
        )
    return case


def cancel_case(*, actor: Actor, case_id: int) -> SurgicalCase:
    """Withdraw a requested or planned case (SURGERY_CASE_CHANGED); a draft plan holding it can no longer
    be booked until it is re-planned. A booked case is cancelled through its appointment instead."""
    actor.require(Permission.APPOINTMENT_BOOK)
    with transaction.atomic():
        case = case_queryset(actor).select_for_update().filter(pk=case_id).first()
        if case is None:
            raise SurgicalCaseNotFound(f"No case with id {case_id}.")
        if case.status not in OPEN_STATUSES:
            raise InvalidSurgicalCase(
                f"This case is {case.get_status_display().lower()}; only a requested or planned case can be "
                "withdrawn here.",
            )
        before = case.status
        case.status = CaseStatus.CANCELLED
        case.save(update_fields=["status", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.SURGERY_CASE_CHANGED,
            patient_id=case.patient_id,
            obj=case,
            detail={"status": [before, case.status]},
        )
    return case


def open_cases(*, actor: Actor, location_id: int) -> list[SurgicalCase]:
    """The location's requested and planned cases, most urgent first (SURGERY_CASE_SEARCH)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    location = _location(actor, location_id)
    with transaction.atomic():
        cases = list(
            case_queryset(actor)
            .filter(location=location, status__in=OPEN_STATUSES)
            .select_related("patient", "surgeon", "procedure")
            .prefetch_related("equipment")
            .order_by("priority", "earliest_date", "pk")[:500]
        )
        audit.record(
            actor=actor,
            action=AuditAction.SURGERY_CASE_SEARCH,
            detail={
                "location": location.pk,
                "ids": [c.pk for c in cases],
                "result_ids": sorted({c.patient_id for c in cases}),
            },
        )
    return cases


# --- from the database to the optimizer's values ----------------------------------------------------------


@dataclass
class _World:
    """Everything the planner needs about some cases at one location over some days."""

    instance: planning.Instance
    zone: ZoneInfo
    rooms: dict[int, Resource]
    cases: dict[int, SurgicalCase]
    anesthesia: dict[int, Resource]


def _day_span(first_day: dt.date, last_day: dt.date, zone: ZoneInfo) -> tuple[rules.Minute, rules.Minute]:
    return rules.local_day_bounds(first_day, zone)[0], rules.local_day_bounds(last_day, zone)[1]


def _load_world(
    organization_id: int,
    location: Location,
    cases: Sequence[SurgicalCase],
    first_day: dt.date,
    last_day: dt.date,
    *,
    turnover: int,
    overtime_cap: int,
) -> _World:
    zone = selectors.zone_of(location)
    rooms = operating_rooms(organization_id, location.pk)
    if not rooms:
        raise ValidationFailed(
            f"{location.name} has no operating rooms (rooms of category '{OPERATING_CATEGORY}').",
            field="location_id",
        )
    equipment_of = {c.pk: sorted(e.pk for e in c.equipment.all()) for c in cases}
    surgeon_ids = sorted({c.surgeon_id for c in cases})
    equipment_ids = sorted({e for ids in equipment_of.values() for e in ids})
    providers = anesthesia_providers(organization_id)
    span = _day_span(first_day, last_day, zone)
    schedule = selectors.load_schedule(
        organization_id=organization_id,
        location=location,
        resource_ids=[r.pk for r in rooms] + surgeon_ids + equipment_ids + [a.pk for a in providers],
        start=rules.from_minute(span[0]),
        end=rules.from_minute(span[1] + overtime_cap + turnover),
    )
    procedures = sorted({c.procedure_id for c in cases})
    planning_rooms = []
    for room in rooms:
        general = schedule.available(room.pk, first_day, last_day, None)
        blocks = [planning.Block(a, b) for a, b in general]
        reserved: dict[int, list[rules.Interval]] = {}
        for procedure_id in procedures:
            reserved[procedure_id] = rules.subtract(
                schedule.available(room.pk, first_day, last_day, procedure_id), general
            )
            blocks += [planning.Block(a, b, frozenset({procedure_id})) for a, b in reserved[procedure_id]]
        for surgeon_id in sorted(schedule.holders(room.pk).intersection(surgeon_ids)):
            held = {surgeon_id}
            anyones = rules.subtract(
                schedule.available(room.pk, first_day, last_day, None, with_resources=held), general
            )
            blocks += [planning.Block(a, b, None, frozenset(held)) for a, b in anyones]
            for procedure_id in procedures:
                theirs = schedule.available(room.pk, first_day, last_day, procedure_id, with_resources=held)
                theirs = rules.subtract(rules.subtract(theirs, general), reserved[procedure_id])
                theirs = rules.subtract(theirs, anyones)
                blocks += [
                    planning.Block(a, b, frozenset({procedure_id}), frozenset(held)) for a, b in theirs
                ]
        blocks.sort(key=lambda b: (b.start, b.end))
        planning_rooms.append(
            planning.Room(room.pk, room.name, tuple(blocks), tuple(schedule.busy_intervals(room.pk)))
        )
    planning_cases = []
    for case in cases:
        opens = max(case.earliest_date, first_day)
        closes = min(case.latest_date, last_day)
        if closes < opens:
            raise InvalidSurgicalCase(
                f"Case {case.pk}'s date window ({case.earliest_date}..{case.latest_date}) is outside the "
                "planning dates.",
                field="case_ids",
            )
        planning_cases.append(
            planning.Case(
                id=case.pk,
                surgeon_id=case.surgeon_id,
                procedure_id=case.procedure_id,
                duration=case.duration_minutes,
                priority=case.priority,
                window=_day_span(opens, closes, zone),
                surgeon_hours=tuple(schedule.available(case.surgeon_id, opens, closes, case.procedure_id)),
                equipment=tuple(equipment_of[case.pk]),
                label=f"Case {case.pk}",
            )
        )
    pool = []
    for provider in providers:
        hours = tuple(schedule.available(provider.pk, first_day, last_day, None))
        if hours:  # works at this location on some of these days
            pool.append(
                planning.Anesthetist(
                    provider.pk, provider.name, hours, tuple(schedule.busy_intervals(provider.pk))
                )
            )
    instance = planning.Instance(
        cases=tuple(planning_cases),
        rooms=tuple(planning_rooms),
        surgeon_busy={i: tuple(schedule.busy_intervals(i)) for i in surgeon_ids},
        equipment_busy={i: tuple(schedule.busy_intervals(i)) for i in equipment_ids},
        turnover=turnover,
        overtime_cap=overtime_cap,
        not_before=rules.to_minute(clock.now()),
        anesthesia=tuple(pool) if providers else None,  # none on file: anesthesia not planned yet
    )
    return _World(
        instance, zone, {r.pk: r for r in rooms}, {c.pk: c for c in cases}, {a.pk: a for a in providers}
    )


def _check_dates(location: Location, date_from: Any, date_to: Any) -> tuple[dt.date, dt.date]:
    if not isinstance(date_from, dt.date) or not isinstance(date_to, dt.date):
        raise InvalidTime("Give the first and last day to plan.", field="date_from")
    if date_to < date_from:
        raise InvalidTime("The last day is before the first day.", field="date_to")
    if (date_to - date_from).days + 1 > MAX_PLAN_DAYS:
        raise ValidationFailed(f"A plan covers at most {MAX_PLAN_DAYS} days.", field="date_to")
    today = clock.now().astimezone(selectors.zone_of(location)).date()
    if date_to < today:
        raise InvalidTime("The planning dates are in the past.", field="date_to")
    return max(date_from, today), date_to


def _check_settings(turnover: Any, overtime_cap: Any, time_limit: Any) -> tuple[int, int, float]:
    try:
        values = int(turnover), int(overtime_cap), float(time_limit)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Turnover, overtime cap and time limit must be numbers.") from exc
    if not 0 <= values[0] <= MAX_TURNOVER:
        raise ValidationFailed(f"Turnover must be 0 to {MAX_TURNOVER} minutes.", field="turnover")
    if not 0 <= values[1] <= MAX_OVERTIME_CAP:
        raise ValidationFailed(
            f"The overtime cap must be 0 to {MAX_OVERTIME_CAP} minutes.", field="overtime_cap"
        )
    if not 0.5 <= values[2] <= 60:
        raise ValidationFailed("The time limit must be 0.5 to 60 seconds.", field="time_limit")
    return values


def _cases_to_plan(
    actor: Actor, location: Location, first_day: dt.date, last_day: dt.date, case_ids: Sequence[Any] | None
) -> list[SurgicalCase]:
    cases = case_queryset(actor).select_related("procedure").prefetch_related("equipment")
    if case_ids is None:
        chosen = list(
            cases.filter(
                location=location,
                status__in=OPEN_STATUSES,
                earliest_date__lte=last_day,
                latest_date__gte=first_day,
            ).order_by("priority", "pk")
        )
        if not chosen:
            raise ValidationFailed(
                f"No requested cases at {location.name} can happen between {first_day} and {last_day}.",
                field="case_ids",
            )
        return chosen
    try:
        wanted = sorted({int(i) for i in case_ids})
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Case ids must be whole numbers.", field="case_ids") from exc
    if not wanted:
        raise ValidationFailed("Choose at least one case.", field="case_ids")
    found = {c.pk: c for c in cases.filter(pk__in=wanted)}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise SurgicalCaseNotFound(f"No case with id {missing[0]}.", field="case_ids")
    for case in found.values():
        if case.location_id != location.pk:
            raise InvalidSurgicalCase(f"Case {case.pk} is not at {location.name}.", field="case_ids")
        if case.status not in OPEN_STATUSES:
            raise InvalidSurgicalCase(
                f"Case {case.pk} is {case.get_status_display().lower()}; only requested or planned cases "
                "can be planned.",
                field="case_ids",
            )
    return [found[i] for i in wanted]


# --- planning --------------------------------------------------------------------------------------------


def plan_cases(
    *,
    actor: Actor,
    location_id: int,
    date_from: dt.date,
    date_to: dt.date,
    case_ids: Sequence[int] | None = None,
    turnover: int = planning.DEFAULT_TURNOVER,
    overtime_cap: int = planning.DEFAULT_OVERTIME_CAP,
    time_limit: float = planning.DEFAULT_TIME_LIMIT,
) -> SurgeryPlan:
    """Plan the location's open cases (or `case_ids`) over `date_from`..`date_to` and store the draft
    (SURGERY_PLAN_CREATE). Earlier drafts holding any of these cases are superseded. Errors (nothing
    written): unknown or closed cases, dates reversed or in the past, no operating rooms."""
    actor.require(Permission.SCHEDULE_MANAGE)
    actor.require(Permission.APPOINTMENT_BOOK)
    organization_id = scheduling_organization_id(actor)
    location = _location(actor, location_id)
    first_day, last_day = _check_dates(location, date_from, date_to)
    turnover, overtime_cap, time_limit = _check_settings(turnover, overtime_cap, time_limit)
    cases = _cases_to_plan(actor, location, first_day, last_day, case_ids)
    world = _load_world(
        organization_id, location, cases, first_day, last_day, turnover=turnover, overtime_cap=overtime_cap
    )
    comparison = planning.plan(world.instance, time_limit=time_limit)  # no transaction held while solving
    chosen = comparison.chosen
    with transaction.atomic():
        ids = [c.pk for c in cases]
        # The cases may have changed while the solver ran: plan only those still open.
        still_open = set(
            SurgicalCase.objects.select_for_update()
            .filter(pk__in=ids, status__in=OPEN_STATUSES)
            .values_list("pk", flat=True)
        )
        older_ids = set(
            SurgeryPlanItem.objects.filter(
                case_id__in=ids, plan__organization_id=organization_id, plan__status=SurgeryPlanStatus.DRAFT
            ).values_list("plan_id", flat=True)
        )
        older = list(SurgeryPlan.objects.select_for_update().filter(pk__in=older_ids).order_by("pk"))
        if older:
            SurgeryPlan.objects.filter(pk__in=[p.pk for p in older]).update(
                status=SurgeryPlanStatus.SUPERSEDED
            )
            SurgicalCase.objects.filter(plan_items__plan__in=older, status=CaseStatus.PLANNED).exclude(
                pk__in=ids
            ).update(status=CaseStatus.REQUESTED)
        plan = SurgeryPlan.objects.create(
            organization_id=organization_id,
            location=location,
            date_from=first_day,
            date_to=last_day,
            method=chosen.method,
            solver_status=comparison.cp_sat.status,
            objective=chosen.score.total,
            baseline_objective=comparison.first_fit.score.total,
            baseline_placed=comparison.first_fit.score.placed,
            solve_ms=round((comparison.first_fit.seconds + comparison.cp_sat.seconds) * 1000),
            turnover_minutes=turnover,
            overtime_cap_minutes=overtime_cap,
            unplaced=[
                {"case_id": u.case_id, "code": u.code, "reason": u.reason}
                for u in chosen.unplaced
                if u.case_id in still_open
            ],
            created_by_name=actor.username,
        )
        items = [
            SurgeryPlanItem(
                plan=plan,
                case_id=p.case_id,
                room_id=p.room_id,
                anesthetist_id=p.anesthetist_id,
                starts_at=rules.from_minute(p.start),
                ends_at=rules.from_minute(p.end),
            )
            for p in chosen.placements
            if p.case_id in still_open
        ]
        SurgeryPlanItem.objects.bulk_create(items)
        placed = [i.case_id for i in items]
        SurgicalCase.objects.filter(pk__in=placed).update(status=CaseStatus.PLANNED)
        SurgicalCase.objects.filter(pk__in=set(ids) - set(placed), status=CaseStatus.PLANNED).update(
            status=CaseStatus.REQUESTED
        )
        audit.record(
            actor=actor,
            action=AuditAction.SURGERY_PLAN_CREATE,
            obj=plan,
            detail={
                "location": location.pk,
                "days": [first_day.isoformat(), last_day.isoformat()],
                "method": chosen.method,
                "objective": chosen.score.total,
                "first_fit_objective": comparison.first_fit.score.total,
                "placed": placed,
                "unplaced": [u["case_id"] for u in plan.unplaced],
                "superseded": [p.pk for p in older],
                "result_ids": sorted({c.patient_id for c in cases}),
            },
        )
    return plan


@dataclass
class PlanDetail:
    plan: SurgeryPlan
    zone: ZoneInfo
    items: list[SurgeryPlanItem]
    unplaced: list[tuple[SurgicalCase | None, str]]
    rooms: list[Resource]
    blocks: dict[int, list[tuple[dt.datetime, dt.datetime]]]  # room id -> block time (local)


def get_plan(*, actor: Actor, plan_id: int) -> PlanDetail:
    """A plan with its items, the cases it could not place and the rooms' block time (SURGERY_PLAN_VIEW)."""
    actor.require(Permission.APPOINTMENT_BOOK)
    plan = plan_queryset(actor).select_related("location").filter(pk=plan_id).first()
    if plan is None:
        raise SurgeryPlanNotFound(f"No surgery plan with id {plan_id}.")
    zone = selectors.zone_of(plan.location)
    with transaction.atomic():
        items = list(
            plan.items.select_related(
                "case__patient", "case__surgeon", "case__procedure", "room", "anesthetist"
            )
            .prefetch_related("case__equipment")
            .order_by("starts_at", "room__name")
        )
        unplaced_ids = [int(u["case_id"]) for u in plan.unplaced]
        unplaced_cases = {
            c.pk: c for c in case_queryset(actor).select_related("patient").filter(pk__in=unplaced_ids)
        }
        patients = {i.case.patient_id for i in items} | {c.patient_id for c in unplaced_cases.values()}
        audit.record(
            actor=actor,
            action=AuditAction.SURGERY_PLAN_VIEW,
            obj=plan,
            detail={"case_ids": [i.case_id for i in items] + unplaced_ids, "result_ids": sorted(patients)},
        )
    rooms = operating_rooms(plan.organization_id, plan.location_id)
    for item in items:  # a room taken out of use since still shows its cases
        if all(r.pk != item.room_id for r in rooms):
            rooms.append(item.room)
    schedule = selectors.load_schedule(
        organization_id=plan.organization_id,
        location=plan.location,
        resource_ids=[r.pk for r in rooms],
        start=rules.from_minute(_day_span(plan.date_from, plan.date_to, zone)[0]),
        end=rules.from_minute(_day_span(plan.date_from, plan.date_to, zone)[1]),
    )
    blocks = {
        r.pk: [
            (rules.from_minute(a).astimezone(zone), rules.from_minute(b).astimezone(zone))
            for a, b in schedule.available(r.pk, plan.date_from, plan.date_to, None, any_use=True)
        ]
        for r in rooms
    }
    unplaced = [(unplaced_cases.get(int(u["case_id"])), str(u["reason"])) for u in plan.unplaced]
    return PlanDetail(plan, zone, items, unplaced, rooms, blocks)


def recent_plans(*, actor: Actor, location_id: int, limit: int = 10) -> list[SurgeryPlan]:
    """The location's latest plans (no patient data: dates, status and figures)."""
    location = _location(actor, location_id)
    return list(plan_queryset(actor).filter(location=location).order_by("-created_at", "-pk")[:limit])


# --- adjusting and booking ---------------------------------------------------------------------------------


def _locked_plan(actor: Actor, plan_id: Any) -> SurgeryPlan:
    try:
        pk = int(plan_id)
    except (TypeError, ValueError) as exc:
        raise SurgeryPlanNotFound(f"No surgery plan with id {plan_id}.") from exc
    plan = plan_queryset(actor).select_for_update().select_related("location").filter(pk=pk).first()
    if plan is None:
        raise SurgeryPlanNotFound(f"No surgery plan with id {plan_id}.")
    if plan.status != SurgeryPlanStatus.DRAFT:
        raise SurgeryPlanConflict(
            f"This plan is {plan.get_status_display().lower()}; only a draft can be changed or booked.",
            items=[],
        )
    return plan


def _plan_world(plan: SurgeryPlan, items: Sequence[SurgeryPlanItem]) -> _World:
    cases = [i.case for i in items]
    return _load_world(
        plan.organization_id,
        plan.location,
        cases,
        plan.date_from,
        plan.date_to,
        turnover=plan.turnover_minutes,
        overtime_cap=plan.overtime_cap_minutes,
    )


def _placement(item: SurgeryPlanItem) -> planning.Placement:
    return planning.Placement(
        item.case_id,
        item.room_id,
        rules.to_minute(item.starts_at),
        rules.to_minute(item.ends_at),
        item.anesthetist_id,
    )


def _problems(world: _World, placements: Sequence[planning.Placement]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for case_id, problem in planning.check(world.instance, placements):
        if problem not in found[case_id]:
            found[case_id].append(problem)
    return found


def _listed(world: _World, problems: dict[int, list[str]]) -> list[dict[str, Any]]:
    return [
        {
            "case_id": case_id,
            "case": world.cases[case_id].title if case_id in world.cases else str(case_id),
            "problems": messages,
        }
        for case_id, messages in sorted(problems.items())
    ]


def adjust_plan_item(
    *, actor: Actor, plan_id: int, item_id: int, room_id: int, start: dt.datetime
) -> SurgeryPlanItem:
    """Move one case of a draft plan to another room and/or start (SURGERY_PLAN_CHANGED). Checked against
    the rest of the plan and the existing bookings with the planner's rules. The case keeps its anesthesia
    provider when they can take it at the new time; otherwise the first provider of the pool who can takes
    over. SurgeryPlanConflict lists what the move would break, and nothing changes."""
    actor.require(Permission.SCHEDULE_MANAGE)
    if not isinstance(start, dt.datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise InvalidTime("Give the new start as a date and time in the location's time zone.", field="start")
    if start.second or start.microsecond:
        raise InvalidTime("Times are whole minutes.", field="start")
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id)
        items = list(
            plan.items.select_for_update()
            .select_related("case__procedure")
            .prefetch_related("case__equipment")
        )
        item = next((i for i in items if i.pk == int(item_id)), None)
        if item is None:
            raise SurgicalCaseNotFound(f"Plan {plan.pk} has no item {item_id}.")
        if int(room_id) not in {r.pk for r in operating_rooms(plan.organization_id, plan.location_id)}:
            raise ValidationFailed(f"Choose one of {plan.location.name}'s operating rooms.", field="room_id")
        world = _plan_world(plan, items)
        moved_start = rules.to_minute(start)
        others = [_placement(i) for i in items if i.pk != item.pk]
        before = _problems(world, others)
        candidates = [item.anesthetist_id] + [
            a.id for a in world.instance.anesthesia or () if a.id != item.anesthetist_id
        ]
        first_new: dict[int, list[str]] | None = None
        for anesthetist_id in candidates:
            moved = planning.Placement(
                item.case_id,
                int(room_id),
                moved_start,
                moved_start + item.case.duration_minutes,
                anesthetist_id,
            )
            after = _problems(world, [*others, moved])
            new = {
                case_id: [p for p in messages if p not in before.get(case_id, [])]
                for case_id, messages in after.items()
            }
            new = {case_id: messages for case_id, messages in new.items() if messages}
            if not new:
                break
            if first_new is None:
                first_new = new
        else:
            problems = first_new or {}
            raise SurgeryPlanConflict(
                "The case cannot go there: " + " ".join(m for ms in problems.values() for m in ms),
                items=_listed(world, problems),
                field="start",
            )
        previous = {
            "room": item.room_id,
            "start": item.starts_at.isoformat(),
            "anesthetist": item.anesthetist_id,
        }
        item.room_id = int(room_id)
        item.anesthetist_id = moved.anesthetist_id
        item.starts_at = rules.from_minute(moved.start)
        item.ends_at = rules.from_minute(moved.end)
        item.save(update_fields=["room", "anesthetist", "starts_at", "ends_at"])
        audit.record(
            actor=actor,
            action=AuditAction.SURGERY_PLAN_CHANGED,
            patient_id=item.case.patient_id,
            obj=plan,
            detail={
                "item": item.pk,
                "case": item.case_id,
                "before": previous,
                "after": {
                    "room": item.room_id,
                    "start": item.starts_at.isoformat(),
                    "anesthetist": item.anesthetist_id,
                },
            },
        )
    return item


def _hold(resource_ids: Sequence[int]) -> None:
    """Lock the resources' rows in id order (the booking services' order), so nobody books them between
    the check and the write (PostgreSQL; SQLite's IMMEDIATE transactions serialize writers already)."""
    list(
        Resource.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(resource_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def book_plan(*, actor: Actor, plan_id: int) -> list[Appointment]:
    """Book every case of a draft plan, all or nothing, in one transaction: each case becomes an
    appointment (APPOINTMENT_CREATE) holding its surgeon, anesthesia provider, equipment and room (the room
    with turnover); the database's no-double-booking guard covers every one of them.
    When any case cannot be booked (a resource booked meanwhile, a case cancelled, time in the past),
    nothing is, and SurgeryPlanConflict lists every failing case and why."""
    actor.require(Permission.SCHEDULE_MANAGE)
    actor.require(Permission.APPOINTMENT_BOOK)
    with transaction.atomic():
        plan = _locked_plan(actor, plan_id)
        items = list(
            plan.items.select_for_update()
            .select_related("case__procedure", "case")
            .prefetch_related("case__equipment")
            .order_by("starts_at", "pk")
        )
        if not items:
            raise SurgeryPlanConflict("This plan has no cases to book.", items=[])
        _hold(
            [i.room_id for i in items]
            + [i.case.surgeon_id for i in items]
            + [i.anesthetist_id for i in items if i.anesthetist_id is not None]
            + [e.pk for i in items for e in i.case.equipment.all()]
        )
        world = _plan_world(plan, items)
        problems = _problems(world, [_placement(i) for i in items])
        for item in items:
            if item.case.status != CaseStatus.PLANNED:
                problems[item.case_id].append(f"The case is {item.case.get_status_display().lower()}.")
        if problems:
            raise SurgeryPlanConflict(
                f"{len(problems)} of {len(items)} cases cannot be booked; nothing was booked.",
                items=_listed(world, dict(problems)),
            )
        now = clock.now()
        appointments: list[Appointment] = []
        rows: list[AppointmentResource] = []
        for item in items:
            case = item.case
            appointment = Appointment.objects.create(
                organization_id=plan.organization_id,
                patient_id=case.patient_id,
                visit_type_id=case.procedure_id,
                location_id=plan.location_id,
                modality=Modality.IN_PERSON,
                starts_at=item.starts_at,
                ends_at=item.ends_at,
                status=AppointmentStatus.BOOKED,
                source=AppointmentSource.DESK,
                booked_by_id=actor.user_id,
                booked_by_name=actor.username,
                notes=f"Surgery plan {plan.pk}: {case.title}",
            )
            appointments.append(appointment)
            turnover_end = item.ends_at + dt.timedelta(minutes=plan.turnover_minutes)
            holds = [(case.surgeon_id, item.ends_at), (item.room_id, turnover_end)]
            if item.anesthetist_id is not None:
                holds.append((item.anesthetist_id, item.ends_at))
            holds += [(e.pk, item.ends_at) for e in case.equipment.all()]
            rows += [
                AppointmentResource(
                    appointment=appointment, resource_id=r, starts_at=item.starts_at, ends_at=end, active=True
                )
                for r, end in holds
            ]
        rows.sort(key=lambda row: (row.resource_id, row.starts_at))
        try:
            with transaction.atomic():
                AppointmentResource.objects.bulk_create(rows)
                # The slot search's busy days of the days these bookings meet, as the booking path does.
                refresh_busy_days((row.resource_id, row.starts_at, row.ends_at) for row in rows)
        except DatabaseError as exc:
            if is_overlap_violation(exc):
                raise SurgeryPlanConflict(
                    "Someone booked one of these rooms, surgeons, anesthesia providers or devices a moment "
                    "ago; nothing was "
                    "booked. Re-plan or adjust and try again.",
                    items=[],
                ) from exc
            raise
        for item, appointment in zip(items, appointments, strict=True):
            detail = {
                "start": item.starts_at.astimezone(world.zone).isoformat(),
                "end": item.ends_at.astimezone(world.zone).isoformat(),
                "location_id": plan.location_id,
                "room": item.room_id,
                "anesthetist": item.anesthetist_id,
                "surgery_plan": plan.pk,
                "case": item.case_id,
            }
            AppointmentEvent.objects.create(
                appointment=appointment,
                occurred_at=now,
                kind=AppointmentEventKind.BOOKED,
                actor_id=actor.user_id,
                actor_name=actor.username,
                to_status=appointment.status,
                detail=detail,
            )
            audit.record(
                actor=actor,
                action=AuditAction.APPOINTMENT_CREATE,
                patient_id=item.case.patient_id,
                obj=appointment,
                detail={**detail, "visit_type": item.case.procedure.code, "status": appointment.status},
            )
            item.appointment = appointment
            SurgicalCase.objects.filter(pk=item.case_id).update(
                status=CaseStatus.BOOKED, appointment=appointment
            )
        SurgeryPlanItem.objects.bulk_update(items, ["appointment"])
        plan.status = SurgeryPlanStatus.BOOKED
        plan.booked_at = now
        plan.save(update_fields=["status", "booked_at", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.SURGERY_PLAN_STATUS_CHANGED,
            obj=plan,
            detail={
                "status": plan.status,
                "appointments": [a.pk for a in appointments],
                "result_ids": sorted({i.case.patient_id for i in items}),
            },
        )
    return appointments

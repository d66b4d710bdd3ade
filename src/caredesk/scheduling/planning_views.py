"""Surgery planning pages: the requested cases of a location (and a form to add one), the "Plan" button
(CP-SAT, with a spinner while it solves), a plan drawn as a grid per day with a row per operating room,
moving a case by hand, and "Book all".

Each view parses with a form, calls one service of `surgery`, and renders. A refusal is shown on the page
with its status (400, 409); a plan outside the actor's organization answers 404.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.htmx import is_htmx
from caredesk.core.web import refusal_status, request_actor
from caredesk.patients import selectors as patient_selectors

from . import clock, selectors, surgery
from .choices import ResourceKind, SurgeryPlanStatus
from .errors import SurgeryPlanConflict
from .models import Resource, SurgeryPlan, SurgeryPlanItem
from .surgery_forms import AdjustForm, CaseForm, PlanForm

SLOT_MINUTES = 15


# --- the grid ----------------------------------------------------------------------------------------------


@dataclass
class Cell:
    kind: str  # case, turnover, block, off
    span: int = 1
    item: SurgeryPlanItem | None = None
    overtime: int = 0  # minutes past the block's end (case cells)


@dataclass
class Row:
    room: Any
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Day:
    day: dt.date
    times: list[dt.datetime]  # the start of every hour column group (labels)
    hour_spans: list[tuple[dt.datetime, int]]
    rows: list[Row]


def _floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=moment.minute - moment.minute % SLOT_MINUTES, second=0, microsecond=0)


def _slots(start: dt.datetime, end: dt.datetime) -> int:
    return max(1, math.ceil((end - start).total_seconds() / 60 / SLOT_MINUTES))


def build_grid(detail: surgery.PlanDetail) -> list[Day]:
    """A day per table: columns are 15-minute slots from the day's first block (or case) to its last,
    rows are operating rooms; a case spans its slots (colspan), turnover follows it."""
    zone, plan = detail.zone, detail.plan
    turnover = dt.timedelta(minutes=plan.turnover_minutes)
    days: list[Day] = []
    day = plan.date_from
    while day <= plan.date_to:
        items = [i for i in detail.items if i.starts_at.astimezone(zone).date() == day]
        blocks = {
            room_id: [(a, b) for a, b in spans if a.date() == day] for room_id, spans in detail.blocks.items()
        }
        edges = [a for spans in blocks.values() for a, _ in spans]
        edges += [i.starts_at.astimezone(zone) for i in items]
        ends = [b for spans in blocks.values() for _, b in spans]
        ends += [i.ends_at.astimezone(zone) + turnover for i in items]
        if edges:
            first, last = _floor(min(edges)), max(ends)
            count = _slots(first, last)
            slots = [first + dt.timedelta(minutes=SLOT_MINUTES * n) for n in range(count)]
            rows = []
            for room in detail.rooms:
                rows.append(_row(room, slots, blocks.get(room.pk, []), items, turnover, zone))
            hour_spans: list[tuple[dt.datetime, int]] = []
            for slot in slots:
                if hour_spans and hour_spans[-1][0].hour == slot.hour:
                    hour_spans[-1] = (hour_spans[-1][0], hour_spans[-1][1] + 1)
                else:
                    hour_spans.append((slot, 1))
            days.append(Day(day, slots, hour_spans, rows))
        day += dt.timedelta(days=1)
    return days


def _row(
    room: Any,
    slots: list[dt.datetime],
    blocks: list[tuple[dt.datetime, dt.datetime]],
    items: list[SurgeryPlanItem],
    turnover: dt.timedelta,
    zone: Any,
) -> Row:
    row = Row(room)
    mine = sorted((i for i in items if i.room_id == room.pk), key=lambda i: i.starts_at)
    index = 0
    while index < len(slots):
        slot = slots[index]
        item = next((i for i in mine if _floor(i.starts_at.astimezone(zone)) == slot), None)
        if item is not None:
            start, end = item.starts_at.astimezone(zone), item.ends_at.astimezone(zone)
            span = min(_slots(slot, end), len(slots) - index)
            block_end = next((b for a, b in blocks if a <= start < b), None)
            over = max(0, int((end - block_end).total_seconds() // 60)) if block_end else 0
            row.cells.append(Cell("case", span, item, over))
            index += span
            following = next(
                (i.starts_at.astimezone(zone) for i in mine if i.starts_at > item.starts_at), None
            )
            limit = min(end + turnover, following) if following else end + turnover
            rest = _slots(slots[index], limit) if index < len(slots) and limit > slots[index] else 0
            rest = min(rest, len(slots) - index)
            if rest:
                row.cells.append(Cell("turnover", rest))
                index += rest
            continue
        inside = any(a <= slot < b for a, b in blocks)
        kind = "block" if inside else "off"
        if row.cells and row.cells[-1].kind == kind:
            row.cells[-1].span += 1
        else:
            row.cells.append(Cell(kind))
        index += 1
    return row


# --- pages -------------------------------------------------------------------------------------------------


def _chosen_location(actor: Actor, value: Any) -> Location | None:
    locations = selectors.location_queryset(actor)
    if value and str(value).isdigit() and len(str(value)) < 19:
        found = locations.filter(pk=int(value)).first()
        if found is not None:
            return found
    with_rooms = locations.filter(
        pk__in=Resource.objects.filter(
            kind=ResourceKind.ROOM, category=surgery.OPERATING_CATEGORY, active=True
        ).values("location_id")
    )  # by default the first location that has operating rooms
    return with_rooms.first() or locations.first()


def _page(
    request: HttpRequest,
    actor: Actor,
    location: Location | None,
    *,
    case_form: CaseForm | None = None,
    plan_form: PlanForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "locations": list(selectors.location_queryset(actor)),
        "location": location,
        "cases": [],
        "plans": [],
        "can_plan": actor.has(Permission.SCHEDULE_MANAGE),
    }
    if location is not None:
        today = clock.now().astimezone(selectors.zone_of(location)).date()
        context["cases"] = surgery.open_cases(actor=actor, location_id=location.pk)
        context["plans"] = surgery.recent_plans(actor=actor, location_id=location.pk)
        context["rooms"] = surgery.operating_rooms(location.organization_id, location.pk)
        context["case_form"] = case_form or CaseForm(
            actor=actor,
            location=location,
            initial={"location": location.pk, "earliest_date": today, "latest_date": today + dt.timedelta(7)},
        )
        monday = today + dt.timedelta(days=7 - today.weekday())
        context["plan_form"] = plan_form or PlanForm(
            actor=actor,
            initial={"location": location.pk, "date_from": monday, "date_to": monday + dt.timedelta(4)},
        )
    return render(request, "scheduling/planning/cases.html", context, status=status)


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["GET", "HEAD"])
def surgery_cases(request: HttpRequest) -> HttpResponse:
    """The location's requested cases, the add-a-case form and the "Plan" form."""
    actor = request_actor(request)
    return _page(request, actor, _chosen_location(actor, request.GET.get("location")))


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["POST"])
def surgery_case_new(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    location = _chosen_location(actor, request.POST.get("location"))
    form = CaseForm(request.POST, actor=actor, location=location)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        mrn = data["patient_mrn"].strip()
        try:
            patient = patient_selectors.get_patient_by_mrn(actor=actor, mrn=mrn)
        except NotFound:
            form.add_error("patient_mrn", f"No patient with MRN {mrn}.")
        else:
            try:
                surgery.request_case(
                    actor=actor,
                    data=surgery.CaseInput(
                        patient_id=patient.pk,
                        location_id=data["location"].pk,
                        surgeon_id=data["surgeon"].pk,
                        procedure_id=data["procedure"].pk,
                        duration_minutes=data["duration_minutes"],
                        earliest_date=data["earliest_date"],
                        latest_date=data["latest_date"],
                        priority=data["priority"],
                        equipment_ids=[e.pk for e in data["equipment"]],
                        procedure_code=data.get("procedure_code") or "",
                        procedure_name=data.get("procedure_name") or "",
                        notes=data.get("notes") or "",
                    ),
                )
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                messages.success(request, "Case requested.")
                return redirect(f"{reverse('scheduling:surgery')}?location={data['location'].pk}")
    return _page(request, actor, location, case_form=form, status=status)


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["POST"])
def surgery_case_cancel(request: HttpRequest, surgical_case_id: int) -> HttpResponse:
    """Withdraw a requested or planned case."""
    actor = request_actor(request)
    case = surgery.case_queryset(actor).filter(pk=surgical_case_id).first()
    if case is None:
        raise Http404("No such case.")
    try:
        surgery.cancel_case(actor=actor, case_id=case.pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Case withdrawn.")
    return redirect(f"{reverse('scheduling:surgery')}?location={case.location_id}")


@require_permission(Permission.SCHEDULE_MANAGE)
@require_http_methods(["POST"])
def surgery_plan_new(request: HttpRequest) -> HttpResponse:
    """Run the planner (htmx: the page's spinner shows until the answer says where the plan is)."""
    actor = request_actor(request)
    location = _chosen_location(actor, request.POST.get("location"))
    form = PlanForm(request.POST, actor=actor)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            plan = surgery.plan_cases(
                actor=actor,
                location_id=data["location"].pk,
                date_from=data["date_from"],
                date_to=data["date_to"],
                turnover=data["turnover"],
                overtime_cap=data["overtime_cap"],
                time_limit=data["time_limit"],
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            url = reverse("scheduling:surgery_plan", kwargs={"surgery_plan_id": plan.pk})
            if is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    if is_htmx(request):
        return render(
            request, "scheduling/planning/partials/plan_form.html", {"plan_form": form}, status=status
        )
    return _page(request, actor, location, plan_form=form, status=status)


def _plan_page(
    request: HttpRequest,
    actor: Actor,
    plan_id: int,
    *,
    forms: dict[int, AdjustForm] | None = None,
    conflict: SurgeryPlanConflict | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        detail = surgery.get_plan(actor=actor, plan_id=plan_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    zone = detail.zone
    forms = forms or {}
    adjust = [
        (
            item,
            forms.get(item.pk)
            or AdjustForm(
                rooms=detail.rooms,
                zone=zone,
                initial={"room": item.room_id, "start": item.starts_at.astimezone(zone).replace(tzinfo=None)},
                prefix=f"item{item.pk}",
            ),
        )
        for item in detail.items
    ]
    context = {
        "detail": detail,
        "plan": detail.plan,
        "days": build_grid(detail),
        "adjust": adjust,
        "conflict": conflict,
        "zone_name": str(zone),
        "is_draft": detail.plan.status == SurgeryPlanStatus.DRAFT,
        "can_plan": actor.has(Permission.SCHEDULE_MANAGE),
    }
    return render(request, "scheduling/planning/plan.html", context, status=status)


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["GET", "HEAD"])
def surgery_plan(request: HttpRequest, surgery_plan_id: int) -> HttpResponse:
    return _plan_page(request, request_actor(request), surgery_plan_id)


def _plan_or_404(actor: Actor, plan_id: int) -> SurgeryPlan:
    plan = surgery.plan_queryset(actor).select_related("location").filter(pk=plan_id).first()
    if plan is None:
        raise Http404("No such surgery plan.")
    return plan


@require_permission(Permission.SCHEDULE_MANAGE)
@require_http_methods(["POST"])
def surgery_plan_item(request: HttpRequest, surgery_plan_id: int, surgery_item_id: int) -> HttpResponse:
    """Move one case of a draft plan (room, start)."""
    actor = request_actor(request)
    plan = _plan_or_404(actor, surgery_plan_id)
    if not plan.items.filter(pk=surgery_item_id).exists():
        raise Http404("No such item in this plan.")
    rooms = surgery.operating_rooms(plan.organization_id, plan.location_id)
    form = AdjustForm(
        request.POST, rooms=rooms, zone=selectors.zone_of(plan.location), prefix=f"item{surgery_item_id}"
    )
    status, conflict = 400, None
    if form.is_valid():
        try:
            surgery.adjust_plan_item(
                actor=actor,
                plan_id=plan.pk,
                item_id=surgery_item_id,
                room_id=form.cleaned_data["room"],
                start=form.aware_start(),
            )
        except SurgeryPlanConflict as exc:
            status, conflict = exc.http_status, exc
            form.add_error(None, exc.message)
        except DomainError as exc:
            status = refusal_status(form, exc, any_not_found_is_404=True)
        else:
            messages.success(request, "Case moved.")
            return redirect("scheduling:surgery_plan", surgery_plan_id=plan.pk)
    return _plan_page(
        request, actor, plan.pk, forms={surgery_item_id: form}, conflict=conflict, status=status
    )


@require_permission(Permission.SCHEDULE_MANAGE)
@require_http_methods(["POST"])
def surgery_plan_book(request: HttpRequest, surgery_plan_id: int) -> HttpResponse:
    """Book every case of the plan, all or nothing."""
    actor = request_actor(request)
    plan = _plan_or_404(actor, surgery_plan_id)
    try:
        booked = surgery.book_plan(actor=actor, plan_id=plan.pk)
    except SurgeryPlanConflict as exc:
        return _plan_page(request, actor, plan.pk, conflict=exc, status=exc.http_status)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"Booked {len(booked)} cases.")
    return redirect("scheduling:surgery_plan", surgery_plan_id=plan.pk)

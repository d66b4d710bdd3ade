"""Scheduling pages: the calendar (a location's day or week, a resource's week), booking with slot search,
the appointment with its history and its actions (reschedule, cancel, check in, no-show, status steps),
the waitlists (an overview and each visit type's list), the access report (third next available) and the
patient portal's list, where a patient also books, moves and cancels their own visits.

Each view parses with a form, calls one selector or service, and renders. A service's refusal is shown on
the form or page with its status (400 or 409); an appointment outside the actor's scope answers 404.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import public, require_permission
from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.billing.choices import PaymentMethod, PaymentPurpose
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from caredesk.core.htmx import is_htmx, render_page_or_partial
from caredesk.core.web import refusal_status, request_actor
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors

from . import clock, grid, rules, search_text, selectors, services
from .authorizations import check_booked
from .choices import REMINDABLE_STATUSES, AppointmentStatus, OfferStatus, ResourceKind
from .errors import ResourceNotFound, SeriesConflict
from .forms import (
    CALENDAR_KINDS,
    AccessForm,
    BookingForm,
    CalendarForm,
    CancelForm,
    CheckInForm,
    MoveForm,
    PortalBookForm,
    PortalCancelForm,
    PortalMoveForm,
    PortalPreferencesForm,
    PortalSearchForm,
    RescheduleForm,
    ScheduleForm,
    SlotSearchForm,
    StatusForm,
    VersionForm,
    WaitlistForm,
    WaitlistStartForm,
    parse_slot,
)
from .models import Appointment

LEGEND = [(s.value, s.label) for s in AppointmentStatus if s not in (AppointmentStatus.CANCELLED,)]
BOARD_COUNTS = [
    (AppointmentStatus.BOOKED, "Booked"),
    (AppointmentStatus.CONFIRMED, "Confirmed"),
    (AppointmentStatus.ARRIVED, "Arrived"),
    (AppointmentStatus.IN_PROGRESS, "In progress"),
    (AppointmentStatus.FULFILLED, "Seen"),
    (AppointmentStatus.NO_SHOW, "No-show"),
]
STATUS_ACTIONS = {
    "booked": "Book",
    "confirmed": "Confirm",
    "in_progress": "Start visit",
    "fulfilled": "Complete",
}


def _detail_or_404(actor: Actor, appointment_id: int) -> selectors.AppointmentDetail:
    try:
        return selectors.get_appointment(actor=actor, appointment_id=appointment_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# --- calendar ---------------------------------------------------------------------------------------------


@require_permission(Permission.SCHEDULE_VIEW)
@require_http_methods(["GET", "HEAD"])
def calendar(request: HttpRequest) -> HttpResponse:
    """A location's day (a column per resource), its week (the days as column groups, a column per
    resource in each), or one resource's week (a column per day)."""
    actor = request_actor(request)
    form = CalendarForm(request.GET, actor=actor)
    if not form.is_valid():
        return render(request, "scheduling/calendar.html", {"form": form, "cal": None}, status=400)
    location = form.cleaned_data.get("location") or selectors.location_queryset(actor).first()
    if location is None:
        return render(request, "scheduling/calendar.html", {"form": form, "cal": None})
    zone = selectors.zone_of(location)
    day = form.cleaned_data.get("date") or clock.now().astimezone(zone).date()
    view = form.cleaned_data.get("view") or "day"
    resource_id = form.cleaned_data.get("resource")
    kind = (form.cleaned_data.get("kind") or None) if resource_id is None else None
    if view == "week":
        day -= dt.timedelta(days=day.weekday())
    try:
        cal = selectors.calendar(
            actor=actor,
            location_id=location.pk,
            first_day=day,
            days=7 if view == "week" else 1,
            resource_id=resource_id,
            kind=kind,
        )
    except DomainError as exc:
        return render(
            request, "scheduling/calendar.html", {"form": form, "cal": None, "error": exc.message}, status=400
        )
    step = dt.timedelta(days=7 if view == "week" else 1)
    context: dict[str, Any] = {
        "form": form,
        "cal": cal,
        "grid": grid.build(cal),
        "view": view,
        "day": day,
        "previous_day": day - step,
        "next_day": day + step,
        "today": clock.now().astimezone(zone).date(),
        "resource_id": resource_id,
        "kind": kind or "",
        "kinds": CALENDAR_KINDS,
        "statuses": LEGEND,
        "movable": rules.RESCHEDULABLE,
        "zone_name": location.timezone,
        "can_book": actor.has(Permission.APPOINTMENT_BOOK),
        "can_manage": actor.has(Permission.SCHEDULE_MANAGE),
    }
    return render_page_or_partial(
        request, "scheduling/calendar.html", "scheduling/partials/calendar.html", context
    )


def _drop_request(
    actor: Actor, appointment: Appointment, from_resource: int, to_resource: int
) -> tuple[list[int] | None, int | None]:
    """What a drop on the calendar asks the reschedule service for: (resource ids, practitioner id).

    Dropped in a practitioner's column, when it was dragged from one: that practitioner, and the service
    keeps the other resources if they are free then (else takes free ones). Otherwise the appointment
    keeps its resources, with the column it was dragged from swapped for the one it was dropped on."""
    booked = [b.resource_id for b in appointment.bookings.all()]
    if from_resource not in booked:
        raise ValidationFailed("This appointment is not in the column it was dragged from.", field="resource")
    resources = {
        r.pk: r for r in selectors.resource_queryset(actor).filter(pk__in={from_resource, to_resource})
    }
    target = resources.get(to_resource)
    if target is None or not target.active:
        raise ResourceNotFound(f"No active resource with id {to_resource}.", field="resource")
    source = resources[from_resource]
    if target.practitioner_id is not None and source.practitioner_id is not None:
        return None, target.practitioner_id
    return [to_resource if r == from_resource else r for r in booked], None


def _conflict_lines(exc: DomainError) -> list[str]:
    """The appointments in the way, as "Exam 1 09:00-09:20"."""
    lines = []
    for clash in exc.details.get("conflicts", []) if isinstance(exc.details, dict) else []:
        try:
            start = dt.datetime.fromisoformat(clash["start"])
            end = dt.datetime.fromisoformat(clash["end"])
        except (KeyError, TypeError, ValueError):
            continue
        lines.append(f"{clash.get('resource', '')} {start:%a %d %b %H:%M}-{end:%H:%M}".strip())
    return list(dict.fromkeys(lines))


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["POST"])
def move(request: HttpRequest, appointment_id: int) -> JsonResponse:
    """Drag to reschedule: the calendar posts where an appointment was dropped; the reschedule service
    decides (working hours, conflicts, booking rules, the version the page showed). JSON either way: the
    new place, or the refusal with the appointments in the way."""
    actor = request_actor(request)
    appointment = (
        selectors.appointment_queryset(actor).prefetch_related("bookings").filter(pk=appointment_id).first()
    )
    if appointment is None:
        raise Http404("No such appointment.")
    form = MoveForm(request.POST)
    if not form.is_valid():
        errors = [f"{name}: {' '.join(str(m) for m in e)}" for name, e in form.errors.items()]
        return JsonResponse({"error": "The move could not be read. " + " ".join(errors)}, status=400)
    data = form.cleaned_data
    try:
        resource_ids, practitioner_id = _drop_request(
            actor, appointment, data["from_resource"], data["resource"]
        )
        moved = services.reschedule_appointment(
            actor=actor,
            appointment_id=appointment.pk,
            start=form.new_start(),
            resource_ids=resource_ids,
            practitioner_id=practitioner_id,
            expected_version=data["version"],
            reason="Moved on the calendar",
        )
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise PermissionDenied(exc.message) from exc
        conflicts = _conflict_lines(exc)
        message = exc.message + (f" In the way: {'; '.join(conflicts)}." if conflicts else "")
        return JsonResponse(
            {"error": message, "code": exc.code, "conflicts": conflicts}, status=exc.http_status
        )
    zone = selectors.zone_of(moved.location)
    names = [b.resource.name for b in moved.bookings.select_related("resource").order_by("resource__name")]
    return JsonResponse(
        {
            "moved": True,
            "version": moved.version,
            "start": moved.starts_at.astimezone(zone).isoformat(),
            "message": f"Moved to {moved.starts_at.astimezone(zone):%a %d %b, %H:%M} ({', '.join(names)}).",
        }
    )


# --- the printable day sheet and the arrivals board ---------------------------------------------------------


@require_permission(Permission.SCHEDULE_VIEW)
@require_http_methods(["GET", "HEAD"])
def day_sheet(request: HttpRequest) -> HttpResponse:
    """One day of a location, a practitioner or a room, as a list to print (names included: the sheet
    is for the staff who run the day)."""
    actor = request_actor(request)
    form = CalendarForm(request.GET, actor=actor)
    context: dict[str, Any] = {"form": form, "cal": None}
    if not form.is_valid():
        return render(request, "scheduling/day_sheet.html", context, status=400)
    location = form.cleaned_data.get("location") or selectors.location_queryset(actor).first()
    if location is None:
        return render(request, "scheduling/day_sheet.html", context)
    zone = selectors.zone_of(location)
    day = form.cleaned_data.get("date") or clock.now().astimezone(zone).date()
    resource_id = form.cleaned_data.get("resource")
    # A location's sheet lists the practitioners unless asked otherwise (rooms would repeat their visits).
    kind = form.cleaned_data.get("kind") if "kind" in request.GET else "practitioner"
    try:
        cal = selectors.calendar(
            actor=actor,
            location_id=location.pk,
            first_day=day,
            resource_id=resource_id,
            kind=(kind or None) if resource_id is None else None,
        )
    except DomainError as exc:
        context["error"] = exc.message
        return render(request, "scheduling/day_sheet.html", context, status=exc.http_status)
    context.update(
        {
            "cal": cal,
            "day": day,
            "columns": [c for c in cal.columns if c.appointments or resource_id is not None],
            "kind": kind or "",
            "kinds": CALENDAR_KINDS,
            "zone_name": location.timezone,
            "printed_at": clock.now(),
        }
    )
    return render(request, "scheduling/day_sheet.html", context)


def _arrivals_context(actor: Actor, request: HttpRequest) -> tuple[dict[str, Any], int]:
    form = CalendarForm(request.GET, actor=actor)
    context: dict[str, Any] = {"form": form, "cal": None, "rows": []}
    if not form.is_valid():
        return context, 400
    location = form.cleaned_data.get("location") or selectors.location_queryset(actor).first()
    if location is None:
        return context, 200
    zone = selectors.zone_of(location)
    now = clock.now()
    cal = selectors.calendar(actor=actor, location_id=location.pk, first_day=now.astimezone(zone).date())
    rows = grid.arrivals(cal, now)
    context.update(
        {
            "cal": cal,
            "rows": rows,
            "now": now,
            "zone_name": location.timezone,
            "can_book": actor.has(Permission.APPOINTMENT_BOOK),
            "counts": {
                label: sum(1 for r in rows if r.appointment.status == status)
                for status, label in BOARD_COUNTS
            },
        }
    )
    return context, 200


@require_permission(Permission.SCHEDULE_VIEW)
@require_http_methods(["GET", "HEAD"])
def arrivals(request: HttpRequest) -> HttpResponse:
    """The front desk's board: today's appointments at a location, who has arrived and for how long they
    have waited, with one-click check-in. It refreshes itself (htmx polling the fragment)."""
    context, status = _arrivals_context(request_actor(request), request)
    return render_page_or_partial(
        request, "scheduling/arrivals.html", "scheduling/partials/arrivals.html", context, status=status
    )


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["POST"])
def arrivals_check_in(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Check a patient in from the board; the answer is the board again (with the reason if refused)."""
    actor = request_actor(request)
    form = VersionForm(request.POST)
    status, problem = 200, ""
    if not form.is_valid():
        status, problem = 400, "The check-in could not be read. Reload the board."
    else:
        try:
            services.check_in(
                actor=actor, appointment_id=appointment_id, expected_version=form.cleaned_data.get("version")
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            if isinstance(exc, Forbidden):
                raise PermissionDenied(exc.message) from exc
            status, problem = exc.http_status, exc.message
    location = request.POST.get("location", "")
    if not is_htmx(request):
        if problem:
            messages.error(request, problem)
        else:
            messages.success(request, "Checked in.")
        query = f"?location={location}" if location.isdigit() else ""
        return redirect(f"{reverse('scheduling:arrivals')}{query}")
    context, _ = _arrivals_context(actor, request)
    context["problem"] = problem
    context["checked_in"] = appointment_id if not problem else None
    return render(request, "scheduling/partials/arrivals.html", context, status=status)


# --- booking ----------------------------------------------------------------------------------------------


def _booking_initial(request: HttpRequest, actor: Actor) -> dict[str, Any]:
    """Prefill from a link: ?patient=<id> (from a chart), ?resource=<id>&start=<iso> (a calendar cell)."""
    initial: dict[str, Any] = {}
    patient = _as_int(request.GET.get("patient"))
    if patient is not None:
        initial["patient"] = patient
    resource = _as_int(request.GET.get("resource"))
    start = request.GET.get("start", "")
    if resource is not None and start:
        found = selectors.resource_queryset(actor).filter(pk=resource).first()
        try:
            moment = dt.datetime.fromisoformat(start)
        except ValueError:
            moment = None
        if found is not None and moment is not None:
            initial["location"] = found.location_id
            initial["first_day"] = moment.date()
            initial["earliest"] = moment.time()
            if found.practitioner_id is not None:
                initial["practitioner"] = found.practitioner_id
    return initial


def _patient_label(actor: Actor, patient_id: int | None) -> str:
    """The patient a booking is for, as the form shows them (an audited read)."""
    if patient_id is None:
        return ""
    try:
        patient = patient_selectors.get_patient(actor=actor, patient_id=patient_id, action="book")
    except NotFound:
        return ""
    return f"{patient.family_name}, {patient.given_name} ({patient.mrn})"


def _as_int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _patient_id(actor: Actor, form: BookingForm) -> int | None:
    """The patient the form names: its hidden id, else the MRN typed (an audited look-up)."""
    if form.cleaned_data.get("patient"):
        return int(form.cleaned_data["patient"])
    mrn = (form.cleaned_data.get("patient_mrn") or "").strip()
    try:
        return patient_selectors.get_patient_by_mrn(actor=actor, mrn=mrn).pk
    except NotFound:
        form.add_error("patient_mrn", f"No patient with MRN {mrn}.")
        return None


def _vocabulary(actor: Actor) -> search_text.Vocabulary:
    """The organization's names a sentence can be matched against (no patient data)."""
    return search_text.Vocabulary(
        visit_types=[
            search_text.VisitTypeWords(v.pk, v.name, v.code, v.eligibility, v.modality)
            for v in selectors.visit_type_queryset(actor).filter(active=True).order_by("name", "pk")
        ],
        practitioners=[
            search_text.PractitionerWords(
                p.pk, p.given_name, p.family_name, p.specialty, p.get_specialty_display()
            )
            for p in practitioner_selectors.practitioner_queryset(actor).filter(active=True).order_by("pk")
        ],
        locations=[
            search_text.LocationWords(loc.pk, loc.name, loc.city)
            for loc in selectors.location_queryset(actor).order_by("pk")
        ],
    )


TEXT_SEARCH_LIMIT = 12


def _text_search(
    actor: Actor, text: str, patient_id: int | None
) -> tuple[search_text.Understood, dict[str, Any], list[selectors.Slot] | None]:
    """A sentence turned into the search form's values and run through the slot search: the earliest
    times over every practitioner it names (a specialty may name several)."""
    understood = search_text.understand(text, _vocabulary(actor))
    initial: dict[str, Any] = {
        "visit_type": understood.visit_type_id,
        "location": understood.location_id,
        "modality": understood.modality or "",
        "weekdays": [str(d) for d in sorted(understood.weekdays or ())],
        "earliest": understood.earliest,
        "latest": understood.latest,
    }
    if len(understood.practitioner_ids) == 1:
        initial["practitioner"] = understood.practitioner_ids[0]
    if understood.visit_type_id is None:
        return understood, initial, None
    found: list[selectors.Slot] = []
    offered = False
    practitioner_ids: list[int | None] = [*understood.practitioner_ids] or [None]
    for practitioner_id in practitioner_ids:
        query = selectors.SlotQuery(
            visit_type_id=understood.visit_type_id,
            practitioner_id=practitioner_id,
            location_id=understood.location_id,
            weekdays=understood.weekdays,
            earliest=understood.earliest,
            latest=understood.latest,
            modality=understood.modality,
            patient_id=patient_id,
            limit=TEXT_SEARCH_LIMIT,
        )
        try:
            found += selectors.find_slots(actor=actor, query=query)
        except DomainError as exc:
            if exc.code == "not_offered":
                continue  # e.g. one of the cardiologists does not offer this visit type
            understood.problems.append(exc.message)
            return understood, initial, None
        offered = True
    if not offered:
        understood.problems.append("None of the practitioners named offer that visit type.")
        return understood, initial, None
    found.sort(key=lambda slot: (slot.start, slot.location_name, slot.resource_ids))
    return understood, initial, found[:TEXT_SEARCH_LIMIT]


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["GET", "HEAD", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if request.method != "POST":
        initial = _booking_initial(request, actor)
        text = request.GET.get("q", "").strip()[:300]
        understood, found = None, None
        if text:
            understood, searched, found = _text_search(actor, text, initial.get("patient"))
            initial.update(searched)
        form = BookingForm(initial=initial, actor=actor)
        context = {
            "form": form,
            "patient_label": _patient_label(actor, initial.get("patient")),
            "slots": found,
            "understood": understood,
            "q": text,
        }
        return render(request, "scheduling/book.html", context)
    form = BookingForm(request.POST, actor=actor)
    status, series_failures = 400, None
    if form.is_valid():
        patient_id = _patient_id(actor, form)
        chosen = form.chosen_slot()
        if patient_id is not None and chosen is not None:
            start, location_id, resource_ids = chosen
            data = form.cleaned_data
            request_data = services.BookingRequest(
                patient_id=patient_id,
                visit_type_id=data["visit_type"].pk,
                location_id=location_id,
                start=start,
                resource_ids=resource_ids,
                modality=data.get("modality") or None,
                source=data["source"],
                notes=data.get("notes") or "",
            )
            try:
                if data.get("every_weeks"):
                    booked = services.book_series(
                        actor=actor,
                        request=request_data,
                        every_weeks=data["every_weeks"],
                        occurrences=data["occurrences"],
                    )
                    messages.success(request, f"Booked a series of {len(booked)} appointments.")
                else:
                    booked = [services.book_appointment(actor=actor, request=request_data)]
                    messages.success(request, "Appointment booked.")
            except SeriesConflict as exc:
                status = exc.http_status
                series_failures = [
                    {**f, "when": dt.datetime.fromisoformat(f["start"]).strftime("%a %d %b %Y %H:%M")}
                    for f in exc.occurrences
                ]
                form.add_error(None, exc.message)
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                for warning in check_booked(actor, booked):  # booked anyway: the desk is warned
                    messages.warning(request, warning)
                return redirect("scheduling:detail", appointment_id=booked[0].pk)
    context = {
        "form": form,
        "patient_label": _patient_label(actor, _as_int(request.POST.get("patient"))),
        "series_failures": series_failures,
        "slots": None,
    }
    return render(request, "scheduling/book.html", context, status=status)


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["GET", "HEAD"])
def slots(request: HttpRequest) -> HttpResponse:
    """The slot list (an htmx fragment of the booking and reschedule forms; a page of its own otherwise)."""
    actor = request_actor(request)
    text = request.GET.get("q", "").strip()[:300]
    if text and not request.GET.get("visit_type"):
        understood, initial, found = _text_search(actor, text, _as_int(request.GET.get("patient")))
        context: dict[str, Any] = {
            "form": SlotSearchForm(initial=initial, actor=actor),
            "slots": found,
            "understood": understood,
            "q": text,
        }
        return render(request, "scheduling/slots.html", context)
    form = SlotSearchForm(request.GET, actor=actor)
    context = {"form": form, "slots": None}
    if not request.GET.get("visit_type"):
        return render_page_or_partial(
            request, "scheduling/slots.html", "scheduling/partials/slots.html", context
        )
    if not form.is_valid():
        return render_page_or_partial(
            request, "scheduling/slots.html", "scheduling/partials/slots.html", context, status=400
        )
    query = form.to_query(patient_id=_as_int(request.GET.get("patient")))
    moving = _as_int(request.GET.get("exclude_appointment"))
    if moving is not None and selectors.appointment_queryset(actor).filter(pk=moving).exists():
        query.exclude_appointment_id = moving  # rescheduling: its own time counts as free
    try:
        found = selectors.find_slots(actor=actor, query=query)
    except DomainError as exc:
        status = refusal_status(form, exc)
        return render_page_or_partial(
            request, "scheduling/slots.html", "scheduling/partials/slots.html", context, status=status
        )
    context["slots"] = found
    if not found:
        context["refusal"] = selectors.why_no_slots(actor, query)
    return render_page_or_partial(request, "scheduling/slots.html", "scheduling/partials/slots.html", context)


# --- one appointment ------------------------------------------------------------------------------------


def _actions(actor: Actor, appointment: Appointment) -> dict[str, Any]:
    """What the page offers (the services decide in the end)."""
    if not actor.has(Permission.APPOINTMENT_BOOK):
        return {}
    allowed = rules.TRANSITIONS.get(appointment.status, frozenset())
    now = rules.to_minute(clock.now())
    start = rules.to_minute(appointment.starts_at)
    return {
        "reschedule": appointment.status in rules.RESCHEDULABLE,
        "cancel": "cancelled" in allowed,
        "check_in": rules.check_in_error(appointment.status, start, now, appointment.zone) is None,
        "no_show": rules.no_show_error(appointment.status, start, now, services.no_show_grace_minutes())
        is None,
        "statuses": [(s, label) for s, label in STATUS_ACTIONS.items() if s in allowed],
    }


def _payment_context(actor: Actor, appointment: Appointment, coverage: Any) -> dict[str, Any]:
    """The co-pay card (billing's payment form) for the front desk: prefilled with the co-pay due."""
    if not actor.has(Permission.PAYMENT_RECORD) or appointment.status in rules.NO_COPAY_STATUSES:
        return {"show_payment": False}
    if coverage is None:
        coverage = selectors.check_in_coverage(actor=actor, patient_id=appointment.patient_id)
    return {
        "show_payment": True,
        "copay_due": coverage.copay if coverage.visible else None,
        "patient_id": appointment.patient_id,
        "appointment_id": appointment.pk,
        "methods": PaymentMethod.choices,
        "purposes": PaymentPurpose.choices,
        "form_values": {
            "amount": str(coverage.copay) if coverage.visible and coverage.copay is not None else "",
            "method": PaymentMethod.CASH,
            "reference": "",
            "purpose": PaymentPurpose.COPAY,
        },
        "payment": None,
        "error": "",
        "field": "",
    }


def _detail_context(actor: Actor, detail: selectors.AppointmentDetail, **extra: Any) -> dict[str, Any]:
    appointment = detail.appointment
    actions = _actions(actor, appointment)
    # At check-in the desk sees the co-pay due and the eligibility result (read through coverage).
    coverage = (
        selectors.check_in_coverage(actor=actor, patient_id=appointment.patient_id)
        if actions.get("check_in")
        else None
    )
    return {
        "detail": detail,
        "appointment": appointment,
        "zone_name": appointment.location.timezone,
        "actions": actions,
        "check_in_coverage": coverage,
        **_payment_context(actor, appointment, coverage),
        "cancel_form": extra.pop("cancel_form", None) or CancelForm(initial={"version": appointment.version}),
        "can_open_chart": actor.has(Permission.PATIENT_VIEW),
        **extra,
    }


@require_permission(Permission.SCHEDULE_VIEW)
@require_http_methods(["GET", "HEAD"])
def detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    actor = request_actor(request)
    return render(
        request, "scheduling/detail.html", _detail_context(actor, _detail_or_404(actor, appointment_id))
    )


def _act(request: HttpRequest, appointment_id: int, form: ScheduleForm, run: Any, done: str) -> HttpResponse:
    """Run one state change from the appointment page; a refusal re-renders the page with the reason."""
    actor = request_actor(request)
    status = 400
    if form.is_valid():
        try:
            run(actor, form.cleaned_data)
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise Http404(exc.message) from exc
            if isinstance(exc, Forbidden):
                raise PermissionDenied(exc.message) from exc
            status = exc.http_status
            form.add_error(None, exc.message)
        else:
            messages.success(request, done)
            return redirect("scheduling:detail", appointment_id=appointment_id)
    detail_data = _detail_or_404(actor, appointment_id)
    extra: dict[str, Any] = {
        "action_errors": form.non_field_errors() or [e for errs in form.errors.values() for e in errs]
    }
    if isinstance(form, CancelForm):
        extra["cancel_form"] = form
    return render(
        request, "scheduling/detail.html", _detail_context(actor, detail_data, **extra), status=status
    )


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["POST"])
def cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def run(actor: Actor, data: dict[str, Any]) -> None:
        services.cancel_appointment(
            actor=actor,
            appointment_id=appointment_id,
            reason=data["reason"],
            note=data.get("note") or "",
            expected_version=data.get("version"),
        )

    return _act(request, appointment_id, CancelForm(request.POST), run, "Appointment cancelled.")


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["POST"])
def check_in(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def run(actor: Actor, data: dict[str, Any]) -> None:
        services.check_in(
            actor=actor,
            appointment_id=appointment_id,
            expected_version=data.get("version"),
            demographics_confirmed=data.get("demographics_confirmed", False),
            coverage_confirmed=data.get("coverage_confirmed", False),
        )

    return _act(request, appointment_id, CheckInForm(request.POST), run, "Checked in.")


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["POST"])
def no_show(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def run(actor: Actor, data: dict[str, Any]) -> None:
        services.mark_no_show(
            actor=actor, appointment_id=appointment_id, expected_version=data.get("version")
        )

    return _act(request, appointment_id, VersionForm(request.POST), run, "Marked as no-show.")


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["POST"])
def change_status(request: HttpRequest, appointment_id: int) -> HttpResponse:
    def run(actor: Actor, data: dict[str, Any]) -> None:
        services.change_status(
            actor=actor,
            appointment_id=appointment_id,
            status=data["status"],
            expected_version=data.get("version"),
        )

    return _act(request, appointment_id, StatusForm(request.POST), run, "Status changed.")


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["GET", "HEAD", "POST"])
def reschedule(request: HttpRequest, appointment_id: int) -> HttpResponse:
    actor = request_actor(request)
    detail_data = _detail_or_404(actor, appointment_id)
    appointment = detail_data.appointment
    practitioner = next(
        (b.resource.practitioner_id for b in appointment.bookings.all() if b.resource.practitioner_id), None
    )
    status = 200
    if request.method == "POST":
        form = RescheduleForm(request.POST, actor=actor)
        status = 400
        if form.is_valid():
            chosen = form.chosen_slot()
            if chosen is not None:
                start, location_id, resource_ids = chosen
                try:
                    services.reschedule_appointment(
                        actor=actor,
                        appointment_id=appointment.pk,
                        start=start,
                        location_id=location_id,
                        resource_ids=resource_ids,
                        expected_version=form.cleaned_data["version"],
                        reason=form.cleaned_data.get("reason") or "",
                    )
                except DomainError as exc:
                    status = refusal_status(form, exc)
                else:
                    messages.success(request, "Appointment rescheduled.")
                    return redirect("scheduling:detail", appointment_id=appointment.pk)
    else:
        form = RescheduleForm(
            initial={
                "visit_type": appointment.visit_type_id,
                "location": appointment.location_id,
                "practitioner": practitioner,
                "modality": appointment.modality,
                "version": appointment.version,
            },
            actor=actor,
        )
    context = {
        "form": form,
        "appointment": appointment,
        "zone_name": appointment.location.timezone,
        "slots": None,
    }
    return render(request, "scheduling/reschedule.html", context, status=status)


# --- the patient portal -----------------------------------------------------------------------------------


@require_permission(Permission.PORTAL_OWN_RECORD)
@require_http_methods(["GET", "HEAD"])
def my_appointments(request: HttpRequest) -> HttpResponse:
    return _my_appointments_page(request, request_actor(request))


def _my_appointments_page(
    request: HttpRequest, actor: Actor, *, status: int = 200, cancel_form: PortalCancelForm | None = None
) -> HttpResponse:
    """The patient's visits; with self-scheduling, a Cancel form on each upcoming visit they may cancel
    online, and for the others still to happen the reason to call the clinic instead."""
    appointments = selectors.patient_appointments(actor=actor)
    now = clock.now()
    upcoming = sorted((a for a in appointments if a.ends_at >= now), key=lambda a: a.starts_at)
    past = [a for a in appointments if a.ends_at < now]
    self_schedule = actor.has(Permission.PORTAL_SELF_SCHEDULE)
    # (appointment, cancel online?): None, it may be; a message, call the clinic instead; "", nothing to say.
    rows: list[tuple[Appointment, str | None]] = []
    for a in upcoming:
        if self_schedule and a.status in rules.PORTAL_CANCELLABLE:
            rows.append((a, services.portal_cancel_problem(a, now)))
        else:
            rows.append((a, ""))
    context = {
        "upcoming": upcoming,
        "rows": rows,
        "past": past,
        "self_schedule": self_schedule,
        "cancel_form": cancel_form or PortalCancelForm(),
    }
    return render(request, "scheduling/my_appointments.html", context, status=status)


def _local_when(appointment: Appointment) -> str:
    """The start as "Monday 1 December 2026 at 09:00", in the appointment's location's time zone."""
    when = appointment.starts_at.astimezone(selectors.zone_of(appointment.location))
    return f"{when:%A} {when.day} {when:%B %Y at %H:%M}"


def _portal_search_page(
    request: HttpRequest,
    actor: Actor,
    form: PortalSearchForm,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    """Find a time: the search form and, for a valid search, the next free times for the patient."""
    found = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        earliest, latest = form.starts_between()
        try:
            found = selectors.portal_slots(
                actor=actor,
                visit_type_id=data["visit_type"].pk,
                practitioner_id=data["practitioner"].pk if data.get("practitioner") else None,
                location_id=data["location"].pk if data.get("location") else None,
                weekdays=form.weekday_set(),
                earliest=earliest,
                latest=latest,
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
    elif form.is_bound:
        status = 400
    context = {"form": form, "slots": found, "error": error}
    return render(request, "scheduling/portal_book.html", context, status=status)


def _portal_confirm_page(request: HttpRequest, actor: Actor, visit_type_id: Any, token: str) -> HttpResponse:
    """The time picked, to confirm: what, when, where and with whom (no booking yet)."""
    try:
        start, location_id, resource_ids = parse_slot(token)
        visit_type = selectors.get_portal_visit_type(actor=actor, visit_type_id=int(visit_type_id))
        location = selectors.get_location(actor=actor, location_id=location_id)
    except (ValueError, TypeError, DjangoValidationError, DomainError):
        form = PortalSearchForm(actor=actor)
        return _portal_search_page(
            request, actor, form, status=400, error="That time is not one we offered; search again."
        )
    zone = selectors.zone_of(location)
    chosen = selectors.resource_queryset(actor).filter(pk__in=resource_ids, kind=ResourceKind.PRACTITIONER)
    practitioners = [r.name for r in chosen.order_by("name")]
    context = {
        "visit_type": visit_type,
        "location": location,
        "start": start.astimezone(zone),
        "end": (start + dt.timedelta(minutes=visit_type.duration_minutes)).astimezone(zone),
        "practitioners": practitioners,
        "form": PortalBookForm(initial={"visit_type": visit_type.pk, "slot": token}),
    }
    return render(request, "scheduling/portal_confirm.html", context)


@require_permission(Permission.PORTAL_SELF_SCHEDULE)
@require_http_methods(["GET", "HEAD", "POST"])
def my_book(request: HttpRequest) -> HttpResponse:
    """A patient books a visit for themselves: choose a type of visit (and when and with whom it suits),
    pick one of the next free times, confirm. The booking is the desk's, for the patient's own record."""
    actor = request_actor(request)
    if request.method != "POST":
        token = request.GET.get("slot", "")
        if token:
            return _portal_confirm_page(request, actor, request.GET.get("visit_type"), token)
        bound = request.GET if "visit_type" in request.GET else None
        return _portal_search_page(request, actor, PortalSearchForm(bound, actor=actor))
    form = PortalBookForm(request.POST)
    if not form.is_valid():
        return _portal_search_page(
            request, actor, PortalSearchForm(actor=actor), status=400, error="Pick one of the times offered."
        )
    start, location_id, resource_ids = form.cleaned_data["slot"]
    visit_type_id = form.cleaned_data["visit_type"]
    try:
        booked = services.book_from_portal(
            actor=actor,
            visit_type_id=visit_type_id,
            start=start,
            location_id=location_id,
            resource_ids=resource_ids,
        )
    except DomainError as exc:
        search = PortalSearchForm({"visit_type": visit_type_id}, actor=actor)
        return _portal_search_page(request, actor, search, status=exc.http_status, error=exc.message)
    check_booked(actor, [booked])  # the front desk gets a task if an authorization is missing
    messages.success(
        request, f"Booked: {booked.visit_type.name} on {_local_when(booked)}, {booked.location.name}."
    )
    return redirect("scheduling:my_appointments")


@require_permission(Permission.PORTAL_SELF_SCHEDULE)
@require_http_methods(["POST"])
def my_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """A patient cancels one of their own visits (another's answers 404); too close to the start, the
    page says to call the clinic and nothing changes."""
    actor = request_actor(request)
    form = PortalCancelForm(request.POST)
    if not form.is_valid():
        return _my_appointments_page(request, actor, status=400, cancel_form=form)
    try:
        cancelled = services.cancel_from_portal(
            actor=actor, appointment_id=appointment_id, note=form.cleaned_data.get("note") or ""
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return _my_appointments_page(request, actor, status=exc.http_status)
    messages.success(request, f"Cancelled: {cancelled.visit_type.name} on {_local_when(cancelled)}.")
    return redirect("scheduling:my_appointments")


def _portal_move_page(
    request: HttpRequest,
    actor: Actor,
    appointment: Appointment,
    form: PortalPreferencesForm,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    """Change time: the visit, the preferences and, for valid ones, the next free times it may move to
    (its own time marked, not offered)."""
    slots: list[tuple[selectors.Slot, bool]] | None = None
    if form.is_valid():
        data = form.cleaned_data
        earliest, latest = form.starts_between()
        try:
            found = selectors.portal_reschedule_slots(
                actor=actor,
                appointment=appointment,
                practitioner_id=data["practitioner"].pk if data.get("practitioner") else None,
                location_id=data["location"].pk if data.get("location") else None,
                weekdays=form.weekday_set(),
                earliest=earliest,
                latest=latest,
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            held = {b.resource_id for b in appointment.bookings.all()}
            slots = [
                (
                    slot,
                    slot.start == appointment.starts_at
                    and slot.location_id == appointment.location_id
                    and set(slot.resource_ids) == held,
                )
                for slot in found
            ]
    else:
        status = 400
    context = {"appointment": appointment, "form": form, "slots": slots, "error": error}
    return render(request, "scheduling/portal_reschedule.html", context, status=status)


def _portal_move_confirm_page(
    request: HttpRequest, actor: Actor, appointment: Appointment, token: str
) -> HttpResponse:
    """The new time picked, to confirm: the visit's time now and the new one, where and with whom."""
    try:
        start, location_id, resource_ids = parse_slot(token)
        location = selectors.get_location(actor=actor, location_id=location_id)
    except (DjangoValidationError, DomainError):
        form = PortalPreferencesForm({}, actor=actor, visit_type=appointment.visit_type)
        return _portal_move_page(
            request,
            actor,
            appointment,
            form,
            status=400,
            error="That time is not one we offered; search again.",
        )
    zone = selectors.zone_of(location)
    chosen = selectors.resource_queryset(actor).filter(pk__in=resource_ids, kind=ResourceKind.PRACTITIONER)
    context = {
        "appointment": appointment,
        "location": location,
        "start": start.astimezone(zone),
        "end": (start + (appointment.ends_at - appointment.starts_at)).astimezone(zone),
        "practitioners": [r.name for r in chosen.order_by("name")],
        "form": PortalMoveForm(initial={"slot": token}),
    }
    return render(request, "scheduling/portal_reschedule_confirm.html", context)


@require_permission(Permission.PORTAL_SELF_SCHEDULE)
@require_http_methods(["GET", "HEAD", "POST"])
def my_reschedule(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """A patient changes the time of one of their own visits (another's answers 404): pick one of the
    next free times of the same visit type (with their preferences), confirm; the move is the desk's
    reschedule. A visit too close to its start (or not booked online) is left alone: the page says to
    call the clinic, as for cancelling."""
    actor = request_actor(request)
    try:
        appointment = selectors.get_portal_appointment(actor=actor, appointment_id=appointment_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    refusal = selectors.portal_refusal(appointment, action="change")
    if refusal is not None:
        messages.error(request, refusal.message)
        return _my_appointments_page(request, actor, status=refusal.http_status)
    if request.method != "POST":
        token = request.GET.get("slot", "")
        if token:
            return _portal_move_confirm_page(request, actor, appointment, token)
        form = PortalPreferencesForm(request.GET, actor=actor, visit_type=appointment.visit_type)
        return _portal_move_page(request, actor, appointment, form)
    search = PortalPreferencesForm({}, actor=actor, visit_type=appointment.visit_type)
    move = PortalMoveForm(request.POST)
    if not move.is_valid():
        return _portal_move_page(
            request, actor, appointment, search, status=400, error="Pick one of the times offered."
        )
    start, location_id, resource_ids = move.cleaned_data["slot"]
    was = _local_when(appointment)
    try:
        moved = services.reschedule_from_portal(
            actor=actor,
            appointment_id=appointment.pk,
            start=start,
            location_id=location_id,
            resource_ids=resource_ids,
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _portal_move_page(
            request, actor, appointment, search, status=exc.http_status, error=exc.message
        )
    messages.success(request, f"Moved: {moved.visit_type.name} on {was} to {_local_when(moved)}.")
    return redirect("scheduling:my_appointments")


# --- a patient's answer to a reminder (public: the signed link is the credential) ----------------------


@public
@require_http_methods(["GET", "HEAD", "POST"])
def reply(request: HttpRequest) -> HttpResponse:
    """The confirm/cancel page an e-mail reminder links to (?t=<signed token>&answer=confirm|cancel).
    Opening it changes nothing (mail scanners follow links); the patient's button press does. It shows
    the visit type, time and place only, never the patient's name."""
    token = request.POST.get("t") or request.GET.get("t") or ""
    try:
        link = services.read_reply_token(token)
        actor = services.reply_actor(link)
        detail_data = selectors.get_appointment(actor=actor, appointment_id=link.appointment_id)
    except DomainError as exc:
        return render(request, "scheduling/reply.html", {"error": exc.message}, status=400)
    appointment = detail_data.appointment
    context: dict[str, Any] = {
        "appointment": appointment,
        "zone_name": appointment.location.timezone,
        "token": token,
        "answer": request.GET.get("answer", ""),
        "can_answer": appointment.starts_at > clock.now() and appointment.status in REMINDABLE_STATUSES,
    }
    if request.method == "POST":
        try:
            context["reply"] = services.record_reply(
                actor=actor,
                appointment_id=appointment.pk,
                answer=request.POST.get("answer", ""),
                channel="email",
                reminder_id=link.reminder_id,
            )
        except DomainError as exc:
            context["error"] = exc.message
            return render(request, "scheduling/reply.html", context, status=exc.http_status)
        context["appointment"] = selectors.appointment_queryset(actor).get(pk=appointment.pk)
    return render(request, "scheduling/reply.html", context)


# --- practitioners' calendar feeds --------------------------------------------------------------------------


@public
@require_http_methods(["GET", "HEAD"])
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A practitioner's appointments as iCalendar (public: the secret address is the credential)."""
    try:
        body = selectors.practitioner_feed(token=token)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    return response


def _feeds_page(request: HttpRequest, actor: Actor, **extra: Any) -> HttpResponse:
    context = {"feeds": selectors.feed_states(actor=actor), **extra}
    return render(request, "scheduling/feeds.html", context)


@require_permission(Permission.SCHEDULE_MANAGE)
@require_http_methods(["GET", "HEAD"])
def feeds(request: HttpRequest) -> HttpResponse:
    return _feeds_page(request, request_actor(request))


@require_permission(Permission.SCHEDULE_MANAGE)
@require_http_methods(["POST"])
def issue_feed(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    """Issue (or replace) a practitioner's feed address; the new address is shown once, on this answer."""
    actor = request_actor(request)
    try:
        token = services.issue_feed_token(actor=actor, practitioner_id=practitioner_id)
    except (NotFound, ValidationFailed) as exc:  # an id out of range names no practitioner either
        raise Http404(exc.message) from exc
    return _feeds_page(request, actor, new_url=services.feed_url(token), new_for=practitioner_id)


# --- the waitlist -------------------------------------------------------------------------------------------


def _waitlist_page(
    request: HttpRequest,
    actor: Actor,
    visit_type_id: int,
    form: WaitlistForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        data = selectors.waitlist(actor=actor, visit_type_id=visit_type_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if form is None:
        # From the overview or the booking page: ?patient=<id> fills in the MRN (an audited read).
        initial = {}
        patient_id = _as_int(request.GET.get("patient"))
        if patient_id is not None:
            try:
                patient = patient_selectors.get_patient(actor=actor, patient_id=patient_id, action="waitlist")
            except (NotFound, Forbidden):
                pass  # the form stays empty; the MRN typed is checked on adding
            else:
                initial["patient_mrn"] = patient.mrn
        form = WaitlistForm(initial=initial, visit_type=data.visit_type)
    context = {"waitlist": data, "form": form, "zone_name": _zone_name(actor)}
    return render(request, "scheduling/waitlist.html", context, status=status)


def _zone_name(actor: Actor) -> str:
    location = selectors.location_queryset(actor).order_by("pk").first()
    return location.timezone if location is not None else "UTC"


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["GET", "HEAD", "POST"])
def waitlist(request: HttpRequest, visit_type_id: int) -> HttpResponse:
    """A visit type's waitlist: who waits in which order, the offers made, and a form to add a patient."""
    actor = request_actor(request)
    if request.method != "POST":
        return _waitlist_page(request, actor, visit_type_id)
    remove = _as_int(request.POST.get("remove"))
    if remove is not None:
        try:
            services.remove_from_waitlist(actor=actor, entry_id=remove)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Removed from the waitlist.")
        return redirect("scheduling:waitlist", visit_type_id=visit_type_id)
    try:
        visit_type = selectors.get_visit_type(actor=actor, visit_type_id=visit_type_id, active_only=False)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = WaitlistForm(request.POST, visit_type=visit_type)
    if form.is_valid():
        data = form.cleaned_data
        try:
            patient_id = patient_selectors.get_patient_by_mrn(actor=actor, mrn=data["patient_mrn"].strip()).pk
            services.add_to_waitlist(
                actor=actor,
                data=services.WaitlistInput(
                    patient_id=patient_id,
                    visit_type_id=visit_type.pk,
                    channel=data["channel"],
                    practitioner_id=data.get("practitioner"),
                    priority=data["priority"],
                    preferred_weekdays=data.get("preferred_weekdays") or [],
                    earliest=data.get("earliest"),
                    latest=data.get("latest"),
                    notes=data.get("notes") or "",
                ),
            )
        except NotFound:
            form.add_error("patient_mrn", f"No patient with MRN {data['patient_mrn']}.")
        except DomainError as exc:
            form.add_service_error(exc.field, exc.message)
            return _waitlist_page(request, actor, visit_type_id, form, status=exc.http_status)
        else:
            messages.success(request, "Added to the waitlist.")
            return redirect("scheduling:waitlist", visit_type_id=visit_type_id)
    return _waitlist_page(request, actor, visit_type_id, form, status=400)


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["GET", "HEAD"])
def waitlist_overview(request: HttpRequest) -> HttpResponse:
    """Every visit type's waitlist in numbers (waiting, the longest wait, open offers), each linking to its
    list, and where to start adding a patient: choosing a visit type opens its list's form."""
    actor = request_actor(request)
    status = 200
    if "visit_type" in request.GET:
        start = WaitlistStartForm(request.GET, actor=actor)
        if start.is_valid():
            target = reverse("scheduling:waitlist", args=[start.cleaned_data["visit_type"].pk])
            patient = start.cleaned_data.get("patient")
            return redirect(f"{target}{f'?patient={patient}' if patient else ''}#add")
        status = 400
    else:
        start = WaitlistStartForm(initial={"patient": _as_int(request.GET.get("patient"))}, actor=actor)
    now = timezone.now()  # entries are stamped with the real time (created_at), not the scheduling clock
    rows = [
        (summary, (now - summary.oldest).days if summary.oldest is not None else None)
        for summary in selectors.waitlist_overview(actor=actor)
    ]
    context = {
        "rows": rows,
        "start_form": start,
        "total_waiting": sum(summary.waiting for summary, _ in rows),
        "zone_name": _zone_name(actor),
    }
    return render(request, "scheduling/waitlist_overview.html", context, status=status)


# --- the access report (third next available) ----------------------------------------------------------

ACCESS_BAR_WIDTH = 360
ACCESS_BAR_ROW = 26


def _access_report(
    request: HttpRequest,
) -> tuple[AccessForm, list[selectors.AccessRow] | None, Location | None]:
    actor = request_actor(request)
    form = AccessForm(request.GET, actor=actor)
    if not form.is_valid():
        return form, None, None
    location = form.cleaned_data.get("location")
    rows = selectors.access_report(actor=actor, location_id=location.pk if location else None)
    return form, rows, location


@require_permission(Permission.SCHEDULE_VIEW)
@require_http_methods(["GET", "HEAD"])
def access(request: HttpRequest) -> HttpResponse:
    """Access to care: per visit type and practitioner, the third next available time and the days until
    it, as a table and a bar chart."""
    form, rows, location = _access_report(request)
    context: dict[str, Any] = {"form": form, "rows": rows, "location": location}
    if rows is None:
        return render(request, "scheduling/access.html", context, status=400)
    bars = rules.days_bars(
        [(f"{r.visit_type.name} · {r.practitioner_name}", r.third.days_out) for r in rows],
        width=ACCESS_BAR_WIDTH,
        row=ACCESS_BAR_ROW,
    )
    context.update(
        {
            "bars": bars,
            "bar_width": ACCESS_BAR_WIDTH,
            "chart_width": ACCESS_BAR_WIDTH + 330,
            "chart_height": max(len(bars), 1) * ACCESS_BAR_ROW,
            "csv_query": request.GET.urlencode(),
        }
    )
    return render(request, "scheduling/access.html", context)


@require_permission(Permission.SCHEDULE_VIEW)
@require_http_methods(["GET", "HEAD"])
def access_csv(request: HttpRequest) -> HttpResponse:
    form, rows, _ = _access_report(request)
    if rows is None:
        return HttpResponse("; ".join(str(e) for errors in form.errors.values() for e in errors), status=400)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="third-next-available-{clock.now():%Y-%m-%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["visit_type", "practitioner", "third_next_available", "days_out", "note"])
    for row in rows:
        start = row.third.start
        writer.writerow(
            [
                row.visit_type.name,
                row.practitioner_name,
                start.isoformat() if start else "",  # in its location's time zone
                "" if row.third.days_out is None else row.third.days_out,
                row.problem or ("" if start else "fewer than three free times ahead"),
            ]
        )
    return response


@public
@require_http_methods(["GET", "HEAD", "POST"])
def offer(request: HttpRequest) -> HttpResponse:
    """The page a waitlist offer links to (?t=<signed token>): the time on offer, and buttons to take it
    or say no. Opening it changes nothing; no patient name is shown."""
    token = request.POST.get("t") or request.GET.get("t") or ""
    try:
        link = services.read_offer_token(token)
        actor = services.offer_actor(link)
        found = selectors.offer_for_link(actor=actor, offer_id=link.offer_id)
    except DomainError as exc:
        return render(request, "scheduling/offer.html", {"error": exc.message}, status=400)
    context: dict[str, Any] = {"offer": found, "token": token, "zone_name": found.opening.location.timezone}
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("answer") == "accept":
                booked = services.accept_offer(actor=actor, offer_id=found.pk)
                check_booked(actor, [booked])  # the front desk gets a task if an authorization is missing
                context["booked"] = True
            else:
                services.decline_offer(actor=actor, offer_id=found.pk)
                context["declined"] = True
        except DomainError as exc:
            context["error"] = exc.message
            status = exc.http_status
        found.refresh_from_db()
    context["can_answer"] = found.status == OfferStatus.OPEN and found.expires_at > clock.now()
    return render(request, "scheduling/offer.html", context, status=status)


@require_permission(Permission.SCHEDULE_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_panel(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The chart's appointments panel (htmx): selectors.chart_appointments."""
    try:
        summary = selectors.chart_appointments(actor=request_actor(request), patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(
        request, "scheduling/partials/patient_panel.html", {"patient_id": patient_id, "summary": summary}
    )

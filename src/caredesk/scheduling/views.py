"""Scheduling pages: the calendar (a location's day, a resource's week), booking with slot search,
the appointment with its history and its actions (reschedule, cancel, check in, no-show, status steps),
and the patient portal's list.

Each view parses with a form, calls one selector or service, and renders. A service's refusal is shown on
the form or page with its status (400 or 409); an appointment outside the actor's scope answers 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import public, require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, Forbidden, NotFound
from caredesk.core.htmx import render_page_or_partial
from caredesk.core.web import refusal_status, request_actor
from caredesk.patients import selectors as patient_selectors

from . import clock, grid, rules, selectors, services
from .choices import REMINDABLE_STATUSES, OfferStatus
from .errors import SeriesConflict
from .forms import (
    BookingForm,
    CalendarForm,
    CancelForm,
    RescheduleForm,
    ScheduleForm,
    SlotSearchForm,
    StatusForm,
    VersionForm,
    WaitlistForm,
)
from .models import Appointment

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
    """A location's day (a column per resource) or one resource's week (a column per day)."""
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
    if view == "week":
        day -= dt.timedelta(days=day.weekday())
    try:
        cal = selectors.calendar(
            actor=actor,
            location_id=location.pk,
            first_day=day,
            days=7 if view == "week" else 1,
            resource_id=resource_id if view == "week" or resource_id else None,
        )
    except DomainError as exc:
        return render(
            request, "scheduling/calendar.html", {"form": form, "cal": None, "error": exc.message}, status=400
        )
    if view == "week" and resource_id is None and cal.resources:
        # A week shows one resource: the first practitioner (or whatever there is) unless one was chosen.
        first = next((r for r in cal.resources if r.kind == "practitioner"), cal.resources[0])
        return redirect(
            f"{reverse('scheduling:calendar')}?location={location.pk}&view=week&date={day}&resource={first.id}"
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
        "zone_name": location.timezone,
        "can_book": actor.has(Permission.APPOINTMENT_BOOK),
        "can_manage": actor.has(Permission.SCHEDULE_MANAGE),
    }
    return render_page_or_partial(
        request, "scheduling/calendar.html", "scheduling/partials/calendar.html", context
    )


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


@require_permission(Permission.APPOINTMENT_BOOK)
@require_http_methods(["GET", "HEAD", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if request.method != "POST":
        initial = _booking_initial(request, actor)
        form = BookingForm(initial=initial, actor=actor)
        context = {
            "form": form,
            "patient_label": _patient_label(actor, initial.get("patient")),
            "slots": None,
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
    form = SlotSearchForm(request.GET, actor=actor)
    context: dict[str, Any] = {"form": form, "slots": None}
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


def _detail_context(actor: Actor, detail: selectors.AppointmentDetail, **extra: Any) -> dict[str, Any]:
    appointment = detail.appointment
    return {
        "detail": detail,
        "appointment": appointment,
        "zone_name": appointment.location.timezone,
        "actions": _actions(actor, appointment),
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
        services.check_in(actor=actor, appointment_id=appointment_id, expected_version=data.get("version"))

    return _act(request, appointment_id, VersionForm(request.POST), run, "Checked in.")


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
    actor = request_actor(request)
    appointments = selectors.patient_appointments(actor=actor)
    now = clock.now()
    upcoming = sorted((a for a in appointments if a.ends_at >= now), key=lambda a: a.starts_at)
    past = [a for a in appointments if a.ends_at < now]
    return render(request, "scheduling/my_appointments.html", {"upcoming": upcoming, "past": past})


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
    except NotFound as exc:
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
    context = {
        "waitlist": data,
        "form": form or WaitlistForm(visit_type=data.visit_type),
        "zone_name": _zone_name(actor),
    }
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
                services.accept_offer(actor=actor, offer_id=found.pk)
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

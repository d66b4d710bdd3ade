"""Scheduling setup pages: what a scheduling manager configures without the Django admin.

Resources (practitioners, rooms, equipment, each at a location), visit types (duration, buffers, the
resources they need, modality, who offers them, booking rules), weekly availability templates (with a
small week grid of their hours) and exceptions (time off, holidays, closures, partial days).

Each page lists with filters and creates through one service (`services.create_resource`, …); a
service's refusal is shown on the form with its status and changes nothing. Withdrawing a resource or a
visit type, ending a template early and taking back an exception are POSTs to their own services. Every
page needs SCHEDULE_MANAGE; everything is of the actor's organization (anything else answers 404).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.web import refusal_status, request_actor

from . import clock, selectors, services
from .choices import ResourceKind
from .models import (
    AvailabilityException,
    AvailabilityTemplate,
    AvailabilityWindow,
    VisitType,
    VisitTypeRequirement,
)
from .setup_forms import (
    CATEGORY_SUGGESTIONS,
    DAY_NAMES,
    EndTemplateForm,
    ExceptionFilterForm,
    ExceptionForm,
    ListFilterForm,
    RequirementFormSet,
    ResourceForm,
    TemplateFilterForm,
    TemplateForm,
    VisitTypeFilterForm,
    VisitTypeForm,
    WindowFormSet,
    numbered_windows,
)

MANAGE = Permission.SCHEDULE_MANAGE
LIST_LIMIT = 300
GRID_STEP_MINUTES = 30
TIMEZONE_SUGGESTIONS = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "UTC",
)


# --- the week grid ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCell:
    css: str  # "" (closed), "wk-open", "wk-part" (partly), plus "wk-reserved", "wk-alternate"
    title: str


@dataclass(frozen=True)
class GridRow:
    label: str  # the hour on full hours, else ""
    cells: tuple[GridCell, ...]


def _minutes(time: dt.time) -> int:
    return time.hour * 60 + time.minute


def _describe(window: AvailabilityWindow) -> str:
    text = f"{DAY_NAMES[window.weekday]} {window.start_time:%H:%M}-{window.end_time:%H:%M}"
    if window.week_interval != 1:
        text += f", every {window.week_interval} weeks"
    if window.reserved_for_id is not None:
        text += f", reserved for {window.reserved_for}"
    if window.reserved_for_surgeon_id is not None:
        text += f", held for {window.reserved_for_surgeon}"
    return text


def _day_span(days: list[int]) -> str:
    """Weekdays in words: runs of three or more as a range ("Mon-Fri"), others one by one."""
    runs: list[list[int]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in run)
    return ", ".join(parts)


def window_summaries(windows: list[AvailabilityWindow]) -> list[str]:
    """A template's windows in words, the same hours on several days said once ("Mon-Fri 08:00-12:00")."""
    groups: dict[tuple[dt.time, dt.time, int, int | None, int | None], list[AvailabilityWindow]] = {}
    for window in windows:
        key = (
            window.start_time,
            window.end_time,
            window.week_interval,
            window.reserved_for_id,
            window.reserved_for_surgeon_id,
        )
        groups.setdefault(key, []).append(window)
    lines = []
    for (start, end, interval, *_), members in sorted(
        groups.items(), key=lambda item: (min(w.weekday for w in item[1]), item[0][0])
    ):
        text = f"{_day_span([w.weekday for w in members])} {start:%H:%M}-{end:%H:%M}"
        if interval != 1:
            text += f", every {interval} weeks"
        if members[0].reserved_for_id is not None:
            text += f", reserved for {members[0].reserved_for}"
        if members[0].reserved_for_surgeon_id is not None:
            text += f", held for {members[0].reserved_for_surgeon}"
        lines.append(text)
    return lines


def week_grid(windows: list[AvailabilityWindow], step: int = GRID_STEP_MINUTES) -> list[GridRow]:
    """A template's week as rows of `step` minutes (from the first hour it opens to the last it closes)
    by seven days; a cell is open, partly open or closed, and says when a block is reserved or the hours
    come every few weeks only. Drawn with CSS classes (the CSP allows no inline styles)."""
    if not windows:
        return []
    first = min(_minutes(w.start_time) for w in windows) // 60 * 60
    last = -(-max(_minutes(w.end_time) for w in windows) // 60) * 60
    rows = []
    for top in range(first, last, step):
        bottom = top + step
        cells = []
        for day in range(7):
            covering = [
                w
                for w in windows
                if w.weekday == day and _minutes(w.start_time) < bottom and _minutes(w.end_time) > top
            ]
            if not covering:
                cells.append(GridCell("", ""))
                continue
            full = any(_minutes(w.start_time) <= top and _minutes(w.end_time) >= bottom for w in covering)
            css = ["wk-open" if full else "wk-part"]
            if any(w.reserved_for_id is not None or w.reserved_for_surgeon_id is not None for w in covering):
                css.append("wk-reserved")
            if any(w.week_interval != 1 for w in covering):
                css.append("wk-alternate")
            cells.append(GridCell(" ".join(css), "; ".join(_describe(w) for w in covering)))
        label = f"{top // 60:02d}:00" if top % 60 == 0 else ""
        rows.append(GridRow(label, tuple(cells)))
    return rows


# --- helpers ----------------------------------------------------------------------------------------------


def _today(actor: Actor) -> dt.date:
    location = selectors.location_queryset(actor).order_by("pk").first()
    zone = ZoneInfo(location.timezone) if location is not None else dt.UTC
    return clock.now().astimezone(zone).date()


def _with_status(queryset: QuerySet[Any], status: str) -> QuerySet[Any]:
    if status == "inactive":
        return queryset.filter(active=False)
    if status == "all":
        return queryset
    return queryset.filter(active=True)


def _refused(form: Any, exc: DomainError) -> int:
    """Put the service's refusal on the form. Something a form field names that does not exist (or is
    another organization's) is bad input there: 400, not the 404 of a missing page."""
    status = refusal_status(form, exc)
    return 400 if status == 404 else status


def _common(section: str, **extra: Any) -> dict[str, Any]:
    """What every setup page's template uses: the section (its tab) and the suggestion lists."""
    return {
        "section": section,
        "category_suggestions": CATEGORY_SUGGESTIONS,
        "timezone_suggestions": TIMEZONE_SUGGESTIONS,
        "day_names": DAY_NAMES,
        **extra,
    }


# --- overview ---------------------------------------------------------------------------------------------


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD"])
def home(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    kinds = dict(
        selectors.resource_queryset(actor)
        .filter(active=True)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    today = _today(actor)
    context = {
        "resource_counts": [(label, kinds.get(value, 0)) for value, label in ResourceKind.choices],
        "visit_types": selectors.visit_type_queryset(actor).filter(active=True).count(),
        "templates": selectors.template_queryset(actor)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=today))
        .count(),
        "exceptions": selectors.exception_queryset(actor).filter(ends_at__gte=clock.now()).count(),
    }
    return render(request, "scheduling/setup/home.html", _common("home", **context))


# --- resources --------------------------------------------------------------------------------------------


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD"])
def resources(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = ListFilterForm(request.GET or None, actor=actor)
    rows = (
        selectors.resource_queryset(actor)
        .select_related("location", "practitioner")
        .annotate(template_count=Count("templates"))
        .order_by("location__name", "kind", "name", "pk")
    )
    status, code = "active", 200
    if form.is_bound and not form.is_valid():
        rows, code = rows.none(), 400
    elif form.is_bound:
        data = form.cleaned_data
        if data.get("location") is not None:
            rows = rows.filter(location=data["location"])
        if data.get("kind"):
            rows = rows.filter(kind=data["kind"])
        status = data.get("status") or "active"
    rows = _with_status(rows, status)
    context = _common("resources", form=form, resources=list(rows[:LIST_LIMIT]), limit=LIST_LIMIT)
    return render(request, "scheduling/setup/resources.html", context, status=code)


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def resource_new(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if request.method != "POST":
        form = ResourceForm(initial={"location": request.GET.get("location")}, actor=actor)
        return render(request, "scheduling/setup/resource_form.html", _common("resources", form=form))
    form = ResourceForm(request.POST, actor=actor)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        practitioner = data.get("practitioner")
        try:
            resource = services.create_resource(
                actor=actor,
                kind=data["kind"],
                location_id=data["location"].pk,
                name=data.get("name") or "",
                practitioner_id=practitioner.pk if practitioner is not None else None,
                category=data.get("category") or "",
            )
        except DomainError as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, f"{resource.name} is schedulable at {data['location'].name}.")
            return redirect(f"{reverse('scheduling:setup_resources')}?location={resource.location_id}")
    return render(
        request, "scheduling/setup/resource_form.html", _common("resources", form=form), status=status
    )


def _flag(request: HttpRequest) -> bool | None:
    value = request.POST.get("active", "")
    return {"1": True, "0": False}.get(value)


@require_permission(MANAGE)
@require_http_methods(["POST"])
def resource_active(request: HttpRequest, resource_id: int) -> HttpResponse:
    """Withdraw a resource from scheduling (active=0) or put it back (active=1)."""
    actor = request_actor(request)
    if not selectors.resource_queryset(actor).filter(pk=resource_id).exists():
        raise Http404("No such resource.")
    active = _flag(request)
    if active is None:
        return HttpResponse("Say active=1 or active=0.", status=400, content_type="text/plain")
    resource = services.set_resource_active(actor=actor, resource_id=resource_id, active=active)
    if active:
        messages.success(request, f"{resource.name} is schedulable again.")
    else:
        messages.success(
            request, f"{resource.name} is withdrawn: no new bookings. Appointments it already has stay."
        )
    return redirect(f"{reverse('scheduling:setup_resources')}?location={resource.location_id}&status=all")


# --- visit types ------------------------------------------------------------------------------------------


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD"])
def visit_types(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = VisitTypeFilterForm(request.GET or None)
    rows = (
        selectors.visit_type_queryset(actor)
        .prefetch_related(
            "practitioners",
            Prefetch("requirements", queryset=VisitTypeRequirement.objects.select_related("resource")),
        )
        .order_by("name", "pk")
    )
    status, code = "active", 200
    if form.is_bound and not form.is_valid():
        rows, code = rows.none(), 400
    elif form.is_bound:
        data = form.cleaned_data
        if data.get("modality"):
            rows = rows.filter(modality=data["modality"])
        if data.get("eligibility"):
            rows = rows.filter(eligibility=data["eligibility"])
        status = data.get("status") or "active"
    rows = _with_status(rows, status)
    context = _common("visit_types", form=form, visit_types=list(rows[:LIST_LIMIT]), limit=LIST_LIMIT)
    return render(request, "scheduling/setup/visit_types.html", context, status=code)


def _section_errors(exc: DomainError) -> list[str]:
    """A refusal about a group of rows (requirements, windows): each problem it lists, or its message."""
    problems = exc.details.get("problems") if isinstance(exc.details, dict) else None
    if isinstance(problems, list) and problems:
        return [str(p) for p in problems]
    return [exc.message]


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def visit_type_new(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if request.method != "POST":
        form = VisitTypeForm(actor=actor)
        rows = RequirementFormSet(prefix="req", actor=actor)
        return render(
            request, "scheduling/setup/visit_type_form.html", _common("visit_types", form=form, rows=rows)
        )
    form = VisitTypeForm(request.POST, actor=actor)
    rows = RequirementFormSet(request.POST, prefix="req", actor=actor)
    status, row_errors = 400, []
    if form.is_valid() and rows.is_valid():
        data = form.cleaned_data
        requirements = [r for r in (row.requirement() for row in rows) if r is not None]
        try:
            visit_type = services.create_visit_type(
                actor=actor,
                data=services.VisitTypeInput(
                    name=data["name"],
                    code=data["code"],
                    duration_minutes=data["duration_minutes"],
                    requirements=requirements,
                    practitioner_ids=[p.pk for p in data.get("practitioners") or []],
                    buffer_before_minutes=data["buffer_before_minutes"],
                    buffer_after_minutes=data["buffer_after_minutes"],
                    slot_step_minutes=data["slot_step_minutes"],
                    modality=data["modality"],
                    eligibility=data["eligibility"],
                    min_notice_minutes=data["min_notice_minutes"],
                    max_days_ahead=data["max_days_ahead"],
                    portal_bookable=data.get("portal_bookable", False),
                    portal_cancel_notice_hours=24
                    if data.get("portal_cancel_notice_hours") is None
                    else data["portal_cancel_notice_hours"],
                ),
            )
        except DomainError as exc:
            if exc.field == "requirements":
                status = 400 if isinstance(exc, NotFound) else exc.http_status
                row_errors = _section_errors(exc)
            else:
                status = _refused(form, exc)
        else:
            messages.success(request, f"Visit type {visit_type.name} created.")
            return redirect("scheduling:setup_visit_types")
    context = _common("visit_types", form=form, rows=rows, row_errors=row_errors)
    return render(request, "scheduling/setup/visit_type_form.html", context, status=status)


def _get_visit_type(actor: Actor, visit_type_id: int) -> VisitType:
    found = selectors.visit_type_queryset(actor).filter(pk=visit_type_id).first()
    if found is None:
        raise Http404("No such visit type.")
    return found


@require_permission(MANAGE)
@require_http_methods(["POST"])
def visit_type_active(request: HttpRequest, visit_type_id: int) -> HttpResponse:
    """Withdraw a visit type from booking (active=0) or offer it again (active=1)."""
    actor = request_actor(request)
    _get_visit_type(actor, visit_type_id)
    active = _flag(request)
    if active is None:
        return HttpResponse("Say active=1 or active=0.", status=400, content_type="text/plain")
    visit_type = services.set_visit_type_active(actor=actor, visit_type_id=visit_type_id, active=active)
    if active:
        messages.success(request, f"{visit_type.name} can be booked again.")
    else:
        messages.success(request, f"{visit_type.name} is withdrawn: no new bookings. Booked visits stay.")
    return redirect(f"{reverse('scheduling:setup_visit_types')}?status=all")


# --- weekly templates -------------------------------------------------------------------------------------


@dataclass
class TemplateRow:
    template: AvailabilityTemplate
    window_texts: list[str]
    grid: list[GridRow]
    ended: bool
    end_form: EndTemplateForm


def _templates_page(
    request: HttpRequest,
    actor: Actor,
    *,
    failed: tuple[int, EndTemplateForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    form = TemplateFilterForm(request.GET or None, actor=actor)
    today = _today(actor)
    rows = (
        selectors.template_queryset(actor)
        .select_related("resource", "location")
        .prefetch_related(
            Prefetch(
                "windows",
                queryset=AvailabilityWindow.objects.select_related(
                    "reserved_for", "reserved_for_surgeon"
                ).order_by("weekday", "start_time"),
            )
        )
        .order_by("location__name", "resource__kind", "resource__name", "effective_from", "pk")
    )
    when = "active"
    if form.is_bound and not form.is_valid():
        rows, status = rows.none(), 400
    elif form.is_bound:
        data = form.cleaned_data
        if data.get("location") is not None:
            rows = rows.filter(location=data["location"])
        if data.get("kind"):
            rows = rows.filter(resource__kind=data["kind"])
        if data.get("resource") is not None:
            rows = rows.filter(resource_id=data["resource"])
        when = data.get("status") or "active"
    in_force = Q(effective_until__isnull=True) | Q(effective_until__gte=today)
    if when == "active":
        rows = rows.filter(in_force)
    elif when == "inactive":
        rows = rows.exclude(in_force)
    shown = []
    for template in rows[:LIST_LIMIT]:
        windows = list(template.windows.all())
        ended = template.effective_until is not None and template.effective_until < today
        end_form = (
            failed[1]
            if failed is not None and failed[0] == template.pk
            else EndTemplateForm(initial={"last_day": max(today, template.effective_from)})
        )
        shown.append(TemplateRow(template, window_summaries(windows), week_grid(windows), ended, end_form))
    context = _common("templates", form=form, templates=shown, limit=LIST_LIMIT, today=today)
    return render(request, "scheduling/setup/templates.html", context, status=status)


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD"])
def templates(request: HttpRequest) -> HttpResponse:
    return _templates_page(request, request_actor(request))


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if request.method != "POST":
        initial: dict[str, Any] = {"effective_from": _today(actor)}
        asked = request.GET.get("resource", "")
        if asked.isdigit() and len(asked) < 19:
            initial["resource"] = int(asked)
        form = TemplateForm(initial=initial, actor=actor)
        rows = WindowFormSet(prefix="win", actor=actor)
        return render(
            request, "scheduling/setup/template_form.html", _common("templates", form=form, rows=rows)
        )
    form = TemplateForm(request.POST, actor=actor)
    rows = WindowFormSet(request.POST, prefix="win", actor=actor)
    status: int = 400
    window_errors: list[str] = []
    numbered: list[Any] = []
    if form.is_valid() and rows.is_valid():
        data = form.cleaned_data
        numbered = numbered_windows(rows)
        resource = data["resource"]
        location = data.get("location")
        try:
            template = services.create_availability_template(
                actor=actor,
                data=services.TemplateInput(
                    resource_id=resource.pk,
                    location_id=location.pk if location is not None else resource.location_id,
                    name=data["name"],
                    effective_from=data["effective_from"],
                    effective_until=data.get("effective_until"),
                    windows=[n.window for n in numbered],
                ),
            )
        except DomainError as exc:
            if exc.field == "windows":
                status = exc.http_status
                window_errors = _section_errors(exc)
            else:
                status = _refused(form, exc)
        else:
            messages.success(
                request, f"{template.name} of {resource.name}: {len(numbered)} weekly windows saved."
            )
            return redirect(f"{reverse('scheduling:setup_templates')}?resource={resource.pk}")
    # The legend numbers the windows as the service does, when its message refers to them by number.
    show_legend = any(e.startswith("Window") for e in window_errors)
    context = _common(
        "templates",
        form=form,
        rows=rows,
        window_errors=window_errors,
        numbered=numbered if show_legend else [],
    )
    return render(request, "scheduling/setup/template_form.html", context, status=status)


@require_permission(MANAGE)
@require_http_methods(["POST"])
def template_end(request: HttpRequest, template_id: int) -> HttpResponse:
    """End a template on the day given (its hours are not offered after it)."""
    actor = request_actor(request)
    template = selectors.template_queryset(actor).filter(pk=template_id).first()
    if template is None:
        raise Http404("No such template.")
    form = EndTemplateForm(request.POST)
    if form.is_valid():
        try:
            services.end_availability_template(
                actor=actor, template_id=template_id, last_day=form.cleaned_data["last_day"]
            )
        except DomainError as exc:
            status = _refused(form, exc)
            return _templates_page(request, actor, failed=(template_id, form), status=status)
        messages.success(
            request,
            f"{template.name} of {template.resource} ends on {form.cleaned_data['last_day']:%a %d %b %Y}.",
        )
        return redirect(f"{reverse('scheduling:setup_templates')}?resource={template.resource_id}&status=all")
    return _templates_page(request, actor, failed=(template_id, form), status=400)


# --- exceptions -------------------------------------------------------------------------------------------


@dataclass
class ExceptionRow:
    exception: AvailabilityException
    applies_to: str
    zone_name: str


def _exception_rows(actor: Actor, exceptions: list[AvailabilityException]) -> list[ExceptionRow]:
    first = selectors.location_queryset(actor).order_by("pk").first()
    default_zone = first.timezone if first is not None else "UTC"
    rows = []
    for exception in exceptions:
        if exception.resource is not None:
            site = exception.resource.location
            applies_to = f"{exception.resource.name} ({exception.resource.get_kind_display().lower()})"
        elif exception.location is not None:
            site = exception.location
            applies_to = f"All of {exception.location.name}"
        else:
            site = None
            applies_to = "The whole organization"
        rows.append(ExceptionRow(exception, applies_to, site.timezone if site is not None else default_zone))
    return rows


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD"])
def exceptions(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = ExceptionFilterForm(request.GET or None, actor=actor)
    rows = selectors.exception_queryset(actor).select_related("resource__location", "location")
    when, code = "upcoming", 200
    if form.is_bound and not form.is_valid():
        rows, code = rows.none(), 400
    elif form.is_bound:
        data = form.cleaned_data
        location = data.get("location")
        if location is not None:
            rows = rows.filter(
                Q(location=location)
                | Q(resource__location=location)
                | Q(resource__isnull=True, location__isnull=True)
            )
        if data.get("kind"):
            rows = rows.filter(kind=data["kind"])
        when = data.get("status") or "upcoming"
    now = clock.now()
    if when == "upcoming":
        rows = rows.filter(ends_at__gt=now).order_by("starts_at", "pk")
    elif when == "past":
        rows = rows.filter(ends_at__lte=now).order_by("-starts_at", "-pk")
    else:
        rows = rows.order_by("-starts_at", "-pk")
    context = _common(
        "exceptions", form=form, rows=_exception_rows(actor, list(rows[:LIST_LIMIT])), limit=LIST_LIMIT
    )
    return render(request, "scheduling/setup/exceptions.html", context, status=code)


@require_permission(MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def exception_new(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if request.method != "POST":
        initial: dict[str, Any] = {"start_date": _today(actor), "end_date": _today(actor)}
        asked = request.GET.get("resource", "")
        if asked.isdigit() and len(asked) < 19:
            initial["resource"] = int(asked)
        form = ExceptionForm(initial=initial, actor=actor)
        return render(request, "scheduling/setup/exception_form.html", _common("exceptions", form=form))
    form = ExceptionForm(request.POST, actor=actor)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        applies_to = data["applies_to"]
        resource = data.get("resource") if applies_to == "resource" else None
        location = data.get("location") if applies_to == "location" else None
        try:
            services.add_availability_exception(
                actor=actor,
                kind=data["kind"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                resource_id=resource.pk if resource is not None else None,
                location_id=location.pk if location is not None else None,
                reason=data.get("reason") or "",
            )
        except DomainError as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, "Exception saved: those hours are no longer offered.")
            return redirect("scheduling:setup_exceptions")
    return render(
        request, "scheduling/setup/exception_form.html", _common("exceptions", form=form), status=status
    )


@require_permission(MANAGE)
@require_http_methods(["POST"])
def exception_remove(request: HttpRequest, exception_id: int) -> HttpResponse:
    actor = request_actor(request)
    if not selectors.exception_queryset(actor).filter(pk=exception_id).exists():
        raise Http404("No such exception.")
    services.remove_availability_exception(actor=actor, exception_id=exception_id)
    messages.success(request, "Exception removed: those hours are offered again.")
    return redirect("scheduling:setup_exceptions")

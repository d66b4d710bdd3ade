"""Worklist pages: the worklist (htmx filters, queue counts, bulk assign), a task with its timeline and
its actions, and a form for a task made by hand.

Each view parses with a form, calls one service or selector, and renders. A service's refusal is shown on
the form with its status (400 or 409); a task outside the actor's scope answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.htmx import is_htmx, render_page_or_partial
from caredesk.core.web import refusal_status, request_actor
from caredesk.patients import selectors as patient_selectors

from . import links, selectors, services
from .choices import TaskStatus
from .forms import (
    AssignForm,
    BulkAssignForm,
    CommentForm,
    FilterForm,
    NewTaskForm,
    SnoozeForm,
    StatusForm,
    WorklistForm,
    staff_choices,
)
from .models import Task

WORKLIST_PAGE_SIZE = 50


def _can(actor: Actor) -> dict[str, bool]:
    return {
        "work": actor.has(Permission.TASK_WORK),
        "assign": actor.has(Permission.TASK_ASSIGN),
        "patient": actor.has(Permission.PATIENT_VIEW),
    }


# ---------------------------------------------------------------------------------------------------
# The worklist
# ---------------------------------------------------------------------------------------------------


_ID_SLOT = 2**62  # a placeholder id: its URL is reversed once per page, not once per row


def _url_maker(name: str) -> Callable[[int], str]:
    pattern = reverse(name, args=[_ID_SLOT])
    before, _, after = pattern.partition(str(_ID_SLOT))
    return lambda pk: f"{before}{pk}{after}"


def _link_rows(rows: list[selectors.WorklistRow]) -> None:
    if not rows:
        return
    task_url, chart_url = _url_maker("worklist:task"), _url_maker("patients:chart")
    for row in rows:
        row.url = task_url(row.task.pk)
        if row.task.patient_id is not None:
            row.patient_url = chart_url(row.task.patient_id)


def _worklist_context(actor: Actor, params: QueryDict) -> tuple[dict[str, Any], int]:
    staff = staff_choices(actor)
    form = FilterForm(params, actor=actor, staff=staff)
    context: dict[str, Any] = {"form": form, "result": None, "can": _can(actor)}
    if not form.is_valid():
        return context, 400
    result = selectors.list_tasks(
        actor=actor,
        query=form.to_query(),
        page=form.cleaned_data.get("page") or 1,
        page_size=WORKLIST_PAGE_SIZE,
    )
    _link_rows(result.rows)
    query = params.copy()
    query.pop("page", None)
    for name in ("csrfmiddlewaretoken", "task_ids", "assignee_to"):
        query.pop(name, None)
    context.update(
        result=result,
        base_query=query.urlencode(),
        counts=selectors.queue_counts(actor=actor),
        bulk_form=BulkAssignForm(actor=actor, auto_id="bulk_%s", staff=staff),
    )
    return context, 200


@require_permission(Permission.TASK_VIEW)
@require_http_methods(["GET", "HEAD"])
def worklist(request: HttpRequest) -> HttpResponse:
    context, status = _worklist_context(request_actor(request), request.GET)
    return render_page_or_partial(
        request, "worklist/worklist.html", "worklist/partials/results.html", context, status=status
    )


@require_permission(Permission.TASK_WORK)
@require_http_methods(["POST"])
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign the ticked tasks, then show the worklist again with the filters it was showing."""
    actor = request_actor(request)
    filters = QueryDict(request.POST.get("filters", ""))
    form = BulkAssignForm(request.POST, actor=actor)
    status, notice = 400, ""
    if form.is_valid():
        try:
            outcome = services.bulk_assign(
                actor=actor, task_ids=form.cleaned_data["task_ids"], assignee_id=form.assignee_id()
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
            notice = exc.message
        else:
            status = 200
            notice = f"Assigned {len(outcome.assigned)} task{'s' if len(outcome.assigned) != 1 else ''}."
            if outcome.unchanged:
                notice += f" {len(outcome.unchanged)} already had that assignee."
            if outcome.skipped:
                notice += f" {len(outcome.skipped)} skipped (closed or not yours to assign)."
    else:
        notice = "Tick at least one task, and pick who gets them."
    if not is_htmx(request):
        (messages.success if status == 200 else messages.error)(request, notice)
        url = reverse("worklist:list")
        return redirect(f"{url}?{filters.urlencode()}" if filters else url)
    context, _ = _worklist_context(actor, filters)
    context["notice"], context["notice_ok"] = notice, status == 200
    return render(request, "worklist/partials/results.html", context, status=status)


# ---------------------------------------------------------------------------------------------------
# One task
# ---------------------------------------------------------------------------------------------------


def _source(actor: Actor, task: Task) -> tuple[str, str]:
    """What caused the task, as a label and a link to the page that shows it (links.SOURCE_PAGES)."""
    return links.source_link(actor, task.source_type, task.source_id, task.patient_id)


STATUS_ACTIONS = {
    TaskStatus.IN_PROGRESS: "Start",
    TaskStatus.WAITING: "Waiting",
    TaskStatus.DONE: "Done",
    TaskStatus.CANCELLED: "Cancel",
    TaskStatus.OPEN: "Reopen",
}


def _panel_context(actor: Actor, task_id: int, **forms: WorklistForm) -> dict[str, Any]:
    try:
        detail = selectors.get_task(actor=actor, task_id=task_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    task = detail.task
    version = {"version": task.version}
    return {
        "detail": detail,
        "task": task,
        "can": _can(actor),
        "source": _source(actor, task),
        "is_mine": task.assignee_id is not None and task.assignee_id == actor.user_id,
        "status_actions": [(s, label) for s, label in STATUS_ACTIONS.items() if s in detail.allowed_statuses],
        "status_form": forms.get("status_form") or StatusForm(initial=version),
        "assign_form": forms.get("assign_form")
        or AssignForm(actor=actor, initial={**version, "assignee": task.assignee_id or ""}),
        "snooze_form": forms.get("snooze_form") or SnoozeForm(initial=version),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "time_zone": settings.TIME_ZONE,
    }


def _panel(request: HttpRequest, task_id: int, status: int = 200, **forms: WorklistForm) -> HttpResponse:
    context = _panel_context(request_actor(request), task_id, **forms)
    if status == 200 and not is_htmx(request):
        return redirect("worklist:task", task_id=task_id)
    return render_page_or_partial(
        request, "worklist/task.html", "worklist/partials/task_panel.html", context, status
    )


@require_permission(Permission.TASK_VIEW)
@require_http_methods(["GET", "HEAD"])
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    return render(request, "worklist/task.html", _panel_context(request_actor(request), task_id))


@require_permission(Permission.TASK_WORK)
@require_http_methods(["POST"])
def task_status(request: HttpRequest, task_id: int) -> HttpResponse:
    form = StatusForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.change_status(
                actor=request_actor(request),
                task_id=task_id,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data.get("version"),
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _panel(request, task_id)
    return _panel(request, task_id, status, status_form=form)


@require_permission(Permission.TASK_WORK)
@require_http_methods(["POST"])
def task_assign(request: HttpRequest, task_id: int) -> HttpResponse:
    actor = request_actor(request)
    form = AssignForm(request.POST, actor=actor)
    status = 400
    if form.is_valid():
        try:
            services.assign_task(
                actor=actor,
                task_id=task_id,
                assignee_id=form.assignee_id(),
                expected_version=form.cleaned_data.get("version"),
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _panel(request, task_id)
    return _panel(request, task_id, status, assign_form=form)


@require_permission(Permission.TASK_WORK)
@require_http_methods(["POST"])
def task_snooze(request: HttpRequest, task_id: int) -> HttpResponse:
    form = SnoozeForm(request.POST)
    status = 400
    if form.is_valid():
        until = None if form.cleaned_data.get("wake") else form.cleaned_data["until"]
        try:
            services.snooze_task(
                actor=request_actor(request),
                task_id=task_id,
                until=until,
                expected_version=form.cleaned_data.get("version"),
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _panel(request, task_id)
    return _panel(request, task_id, status, snooze_form=form)


@require_permission(Permission.TASK_WORK)
@require_http_methods(["POST"])
def task_comment(request: HttpRequest, task_id: int) -> HttpResponse:
    form = CommentForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.add_comment(
                actor=request_actor(request),
                task_id=task_id,
                body=form.cleaned_data["body"],
                kind=form.cleaned_data["kind"],
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _panel(request, task_id)
    return _panel(request, task_id, status, comment_form=form)


# ---------------------------------------------------------------------------------------------------
# A task made by hand
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.TASK_WORK)
@require_http_methods(["GET", "HEAD", "POST"])
def new_task(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = NewTaskForm(request.POST or None, actor=actor)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                patient_id = None
                mrn = form.cleaned_data["patient_mrn"].strip()
                if mrn:
                    patient_id = patient_selectors.get_patient_by_mrn(actor=actor, mrn=mrn).pk
                created = services.create_task(
                    actor=actor,
                    data=services.NewTask(
                        title=form.cleaned_data["title"],
                        description=form.cleaned_data["description"],
                        task_type=form.cleaned_data["task_type"],
                        queue=form.cleaned_data["queue"],
                        priority=form.cleaned_data["priority"],
                        due_at=form.cleaned_data.get("due_at"),
                        patient_id=patient_id,
                        assignee_id=form.assignee_id(),
                    ),
                )
            except NotFound as exc:
                form.add_error("patient_mrn", exc.message)
                status = 400
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                messages.success(request, "Task added to the worklist.")
                return redirect("worklist:task", task_id=created.task.pk)
    return render(request, "worklist/new.html", {"form": form}, status=status)


CHART_PANEL_TASKS = 5  # open tasks the chart's panel lists


@require_permission(Permission.TASK_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_panel(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The chart's open-tasks panel (htmx): the patient's active tasks in every queue, most pressing first,
    overdue ones marked (the worklist's own query, audited as a task search)."""
    actor = request_actor(request)
    try:
        result = selectors.list_tasks(
            actor=actor,
            query=selectors.WorklistQuery(patient_id=patient_id, include_snoozed=True),
            page_size=CHART_PANEL_TASKS,
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    _link_rows(result.rows)
    return render(
        request,
        "worklist/partials/patient_panel.html",
        {"rows": result.rows, "more": result.has_next},
    )

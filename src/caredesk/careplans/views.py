"""Care-plan pages: a patient's plans (goals with status, activities with due dates, CCM this month), the
htmx edit forms, the patient copy as PDF, the CCM month summary (inline SVG bars) and its CSV, and the
portal's own plans. Each view parses with a form, calls one service or selector, and renders; a refusal is
shown on the form with its status (400/409), a record outside the actor's scope answers 404."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.htmx import is_htmx
from caredesk.core.text import spreadsheet_cell
from caredesk.core.web import refusal_status, request_actor

from . import pdf, rules, selectors, services
from .forms import (
    ActivityForm,
    CancelForm,
    CareplanForm,
    ClosePlanForm,
    ConsentForm,
    DoneForm,
    GoalForm,
    MonthForm,
    NewActivityForm,
    NewGoalForm,
    NewPlanForm,
    RevokeConsentForm,
    TeamMemberForm,
    TimeEntryForm,
)
from .models import Activity, Goal

CHART_WIDTH = 360  # pixels of the longest bar of the CCM chart


def _done(request: HttpRequest, patient_id: int) -> HttpResponse:
    """After a change: back to the patient's plans (htmx follows HX-Redirect)."""
    url = reverse("careplans:patient", args=[patient_id])
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _plans(actor: Actor, patient_id: int) -> selectors.PatientPlans:
    try:
        return selectors.patient_plans(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# --- a patient's plans ---------------------------------------------------------------------------------


def _page(request: HttpRequest, patient_id: int, status: int = 200, **forms: Any) -> HttpResponse:
    actor = request_actor(request)
    plans = _plans(actor, patient_id)
    today = plans.today
    activity_forms: dict[int, NewActivityForm] = forms.get("activity_forms") or {}
    close_forms: dict[int, ClosePlanForm] = forms.get("close_forms") or {}
    goal_forms: dict[int, NewGoalForm] = forms.get("goal_forms") or {}
    team_forms: dict[int, TeamMemberForm] = forms.get("team_forms") or {}
    can_manage = actor.has(Permission.CAREPLAN_MANAGE)
    users, practitioners = selectors.team_choices(actor=actor) if can_manage else ([], [])
    plan_rows = [
        (
            view,
            activity_forms.get(view.plan.pk)
            or NewActivityForm(prefix=f"a{view.plan.pk}", initial={"due_on": today}),
            close_forms.get(view.plan.pk) or ClosePlanForm(prefix=f"c{view.plan.pk}"),
            goal_forms.get(view.plan.pk) or NewGoalForm(prefix=f"g{view.plan.pk}"),
            team_forms.get(view.plan.pk)
            or TeamMemberForm(prefix=f"t{view.plan.pk}", users=users, practitioners=practitioners),
        )
        for view in plans.plans
    ]
    context: dict[str, Any] = {
        "data": plans,
        "plan_rows": plan_rows,
        "patient": plans.patient,
        "can_manage": can_manage,
        "can_log": actor.has(Permission.CCM_LOG),
        "new_form": forms.get("new_form") or NewPlanForm(),
        "consent_form": forms.get("consent_form") or ConsentForm(initial={"consented_on": today}),
        "revoke_form": forms.get("revoke_form") or RevokeConsentForm(initial={"revoked_on": today}),
        "time_form": forms.get("time_form")
        or TimeEntryForm(
            practitioners=selectors.billing_practitioners(actor=actor),
            initial={
                "performed_on": today,
                "billing_practitioner": plans.ccm.billing_practitioner_id if plans.ccm else None,
            },
        ),
    }
    return render(request, "careplans/patient.html", context, status=status)


@require_permission(Permission.CAREPLAN_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_plans(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _page(request, patient_id)


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def new_plan(request: HttpRequest, patient_id: int) -> HttpResponse:
    form = NewPlanForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.create_plan(
                actor=request_actor(request),
                patient_id=patient_id,
                template_code=form.cleaned_data["template"],
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, patient_id)
    return _page(request, patient_id, status, new_form=form)


@require_permission(Permission.CCM_LOG)
@require_http_methods(["POST"])
def record_consent(request: HttpRequest, patient_id: int) -> HttpResponse:
    form = ConsentForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.record_consent(actor=request_actor(request), patient_id=patient_id, **form.cleaned_data)
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, patient_id)
    return _page(request, patient_id, status, consent_form=form)


@require_permission(Permission.CCM_LOG)
@require_http_methods(["POST"])
def revoke_consent(request: HttpRequest, patient_id: int) -> HttpResponse:
    form = RevokeConsentForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.revoke_consent(actor=request_actor(request), patient_id=patient_id, **form.cleaned_data)
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, patient_id)
    return _page(request, patient_id, status, revoke_form=form)


@require_permission(Permission.CCM_LOG)
@require_http_methods(["POST"])
def log_time(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    form = TimeEntryForm(request.POST, practitioners=selectors.billing_practitioners(actor=actor))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.log_ccm_time(
                actor=actor,
                patient_id=patient_id,
                performed_on=data["performed_on"],
                minutes=data["minutes"],
                activity=data["activity"],
                billing_practitioner_id=data["billing_practitioner"],
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, patient_id)
    return _page(request, patient_id, status, time_form=form)


def _plan_patient(actor: Actor, plan_id: int) -> int:
    """The patient of a plan in the actor's scope (404 otherwise)."""
    found = (
        selectors.plan_queryset(actor)
        .filter(pk=selectors.parse_id(plan_id) or 0)
        .values_list("patient_id", flat=True)
    )
    patient_id = found.first()
    if patient_id is None or actor.is_portal:
        raise Http404("No such care plan.")
    return int(patient_id)


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def add_activity(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = request_actor(request)
    patient_id = _plan_patient(actor, plan_id)
    form = NewActivityForm(request.POST, prefix=f"a{plan_id}")
    status = 400
    if form.is_valid():
        try:
            services.add_activity(actor=actor, plan_id=plan_id, **form.cleaned_data)
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, patient_id)
    return _page(request, patient_id, status, activity_forms={int(plan_id): form})


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def close_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = request_actor(request)
    patient_id = _plan_patient(actor, plan_id)
    form = ClosePlanForm(request.POST, prefix=f"c{plan_id}")
    status = 400
    if form.is_valid():
        try:
            services.close_plan(actor=actor, plan_id=plan_id, **form.cleaned_data)
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, patient_id)
    return _page(request, patient_id, status, close_forms={int(plan_id): form})


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def add_goal(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = request_actor(request)
    patient_id = _plan_patient(actor, plan_id)
    form = NewGoalForm(request.POST, prefix=f"g{plan_id}")
    status = 400
    if form.is_valid():
        try:
            services.add_goal(actor=actor, plan_id=plan_id, **form.cleaned_data)
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, patient_id)
    return _page(request, patient_id, status, goal_forms={int(plan_id): form})


def _team_form(actor: Actor, plan_id: int, data: Any = None) -> TeamMemberForm:
    users, practitioners = selectors.team_choices(actor=actor)
    return TeamMemberForm(data, prefix=f"t{plan_id}", users=users, practitioners=practitioners)


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def add_team_member(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = request_actor(request)
    patient_id = _plan_patient(actor, plan_id)
    form = _team_form(actor, plan_id, request.POST)
    status = 400
    if form.is_valid():
        try:
            services.add_team_member(actor=actor, plan_id=plan_id, **form.cleaned_data)
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, patient_id)
    return _page(request, patient_id, status, team_forms={int(plan_id): form})


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def remove_team_member(request: HttpRequest, team_member_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        plan_id, patient_id = selectors.plan_of_team_member(actor=actor, member_id=team_member_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        services.remove_team_member(actor=actor, member_id=team_member_id)
    except DomainError as exc:
        form = _team_form(actor, plan_id)
        return _page(request, patient_id, refusal_status(form, exc), team_forms={plan_id: form})
    return _done(request, patient_id)


# --- goals and activities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ItemKind:
    """What editing and cancelling a goal or an activity differ in: how it is loaded for the actor, its
    form and template, and the services that change it."""

    name: str  # the context name: "goal" or "activity"
    load: Callable[[Actor, int], Goal | Activity]
    form: type[CareplanForm]
    template: str
    initial: Callable[[Any], dict[str, Any]]
    update: Callable[..., object]
    cancel: Callable[[Actor, int, str], object]


def _edit(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    page = template if is_htmx(request) else "careplans/edit.html"
    item = context.get("goal") or context.get("activity")
    plan = getattr(item, "plan", None)
    return render(request, page, {**context, "partial": template, "plan": plan}, status=status)


def _item_page(
    request: HttpRequest,
    kind: _ItemKind,
    item: Goal | Activity,
    form: forms.Form,
    cancel_form: forms.Form,
    status: int = 200,
) -> HttpResponse:
    context = {kind.name: item, "form": form, "cancel_form": cancel_form}
    return _edit(request, kind.template, context, status)


def _goal_initial(goal: Goal) -> dict[str, Any]:
    """The goal's editable values, for the edit form."""
    return {
        "description": goal.description,
        "comparator": goal.comparator,
        "target": goal.target,
        "stale_after_days": goal.stale_after_days,
        "due_on": goal.due_on,
    }


def _activity_initial(activity: Activity) -> dict[str, Any]:
    """The activity's editable values, for the edit form."""
    return {
        "description": activity.description,
        "every_months": activity.every_months,
        "due_on": activity.due_on,
    }


GOAL = _ItemKind(
    name="goal",
    load=lambda actor, pk: selectors.goal_for_edit(actor=actor, goal_id=pk),
    form=GoalForm,
    template="careplans/partials/goal_form.html",
    initial=_goal_initial,
    update=lambda actor, pk, **values: services.update_goal(actor=actor, goal_id=pk, **values),
    cancel=lambda actor, pk, reason: services.cancel_goal(actor=actor, goal_id=pk, reason=reason),
)
ACTIVITY = _ItemKind(
    name="activity",
    load=lambda actor, pk: selectors.activity_for_edit(actor=actor, activity_id=pk),
    form=ActivityForm,
    template="careplans/partials/activity_form.html",
    initial=_activity_initial,
    update=lambda actor, pk, **values: services.update_activity(actor=actor, activity_id=pk, **values),
    cancel=lambda actor, pk, reason: services.cancel_activity(actor=actor, activity_id=pk, reason=reason),
)


def _load(actor: Actor, kind: _ItemKind, item_id: int) -> Goal | Activity:
    try:
        return kind.load(actor, item_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _edit_item(request: HttpRequest, kind: _ItemKind, item_id: int) -> HttpResponse:
    """GET: the item's edit form (with its cancel form); POST: save it through its service."""
    actor = request_actor(request)
    item = _load(actor, kind, item_id)
    if request.method != "POST":
        return _item_page(
            request, kind, item, kind.form(initial=kind.initial(item)), CancelForm(prefix="cancel")
        )
    form = kind.form(request.POST)
    status = 400
    if form.is_valid():
        try:
            kind.update(actor, item.pk, **form.cleaned_data)
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, item.plan.patient_id)
    return _item_page(request, kind, item, form, CancelForm(prefix="cancel"), status)


def _cancel_item(request: HttpRequest, kind: _ItemKind, item_id: int) -> HttpResponse:
    """Cancel the item with a reason; a refusal shows on the edit page's cancel form."""
    actor = request_actor(request)
    item = _load(actor, kind, item_id)
    form = CancelForm(request.POST, prefix="cancel")
    status = 400
    if form.is_valid():
        try:
            kind.cancel(actor, item.pk, form.cleaned_data["reason"])
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, item.plan.patient_id)
    return _item_page(request, kind, item, kind.form(initial=kind.initial(item)), form, status)


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def edit_goal(request: HttpRequest, goal_id: int) -> HttpResponse:
    return _edit_item(request, GOAL, goal_id)


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def cancel_goal(request: HttpRequest, goal_id: int) -> HttpResponse:
    return _cancel_item(request, GOAL, goal_id)


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def edit_activity(request: HttpRequest, activity_id: int) -> HttpResponse:
    return _edit_item(request, ACTIVITY, activity_id)


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def cancel_activity(request: HttpRequest, activity_id: int) -> HttpResponse:
    return _cancel_item(request, ACTIVITY, activity_id)


@require_permission(Permission.CAREPLAN_MANAGE)
@require_http_methods(["POST"])
def activity_done(request: HttpRequest, activity_id: int) -> HttpResponse:
    actor = request_actor(request)
    form = DoneForm(request.POST)
    status = 400
    try:
        activity = selectors.activity_for_edit(actor=actor, activity_id=activity_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if form.is_valid():
        try:
            services.complete_activity(
                actor=actor, activity_id=activity.pk, done_on=form.cleaned_data.get("done_on")
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            return _done(request, activity.plan.patient_id)
    return _edit(request, "careplans/partials/done_form.html", {"form": form, "activity": activity}, status)


# --- the patient copy ----------------------------------------------------------------------------------


def _pdf(request: HttpRequest, plan_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        plans, view = selectors.get_plan(actor=actor, plan_id=plan_id, print_copy=True)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    patient = plans.patient
    content = pdf.render_plan(
        plan=view,
        patient_name=patient.preferred_name or patient.full_name,
        organization=str(getattr(request.user, "organization", "") or ""),
        today=plans.today,
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="care-plan-{view.plan.pk}.pdf"'
    return response


@require_permission(Permission.CAREPLAN_VIEW)
@require_http_methods(["GET", "HEAD"])
def plan_pdf(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _pdf(request, plan_id)


@require_permission(Permission.PORTAL_OWN_RECORD)
@require_http_methods(["GET", "HEAD"])
def my_plans(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if actor.patient_id is None:
        raise Http404("No patient record is linked to this account.")
    plans = _plans(actor, actor.patient_id)
    return render(request, "careplans/portal.html", {"data": plans, "patient": plans.patient})


@require_permission(Permission.PORTAL_OWN_RECORD)
@require_http_methods(["GET", "HEAD"])
def my_plan_pdf(request: HttpRequest, plan_id: int) -> HttpResponse:
    return _pdf(request, plan_id)


# --- the CCM month summary -------------------------------------------------------------------------------


def _month(request: HttpRequest) -> dt.date | None:
    form = MonthForm(request.GET)
    if not form.is_valid():
        raise Http404("Give the month as YYYY-MM.")
    month: dt.date | None = form.cleaned_data.get("month")
    return month


@require_permission(Permission.CCM_REPORT)
@require_http_methods(["GET", "HEAD"])
def ccm_summary(request: HttpRequest) -> HttpResponse:
    summary = selectors.ccm_summary(actor=request_actor(request), month=_month(request))
    largest = summary.largest
    bars = [
        {
            "row": row,
            "y": 8 + i * 22,
            "width": rules.bar_width(row.minutes, largest, CHART_WIDTH),
            "met": row.billing.base,
        }
        for i, row in enumerate(summary.rows)
    ]
    threshold_x = 160 + rules.bar_width(rules.CCM_BASE_MINUTES, largest, CHART_WIDTH)
    return render(
        request,
        "careplans/ccm_summary.html",
        {
            "summary": summary,
            "bars": bars,
            "chart_height": 16 + 22 * len(bars),
            "threshold_x": threshold_x,
            "previous": rules.add_months(summary.month, -1),
            "next": rules.add_months(summary.month, 1),
            "this_month": rules.month_start(timezone.localdate()),
        },
    )


@require_permission(Permission.CCM_REPORT)
@require_http_methods(["GET", "HEAD"])
def ccm_export(request: HttpRequest) -> HttpResponse:
    summary = selectors.ccm_summary(actor=request_actor(request), month=_month(request), export=True)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ccm-{summary.month:%Y-%m}.csv"'
    writer = csv.writer(response)
    writer.writerow(["month", "mrn", "patient", "minutes", "99490", "99439_units", "billing_practitioner"])
    for row in summary.rows:
        writer.writerow(
            [
                f"{summary.month:%Y-%m}",
                row.mrn,
                spreadsheet_cell(row.name),
                row.minutes,
                1 if row.billing.base else 0,
                row.billing.add_on_units,
                spreadsheet_cell(row.billing_practitioner),
            ]
        )
    return response

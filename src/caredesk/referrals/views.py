"""Referral pages: the list (filters: status, specialty, overdue; tabs: all, outbound, inbound), a
patient's referrals, the new-referral form, the form that registers an inbound referral, a referral with
its timeline and the buttons of its next steps, the receiver directory, and the
loop-closure report (SVG chart drawn here, CSV export).

Each view parses with a form, calls one service or selector, and renders. A service's refusal is shown on
the form with its status (400 or 409); a record outside the actor's scope answers 404.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.htmx import render_page_or_partial
from caredesk.core.text import spreadsheet_cell
from caredesk.core.web import refusal_status, request_actor
from caredesk.patients import selectors as patient_selectors
from caredesk.practitioners import selectors as practitioner_selectors

from . import rules, selectors, services
from .choices import ReferralAction, ReferralDirection, ReferralStatus
from .forms import ActionForm, FilterForm, InboundReferralForm, NewReferralForm, ReceiverForm, ReportForm

PAGE_SIZE = 50
BAR_WIDTH = 360
BAR_ROW = 26
#: The buttons of each step, their style, and what the small form beside them asks for.
ACTION_STYLE: dict[str, str] = {
    ReferralAction.SEND: "btn-primary",
    ReferralAction.RECEIVE: "btn-outline-primary",
    ReferralAction.ACCEPT: "btn-success",
    ReferralAction.DECLINE: "btn-outline-danger",
    ReferralAction.REROUTE: "btn-primary",
    ReferralAction.SCHEDULE: "btn-primary",
    ReferralAction.SEEN: "btn-primary",
    ReferralAction.CLOSE: "btn-success",
    ReferralAction.CANCEL: "btn-outline-secondary",
}


def _receivers(actor: Actor) -> list[Any]:
    return list(selectors.receiver_queryset(actor).filter(active=True))


# ---------------------------------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------------------------------


def _list_context(request: HttpRequest, patient_id: int | None = None) -> tuple[dict[str, Any], int]:
    actor = request_actor(request)
    form = FilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "page": None}
    if not form.is_valid():
        return context, 400
    context["page"] = selectors.list_referrals(
        actor=actor,
        query=form.to_query(patient_id),
        overrides=services.step_overrides(),
        page=form.cleaned_data.get("page") or 1,
        page_size=PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("page", None)
    context["base_query"] = query.urlencode()
    context["can_create"] = actor.has(Permission.REFERRAL_CREATE)
    context["direction"] = form.cleaned_data.get("direction") or ""
    context["tabs"] = [("", "All"), *ReferralDirection.choices]
    return context, 200


@require_permission(Permission.REFERRAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def referral_list(request: HttpRequest) -> HttpResponse:
    context, status = _list_context(request)
    return render_page_or_partial(
        request, "referrals/list.html", "referrals/partials/results.html", context, status=status
    )


@require_permission(Permission.REFERRAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_referrals(request: HttpRequest, patient_id: int) -> HttpResponse:
    try:
        patient = patient_selectors.get_patient(
            actor=request_actor(request), patient_id=patient_id, action="referrals"
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context, status = _list_context(request, patient.pk)
    context["patient"] = patient
    return render_page_or_partial(
        request, "referrals/list.html", "referrals/partials/results.html", context, status=status
    )


# ---------------------------------------------------------------------------------------------------
# A new referral
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.REFERRAL_CREATE)
@require_http_methods(["GET", "HEAD", "POST"])
def new_referral(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        chart = patient_selectors.get_chart(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    documents = [(d.pk, d.title) for d in chart.documents]
    form = NewReferralForm(request.POST or None, receivers=_receivers(actor), documents=documents)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                referral = services.create_referral(
                    actor=actor,
                    data=services.NewReferral(
                        patient_id=chart.patient.pk,
                        specialty=data["specialty"],
                        receiver_id=int(data["receiver"]) if data["receiver"] else None,
                        reason=data["reason"],
                        urgency=data["urgency"],
                        diagnoses=data["diagnoses"],
                        document_ids=[int(pk) for pk in data["documents"]],
                        include_chart_summary=data["include_chart_summary"],
                        authorization_required=data["authorization_required"],
                        authorization_number=data["authorization_number"],
                    ),
                    send="send" in request.POST,
                )
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                sent = referral.status == ReferralStatus.SENT
                messages.success(request, "Referral sent." if sent else "Referral saved as a draft.")
                return redirect("referrals:referral", referral_id=referral.pk)
    return render(request, "referrals/new.html", {"form": form, "patient": chart.patient}, status=status)


@require_permission(Permission.REFERRAL_CREATE)
@require_http_methods(["GET", "HEAD", "POST"])
def new_inbound_referral(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Register a referral another practice sent us about this patient (it goes on the intake queue)."""
    actor = request_actor(request)
    try:
        chart = patient_selectors.get_chart(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    practitioners = [
        (p.pk, f"{p.family_name}, {p.given_name}{f' {p.credentials}' if p.credentials else ''}")
        for p in practitioner_selectors.practitioner_queryset(actor)
        .filter(active=True)
        .order_by("family_name", "given_name", "pk")
    ]
    documents = [(d.pk, d.title) for d in chart.documents]
    form = InboundReferralForm(request.POST or None, practitioners=practitioners, documents=documents)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                referral = services.register_inbound_referral(
                    actor=actor,
                    data=services.NewInboundReferral(
                        patient_id=chart.patient.pk,
                        specialty=data["specialty"],
                        reason=data["reason"],
                        referrer_name=data["referrer_name"],
                        referrer_kind=data["referrer_kind"],
                        referrer_npi=data["referrer_npi"],
                        referrer_phone=data["referrer_phone"],
                        referrer_fax=data["referrer_fax"],
                        received_at=form.received(),
                        practitioner_id=int(data["practitioner"]) if data["practitioner"] else None,
                        urgency=data["urgency"],
                        diagnoses=data["diagnoses"],
                        document_ids=[int(pk) for pk in data["documents"]],
                    ),
                )
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                messages.success(request, "Inbound referral registered: it waits in the intake queue.")
                return redirect("referrals:referral", referral_id=referral.pk)
    return render(
        request, "referrals/new_inbound.html", {"form": form, "patient": chart.patient}, status=status
    )


# ---------------------------------------------------------------------------------------------------
# One referral
# ---------------------------------------------------------------------------------------------------


def _detail_context(actor: Actor, referral_id: int, form: ActionForm | None = None) -> dict[str, Any]:
    try:
        detail = selectors.get_referral(
            actor=actor, referral_id=referral_id, overrides=services.step_overrides()
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    referral = detail.referral
    receivers = [r for r in _receivers(actor) if r.pk != referral.receiver_id]
    actions = [
        (action, rules.action_label(action, referral.direction), ACTION_STYLE[action])
        for action in detail.actions
        if actor.has(services.permission_for(action, referral.status))
    ]
    appointments: list[tuple[int, str]] = []
    if ReferralAction.SCHEDULE in detail.actions:
        appointments = selectors.upcoming_appointments(actor=actor, patient_id=referral.patient_id)
    if form is not None:
        form.set_appointments(appointments)
    chart = None
    if referral.include_chart_summary and actor.has(Permission.CLINICAL_VIEW):
        chart = patient_selectors.get_chart(actor=actor, patient_id=referral.patient_id)
    return {
        "detail": detail,
        "referral": referral,
        "actions": actions,
        "form": form
        or ActionForm(receivers=receivers, appointments=appointments, initial={"version": referral.version}),
        "appointments": appointments,
        "chart": chart,
        "can_log": actor.has(Permission.COMMUNICATION_LOG),
        "can_view_log": actor.has(Permission.COMMUNICATION_VIEW),
        "can_open_tasks": actor.has(Permission.TASK_VIEW),
    }


@require_permission(Permission.REFERRAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def referral_detail(request: HttpRequest, referral_id: int) -> HttpResponse:
    return render(request, "referrals/detail.html", _detail_context(request_actor(request), referral_id))


@require_permission(Permission.REFERRAL_VIEW)
@require_http_methods(["POST"])
def referral_action(request: HttpRequest, referral_id: int) -> HttpResponse:
    """One step of the loop; the service checks the permission the step needs (403 without it)."""
    actor = request_actor(request)
    form = ActionForm(request.POST, request.FILES, receivers=_receivers(actor))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = services.act(
                actor=actor,
                referral_id=referral_id,
                action=data["action"],
                note=data["note"],
                receiver_id=data["receiver"] or None,
                appointment_at=form.appointment(),
                expected_version=data.get("version"),
                appointment_id=data.get("booked_appointment"),
                consult_document=data.get("consult_document"),
                occurred_at=form.occurred(),
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            messages.success(request, f"{rules.action_label(data['action'], moved.direction)}: done.")
            return redirect("referrals:referral", referral_id=referral_id)
    context = _detail_context(actor, referral_id, form)
    return render(request, "referrals/detail.html", context, status=status)


# ---------------------------------------------------------------------------------------------------
# Receivers
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.REFERRAL_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def receivers(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = ReceiverForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                receiver = services.add_receiver(
                    actor=actor, data=services.ReceiverInput(**form.cleaned_data)
                )
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                messages.success(request, f"{receiver.name} added to the directory.")
                return redirect("referrals:receivers")
    rows = list(selectors.receiver_queryset(actor))
    return render(request, "referrals/receivers.html", {"form": form, "receivers": rows}, status=status)


# ---------------------------------------------------------------------------------------------------
# The loop-closure report
# ---------------------------------------------------------------------------------------------------


def _report(request: HttpRequest) -> tuple[ReportForm, selectors.Report | None]:
    form = ReportForm(request.GET)
    if not form.is_valid():
        return form, None
    since, until = form.period(timezone.localdate())
    direction = form.chosen_direction()
    # The period and direction used, defaults filled in.
    shown = ReportForm(initial={"since": since, "until": until, "direction": direction})
    return shown, selectors.loop_report(
        actor=request_actor(request), since=since, until=until, direction=direction
    )


@require_permission(Permission.REFERRAL_MANAGE)
@require_http_methods(["GET", "HEAD"])
def report(request: HttpRequest) -> HttpResponse:
    form, found = _report(request)
    context: dict[str, Any] = {"form": form, "report": found, "bar_width": BAR_WIDTH, "row": BAR_ROW}
    if found is not None:
        inbound = found.direction == ReferralDirection.INBOUND
        context["inbound"] = inbound
        by_party = ("referrer", found.by_referrer) if inbound else ("receiver", found.by_receiver)
        for name, groups in (("specialty", found.by_specialty), by_party):
            context[f"{name}_bars"] = rules.closure_bars(groups, width=BAR_WIDTH, row=BAR_ROW)
            context[f"{name}_height"] = max(len(groups), 1) * BAR_ROW
        context["csv_query"] = request.GET.urlencode()
    return render(request, "referrals/report.html", context, status=200 if found else 400)


@require_permission(Permission.REFERRAL_MANAGE)
@require_http_methods(["GET", "HEAD"])
def report_csv(request: HttpRequest) -> HttpResponse:
    form, found = _report(request)
    if found is None:
        return HttpResponse("; ".join(str(e) for errors in form.errors.values() for e in errors), status=400)
    inbound = found.direction == ReferralDirection.INBOUND
    period = f"{found.since.isoformat()}-{found.until.isoformat()}"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="referral-loop-inbound-{period}.csv"'
        if inbound
        else f'attachment; filename="referral-loop-{period}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        [
            "group",
            "name",
            "received" if inbound else "sent",
            "loop_closed",
            "closure_rate",
            "declined" if inbound else "declined_open",
            "cancelled",
            *[f"median_days {step}" for step in found.steps],
        ]
    )
    for group, rows in (
        ("all", [found.total]),
        ("specialty", found.by_specialty),
        ("referrer", found.by_referrer) if inbound else ("receiver", found.by_receiver),
    ):
        for stats in rows:
            medians = ["" if stats.medians.get(step) is None else stats.medians[step] for step in found.steps]
            writer.writerow(
                [
                    group,
                    spreadsheet_cell(stats.key),
                    stats.sent,
                    stats.closed,
                    f"{stats.closure_rate:.3f}",
                    stats.declined_open,
                    stats.cancelled,
                    *medians,
                ]
            )
    return response

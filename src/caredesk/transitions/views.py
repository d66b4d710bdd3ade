"""Transitions pages: encounters from the ADT feed (and linking an unmatched one to a patient), the TCM
compliance report, a discharge's TCM complexity, and the inbound HL7 message log.

Each view parses with a form, calls one service or selector, and renders; something outside the actor's
organization answers 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.errors import DomainError, Forbidden, NotFound
from caredesk.core.htmx import render_page_or_partial
from caredesk.core.web import refusal_status, request_actor
from caredesk.patients import selectors as patient_selectors

from . import clock, selectors, services
from .forms import (
    ComplexityForm,
    EncounterFilterForm,
    LinkForm,
    MessageFilterForm,
    TcmReportForm,
    TransitionsForm,
)

PAGE_SIZE = 50




def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# ---------------------------------------------------------------------------------------------------
# Encounters
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.ENCOUNTER_VIEW)
@require_http_methods(["GET", "HEAD"])
def encounters(request: HttpRequest) -> HttpResponse:
    form = EncounterFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "result": None}
    status = 400
    if form.is_valid():
        status = 200
        context["result"] = selectors.list_encounters(
            actor=request_actor(request),
            status=form.cleaned_data["status"] or "",
            unmatched_only=form.cleaned_data["unmatched"],
            page=form.cleaned_data.get("page") or 1,
            page_size=PAGE_SIZE,
        )
        context["base_query"] = _query_without_page(request)
    return render_page_or_partial(
        request, "transitions/encounters.html", "transitions/partials/encounter_list.html", context, status
    )


def _encounter_page(
    request: HttpRequest, encounter_id: int, status: int = 200, **forms: TransitionsForm
) -> HttpResponse:
    actor = request_actor(request)
    try:
        detail = selectors.get_encounter(actor=actor, encounter_id=encounter_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "detail": detail,
        "encounter": detail.encounter,
        "can_manage": actor.has(Permission.ENCOUNTER_MANAGE),
        "can_register": actor.has(Permission.PATIENT_CREATE),
        "can_see_messages": actor.has(Permission.INTERFACE_MESSAGE_VIEW),
        "link_form": forms.get("link_form") or LinkForm(),
    }
    return render(request, "transitions/encounter.html", context, status=status)


@require_permission(Permission.ENCOUNTER_VIEW)
@require_http_methods(["GET", "HEAD"])
def encounter(request: HttpRequest, encounter_id: int) -> HttpResponse:
    return _encounter_page(request, encounter_id)


@require_permission(Permission.ENCOUNTER_MANAGE)
@require_http_methods(["POST"])
def link_patient(request: HttpRequest, encounter_id: int) -> HttpResponse:
    actor = request_actor(request)
    form = LinkForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            patient = patient_selectors.get_patient_by_mrn(actor=actor, mrn=form.cleaned_data["patient"])
            services.link_encounter_patient(actor=actor, encounter_id=encounter_id, patient_id=patient.pk)
        except NotFound as exc:
            if exc.code != "patient_not_found":
                raise Http404(exc.message) from exc
            form.add_error("patient", exc.message)
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            messages.success(request, f"Linked to {patient.full_name} ({patient.mrn}).")
            return redirect("transitions:encounter", encounter_id=encounter_id)
    return _encounter_page(request, encounter_id, status, link_form=form)


@require_permission(Permission.ENCOUNTER_MANAGE)
@require_http_methods(["POST"])
def tcm_complexity(request: HttpRequest, episode_id: int) -> HttpResponse:
    """Change a discharge's TCM complexity; the answer is the encounter page, with a message either way."""
    actor = request_actor(request)
    try:
        encounter_id = selectors.episode_encounter_id(actor=actor, episode_id=episode_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = ComplexityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick high or moderate complexity.")
        return redirect("transitions:encounter", encounter_id=encounter_id)
    try:
        episode = services.set_tcm_complexity(
            actor=actor, episode_id=episode_id, complexity=form.cleaned_data["complexity"]
        )
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, f"TCM visit now due {episode.visit_due:%a %Y-%m-%d}.")
    return redirect("transitions:encounter", encounter_id=encounter_id)


# ---------------------------------------------------------------------------------------------------
# The TCM compliance report
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.ENCOUNTER_VIEW)
@require_http_methods(["GET", "HEAD"])
def tcm_report(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    zone = selectors.organization_zone(actor.organization_id)
    form = TcmReportForm(request.GET, today=clock.now().astimezone(zone).date())
    context: dict[str, Any] = {"form": form, "report": None}
    if not form.is_valid():
        return render(request, "transitions/tcm_report.html", context, status=400)
    context["report"] = selectors.tcm_compliance(
        actor=actor,
        discharged_from=form.cleaned_data["discharged_from"],
        discharged_to=form.cleaned_data["discharged_to"],
        include_cancelled=form.cleaned_data["include_cancelled"],
    )
    return render(request, "transitions/tcm_report.html", context)


# ---------------------------------------------------------------------------------------------------
# The inbound message log
# ---------------------------------------------------------------------------------------------------


@require_permission(Permission.INTERFACE_MESSAGE_VIEW)
@require_http_methods(["GET", "HEAD"])
def message_log(request: HttpRequest) -> HttpResponse:
    form = MessageFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "result": None}
    status = 400
    if form.is_valid():
        status = 200
        context["result"] = selectors.list_messages(
            actor=request_actor(request),
            status=form.cleaned_data["status"] or "",
            page=form.cleaned_data.get("page") or 1,
            page_size=PAGE_SIZE,
        )
        context["base_query"] = _query_without_page(request)
    return render(request, "transitions/messages.html", context, status=status)


@require_permission(Permission.INTERFACE_MESSAGE_VIEW)
@require_http_methods(["GET", "HEAD"])
def inbound_message(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        message = selectors.get_message(actor=request_actor(request), message_id=message_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    segments = [line for line in message.raw.split("\r") if line]
    return render(request, "transitions/message.html", {"message": message, "segments": segments})

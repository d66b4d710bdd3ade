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
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, Forbidden, NotFound
from caredesk.core.htmx import is_htmx, render_page_or_partial
from caredesk.core.web import refusal_status, request_actor
from caredesk.patients import selectors as patient_selectors

from . import clock, selectors, services
from .choices import ChecklistItemCode
from .forms import (
    ChecklistItemForm,
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
    request: HttpRequest,
    encounter_id: int,
    status: int = 200,
    checklist_failed: tuple[str, ChecklistItemForm] | None = None,
    **forms: TransitionsForm,
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
        **_checklist_context(
            actor, selectors.discharge_checklist(actor=actor, encounter=detail.encounter), checklist_failed
        ),
    }
    return render(request, "transitions/encounter.html", context, status=status)


# ---------------------------------------------------------------------------------------------------
# Discharge planning: the checklist (htmx) and the printable transfer summary
# ---------------------------------------------------------------------------------------------------


def _checklist_context(
    actor: Actor, checklist: selectors.DischargeChecklist, failed: tuple[str, ChecklistItemForm] | None = None
) -> dict[str, Any]:
    appointments = [
        (a.pk, f"{a.starts_at:%a %Y-%m-%d %H:%M} · {a.visit_type.name} · {a.location.name}")
        for a in checklist.appointments
    ]
    packages = [(p.pk, f"{p.identifier} · {p.created_at:%Y-%m-%d %H:%M}") for p in checklist.packages]
    rows = []
    for row in checklist.rows:
        if failed is not None and failed[0] == row.code:
            form = failed[1]
            form.offer(appointments, packages)
        else:
            initial = {
                "note": row.item.note if row.item else "",
                "appointment": row.item.appointment_id if row.item else None,
                "package": row.item.package_id if row.item else None,
            }
            if row.code == "follow_up" and not initial["appointment"] and checklist.appointments:
                initial["appointment"] = checklist.appointments[0].pk
            form = ChecklistItemForm(
                prefix=row.code, initial=initial, appointments=appointments, packages=packages
            )
        rows.append((row, form))
    return {"checklist": checklist, "checklist_rows": rows, "can_plan": actor.has(Permission.DISCHARGE_PLAN)}


@require_permission(Permission.DISCHARGE_PLAN)
@require_http_methods(["POST"])
def checklist_item(request: HttpRequest, encounter_id: int, item: str) -> HttpResponse:
    """Tick one item (done / not needed / to do again); htmx gets the checklist section back."""
    actor = request_actor(request)
    if item not in ChecklistItemCode.values:
        raise Http404("No such checklist item.")
    form = ChecklistItemForm(request.POST, prefix=item)
    failed: tuple[str, ChecklistItemForm] | None = (item, form)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.set_checklist_item(
                actor=actor,
                encounter_id=encounter_id,
                item=item,
                status=data["status"],
                note=data["note"],
                appointment_id=data["appointment"] if item == ChecklistItemCode.FOLLOW_UP else None,
                package_id=data["package"] if item == ChecklistItemCode.RECORDS else None,
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            if not is_htmx(request):
                return redirect("transitions:encounter", encounter_id=encounter_id)
            status, failed = 200, None
    if not is_htmx(request):
        return _encounter_page(request, encounter_id, status, failed)
    try:
        checklist = selectors.get_discharge_checklist(actor=actor, encounter_id=encounter_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "encounter": checklist.encounter,
        **_checklist_context(actor, checklist, failed),
    }
    return render(request, "transitions/partials/checklist.html", context, status=status)


@require_permission(Permission.ENCOUNTER_VIEW)
@require_http_methods(["GET", "HEAD"])
def transfer_summary(request: HttpRequest, encounter_id: int) -> HttpResponse:
    """The printable records-transfer summary (the FHIR document Bundle's content, for paper and fax)."""
    try:
        summary = selectors.transfer_summary(actor=request_actor(request), encounter_id=encounter_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("transitions:encounter", encounter_id=encounter_id)
    return render(request, "transitions/summary.html", {"summary": summary, "encounter": summary.encounter})


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

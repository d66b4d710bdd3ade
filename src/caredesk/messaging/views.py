"""Communication-log pages: a patient's communication timeline (a full page, or for htmx the list alone,
optionally only what concerns one referral or task), and the "log a communication" form (a page, or an
htmx fragment used from the referral and worklist task pages).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.errors import DomainError, Forbidden, NotFound
from caredesk.core.htmx import is_htmx, render_page_or_partial
from caredesk.core.web import request_actor
from caredesk.patients import selectors as patient_selectors

from . import selectors, services
from .forms import LogForm


def _links(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "") for name in ("referral_id", "task_id") if request.GET.get(name)}


@require_permission(Permission.COMMUNICATION_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_log(request: HttpRequest, patient_id: int) -> HttpResponse:
    actor = request_actor(request)
    links = _links(request)
    try:
        log = selectors.patient_log(actor=actor, patient_id=patient_id, **links)
        patient = (
            None
            if is_htmx(request)
            else patient_selectors.get_patient(actor=actor, patient_id=patient_id, action="communications")
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context: dict[str, Any] = {
        "log": log,
        "patient": patient,
        "can_log": actor.has(Permission.COMMUNICATION_LOG),
        "form": LogForm(initial=links),
    }
    return render_page_or_partial(
        request, "messaging/patient_log.html", "messaging/partials/entries.html", context
    )


@require_permission(Permission.COMMUNICATION_LOG)
@require_http_methods(["GET", "HEAD", "POST"])
def log_communication(request: HttpRequest, patient_id: int) -> HttpResponse:
    """GET: the empty form (linked to `?referral_id=` / `?task_id=`). POST: log it; for htmx answer a
    fresh form and tell the page (HX-Trigger `communication-logged`) to reload its list."""
    actor = request_actor(request)
    try:
        patient = patient_selectors.get_patient(
            actor=actor, patient_id=patient_id, action="log communication"
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = LogForm(request.POST or None, initial=_links(request))
    status, logged = 200, False
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.log_communication(
                    actor=actor,
                    data=services.NewCommunication(
                        patient_id=patient.pk,
                        direction=data["direction"],
                        channel=data["channel"],
                        party=data["party"],
                        party_name=data["party_name"],
                        outcome=data["outcome"],
                        subject=data["subject"],
                        body=data["body"],
                        duration_seconds=form.duration_seconds(),
                        occurred_at=form.occurred(),
                        referral_id=data.get("referral_id"),
                        task_id=data.get("task_id"),
                    ),
                )
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            except DomainError as exc:
                if isinstance(exc, NotFound) and exc.field is None:
                    raise Http404(exc.message) from exc
                form.add_service_error(exc.field, exc.message)
                status = exc.http_status
            else:
                if not is_htmx(request):
                    return redirect("messaging:patient_log", patient_id=patient.pk)
                status, logged = 200, True
                links = {k: data[k] for k in ("referral_id", "task_id") if data.get(k)}
                form = LogForm(initial=links)
    context = {"form": form, "patient": patient, "logged": logged}
    response = render_page_or_partial(
        request, "messaging/log.html", "messaging/partials/log_form.html", context, status
    )
    if logged:
        response["HX-Trigger"] = "communication-logged"
    return response

"""Communication-log pages: a patient's communication timeline (a full page, or for htmx the list alone,
optionally only what concerns one referral or task), and the "log a communication" form (a page, or an
htmx fragment used from the referral and worklist task pages), and letters from templates (the form on the
log page: preview the PDF, or record the letter and download it; a logged letter's PDF).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, Forbidden, NotFound
from caredesk.core.htmx import is_htmx, render_page_or_partial
from caredesk.core.web import request_actor
from caredesk.patients import selectors as patient_selectors
from caredesk.referrals import selectors as referral_selectors

from . import ports, selectors, services
from .forms import LetterForm, LogForm


def _documents(actor: Actor, patient_id: int) -> list[tuple[int, str]]:
    """The patient's current chart documents a fax can carry, newest first (read through the chart's
    audited document search), for the log form."""
    if not actor.has(Permission.COMMUNICATION_LOG):
        return []
    found, _ = patient_selectors.search_documents(
        actor=actor,
        search=patient_selectors.DocumentSearch(patient_id=patient_id, statuses=("current",)),
        page_size=50,
    )
    return [(d.pk, f"{d.title} ({d.created_at:%Y-%m-%d})") for d in found]


def _log_form(actor: Actor, patient_id: int, data: Any = None, files: Any = None, **kwargs: Any) -> LogForm:
    return LogForm(data, files, documents=_documents(actor, patient_id), **kwargs)


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
        "form": _log_form(actor, patient.pk, initial=links)
        if patient is not None
        else LogForm(initial=links),
        "letter_form": _letter_form(actor, patient.pk)
        if patient is not None and actor.has(Permission.COMMUNICATION_LOG)
        else None,
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
    form = _log_form(actor, patient.pk, request.POST or None, request.FILES or None, initial=_links(request))
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
                        document_id=data.get("document_id"),
                    ),
                    upload=services.FaxUpload(data["document_file"], data.get("document_title") or "")
                    if data.get("document_file")
                    else None,
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
                form = _log_form(actor, patient.pk, initial=links)
    context = {"form": form, "patient": patient, "logged": logged}
    response = render_page_or_partial(
        request, "messaging/log.html", "messaging/partials/log_form.html", context, status
    )
    if logged:
        response["HX-Trigger"] = "communication-logged"
    return response


# --- letters ------------------------------------------------------------------------------------------


def _letter_form(actor: Actor, patient_id: int, data: Any = None, initial: Any = None) -> LetterForm:
    referrals = [
        (r.pk, f"#{r.pk} {r.get_specialty_display()} ({r.get_status_display()})")
        for r in referral_selectors.referral_queryset(actor)
        .filter(patient_id=patient_id)
        .order_by("-pk")[:50]
    ]
    return LetterForm(
        data,
        initial=initial,
        appointments=ports.appointment_choices(actor=actor, patient_id=patient_id),
        referrals=referrals,
    )


def _pdf_response(letter: selectors.LetterPdf, *, inline: bool) -> HttpResponse:
    response = HttpResponse(letter.pdf, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{letter.filename}"'
    return response


@require_permission(Permission.COMMUNICATION_LOG)
@require_http_methods(["GET", "HEAD", "POST"])
def letter(request: HttpRequest, patient_id: int) -> HttpResponse:
    """GET: the letter form (a page, or the htmx fragment on the communication log). POST with
    `action=preview`: the PDF, shown and not logged. POST (send): the letter is recorded in the log; htmx
    gets a fresh form with the link to its PDF and the `communication-logged` trigger, a plain form post is
    sent to the PDF."""
    actor = request_actor(request)
    try:
        patient = patient_selectors.get_patient(actor=actor, patient_id=patient_id, action="letter")
    except NotFound as exc:
        raise Http404(exc.message) from exc
    initial = {k: request.GET[k] for k in ("template", "appointment_id", "referral_id") if request.GET.get(k)}
    form = _letter_form(actor, patient.pk, request.POST or None, initial)
    status, sent = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            new = services.NewLetter(
                patient_id=patient.pk,
                template=data["template"],
                appointment_id=data.get("appointment_id"),
                referral_id=data.get("referral_id"),
                balance=data.get("balance"),
                statement_date=data.get("statement_date"),
                note=data.get("note") or "",
            )
            try:
                if request.POST.get("action") == "preview":
                    return _pdf_response(services.preview_letter(actor=actor, data=new), inline=True)
                sent, _ = services.send_letter(actor=actor, data=new)
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            except DomainError as exc:
                if isinstance(exc, NotFound) and exc.field is None:
                    raise Http404(exc.message) from exc
                form.add_service_error(exc.field, exc.message)
                status = exc.http_status
            else:
                if not is_htmx(request):
                    return redirect("messaging:letter_pdf", communication_id=sent.pk)
                status = 200
                form = _letter_form(actor, patient.pk)
    context = {"form": form, "patient": patient, "sent": sent}
    response = render_page_or_partial(
        request, "messaging/letter.html", "messaging/partials/letter_form.html", context, status
    )
    if sent is not None:
        response["HX-Trigger"] = "communication-logged"
    return response


@require_permission(Permission.COMMUNICATION_VIEW)
@require_http_methods(["GET", "HEAD"])
def letter_pdf(request: HttpRequest, communication_id: int) -> HttpResponse:
    """The PDF of a letter in the log, as it was sent (audited LETTER_PRINT)."""
    try:
        found = selectors.letter_pdf(actor=request_actor(request), communication_id=communication_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _pdf_response(found, inline=False)


@require_permission(Permission.COMMUNICATION_VIEW)
@require_http_methods(["GET", "HEAD"])
def fax_document(request: HttpRequest, communication_id: int) -> HttpResponseBase:
    """The document a logged fax carried (audited DOCUMENT_DOWNLOAD, like every chart document download)."""
    try:
        document = selectors.fax_document(actor=request_actor(request), communication_id=communication_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file of this document is missing from storage.") from exc
    return FileResponse(
        handle, as_attachment=True, filename=document.original_filename, content_type=document.content_type
    )

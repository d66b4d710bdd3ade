"""Credentialing pages: the practitioners' credential files (licenses, DEA, board certifications,
malpractice, history, documents, privileges, the application checklist), the add / renew / retire forms,
and the reports (credentials expiring within 90 days with a chart and CSV; practitioners with blocked
services).

Each view parses with a form, calls one service or selector, and renders. A service's refusal is shown on
the form with its status (400 or 409); a record outside the actor's organization answers 404.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.text import spreadsheet_cell
from caredesk.core.web import refusal_status, request_actor

from . import rules, selectors, services
from .choices import CredentialKind, CredentialStatus
from .forms import (
    ApplicationForm,
    ApproveForm,
    BoardForm,
    CredentialForm,
    DeaForm,
    DocumentForm,
    HistoryForm,
    LicenseForm,
    MalpracticeForm,
    PrivilegeForm,
    PrivilegeStatusForm,
    RenewForm,
    ReportForm,
    RetireForm,
    VerificationForm,
)

BAR_WIDTH = 360
BAR_ROW = 26


def _load_file(actor: Actor, practitioner_id: int) -> selectors.CredentialFile:
    """The practitioner's credential file; 404 outside the actor's organization."""
    try:
        return selectors.credential_file(actor=actor, practitioner_id=practitioner_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _file_url(practitioner_id: int) -> str:
    return f"/credentialing/practitioners/{practitioner_id}/"


@require_permission(Permission.CREDENTIAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def index(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    practitioners = list(selectors.credentialed_practitioners(actor).filter(active=True))
    return render(
        request,
        "credentialing/index.html",
        {"practitioners": practitioners, "enforced": services.enforcement_on(actor.organization_id or -1)},
    )


@require_permission(Permission.CREDENTIAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def practitioner_file(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    file = _load_file(request_actor(request), practitioner_id)
    return render(request, "credentialing/file.html", _file_context(request, file))


def _file_context(request: HttpRequest, file: selectors.CredentialFile) -> dict[str, Any]:
    actor = request_actor(request)
    return {
        "file": file,
        "p": file.practitioner,
        "can_manage": actor.has(Permission.CREDENTIAL_MANAGE),
        "can_approve": actor.has(Permission.CREDENTIAL_APPROVE),
        "verification_form": VerificationForm(),
        "retire_form": RetireForm(),
        "status_form": PrivilegeStatusForm(),
        "application_form": ApplicationForm(),
        "document_form": DocumentForm(),
        "ACTIVE": CredentialStatus.ACTIVE,
    }


# --- adding -------------------------------------------------------------------------------------------------


def _locations(actor: Actor) -> list[tuple[int, str]]:
    return [
        (loc.pk, loc.name)
        for loc in Location.objects.filter(organization_id=actor.organization_id or -1).order_by("name")
    ]


def _add_license(actor: Actor, practitioner_id: int, data: dict[str, Any]) -> object:
    return services.add_license(
        actor=actor, practitioner_id=practitioner_id, data=services.LicenseInput(**data)
    )


def _add_dea(actor: Actor, practitioner_id: int, data: dict[str, Any]) -> object:
    return services.add_dea(actor=actor, practitioner_id=practitioner_id, data=services.DeaInput(**data))


def _add_board(actor: Actor, practitioner_id: int, data: dict[str, Any]) -> object:
    return services.add_board_certification(
        actor=actor, practitioner_id=practitioner_id, data=services.BoardInput(**data)
    )


def _add_malpractice(actor: Actor, practitioner_id: int, data: dict[str, Any]) -> object:
    return services.add_malpractice(
        actor=actor, practitioner_id=practitioner_id, data=services.MalpracticeInput(**data)
    )


def _add_history(actor: Actor, practitioner_id: int, data: dict[str, Any]) -> object:
    return services.add_history(actor=actor, practitioner_id=practitioner_id, **data)


def _add_privilege(actor: Actor, practitioner_id: int, data: dict[str, Any]) -> object:
    values = dict(data)
    values["location_id"] = values.pop("location")
    return services.request_privilege(
        actor=actor, practitioner_id=practitioner_id, data=services.PrivilegeInput(**values)
    )


_ADDERS: dict[str, tuple[str, type[CredentialForm], Callable[[Actor, int, dict[str, Any]], object]]] = {
    "license": ("State license", LicenseForm, _add_license),
    "dea": ("DEA registration", DeaForm, _add_dea),
    "board": ("Board certification", BoardForm, _add_board),
    "malpractice": ("Malpractice coverage", MalpracticeForm, _add_malpractice),
    "history": ("Education or work history", HistoryForm, _add_history),
    "privilege": ("Privilege", PrivilegeForm, _add_privilege),
}


@require_permission(Permission.CREDENTIAL_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def add_credential(request: HttpRequest, practitioner_id: int, kind: str) -> HttpResponse:
    """One form per kind (the URL names it): a license, DEA registration, board certification,
    malpractice coverage, history entry or privilege."""
    actor = request_actor(request)
    file = _load_file(actor, practitioner_id)
    title, form_class, add = _ADDERS[kind]
    extra: dict[str, Any] = {"locations": _locations(actor)} if kind == "privilege" else {}
    form = form_class(request.POST or None, **extra)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                add(actor, practitioner_id, dict(form.cleaned_data))
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                messages.success(request, f"{title} added.")
                return redirect(_file_url(practitioner_id))
        else:
            status = 400
    return render(
        request,
        "credentialing/form.html",
        {"p": file.practitioner, "form": form, "title": f"Add {title.lower()}"},
        status=status,
    )


@require_permission(Permission.CREDENTIAL_MANAGE)
@require_http_methods(["POST"])
def upload_document(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    actor = request_actor(request)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.upload_document(
                actor=actor,
                practitioner_id=practitioner_id,
                title=form.cleaned_data["title"],
                uploaded_file=form.cleaned_data["file"],
            )
        except DomainError as exc:
            status = refusal_status(form, exc)
        else:
            messages.success(request, "Document stored.")
            return redirect(_file_url(practitioner_id))
    else:
        status = 400
    file = _load_file(actor, practitioner_id)
    context = _file_context(request, file)
    context["document_form"] = form
    return render(request, "credentialing/file.html", context, status=status)


# --- renewing and retiring --------------------------------------------------------------------------------


def _credential(actor: Actor, kind: str, credential_id: int) -> services.AnyCredential:
    model = services.KIND_MODELS.get(kind)
    found = (
        model.objects.filter(organization_id=actor.organization_id or -1, pk=credential_id)
        .select_related("practitioner")
        .first()
        if model
        else None
    )
    if found is None:
        raise NotFound(f"No credential with id {credential_id}.")
    return found


@require_permission(Permission.CREDENTIAL_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def renew(request: HttpRequest, kind: str, credential_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        credential = _credential(actor, kind, credential_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = RenewForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.renew_credential(
                    actor=actor, kind=kind, credential_id=credential_id, **form.cleaned_data
                )
            except DomainError as exc:
                status = refusal_status(form, exc, any_not_found_is_404=True)
            else:
                messages.success(
                    request, f"{credential} renewed until {form.cleaned_data['expires_on']:%Y-%m-%d}."
                )
                return redirect(_file_url(credential.practitioner_id))
        else:
            status = 400
    return render(
        request,
        "credentialing/form.html",
        {
            "p": credential.practitioner,
            "form": form,
            "title": f"Renew {CredentialKind(kind).label.lower()} {credential}",
            "current": credential,
        },
        status=status,
    )


def _back_with(
    request: HttpRequest, practitioner_id: int, form: CredentialForm, exc: DomainError | None
) -> HttpResponse:
    """Refused: the credential file again, with the reason on top."""
    status = refusal_status(form, exc, any_not_found_is_404=True) if exc else 400
    for name, errors in form.errors.get_json_data().items():
        text = " ".join(str(e["message"]) for e in errors)
        messages.error(request, text if name == "__all__" else f"{name}: {text}")
    file = _load_file(request_actor(request), practitioner_id)
    return render(request, "credentialing/file.html", _file_context(request, file), status=status)


@require_permission(Permission.CREDENTIAL_MANAGE)
@require_http_methods(["POST"])
def retire(request: HttpRequest, kind: str, credential_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        credential = _credential(actor, kind, credential_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = RetireForm(request.POST)
    if not form.is_valid():
        return _back_with(request, credential.practitioner_id, form, None)
    try:
        services.retire_credential(
            actor=actor, kind=kind, credential_id=credential_id, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        return _back_with(request, credential.practitioner_id, form, exc)
    messages.success(request, f"{credential} retired.")
    return redirect(_file_url(credential.practitioner_id))


# --- privileges and applications ---------------------------------------------------------------------


@require_permission(Permission.CREDENTIAL_MANAGE)
@require_http_methods(["POST"])
def privilege_status(request: HttpRequest, privilege_id: int) -> HttpResponse:
    actor = request_actor(request)
    privilege = selectors.privilege_queryset(actor).filter(pk=privilege_id).first()
    if privilege is None:
        raise Http404("No such privilege.")
    form = PrivilegeStatusForm(request.POST)
    if not form.is_valid():
        return _back_with(request, privilege.practitioner_id, form, None)
    try:
        services.change_privilege(actor=actor, privilege_id=privilege_id, **form.cleaned_data)
    except DomainError as exc:
        return _back_with(request, privilege.practitioner_id, form, exc)
    messages.success(request, "Privilege updated.")
    return redirect(_file_url(privilege.practitioner_id))


@require_permission(Permission.CREDENTIAL_MANAGE)
@require_http_methods(["POST"])
def open_application(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    actor = request_actor(request)
    form = ApplicationForm(request.POST)
    if not form.is_valid():
        return _back_with(request, practitioner_id, form, None)
    try:
        services.open_application(
            actor=actor, practitioner_id=practitioner_id, kind=form.cleaned_data["kind"]
        )
    except DomainError as exc:
        return _back_with(request, practitioner_id, form, exc)
    messages.success(request, "Application opened: every primary-source verification is pending.")
    return redirect(_file_url(practitioner_id))


@require_permission(Permission.CREDENTIAL_MANAGE)
@require_http_methods(["POST"])
def verify(request: HttpRequest, application_id: int) -> HttpResponse:
    actor = request_actor(request)
    application = _application(actor, application_id)
    form = VerificationForm(request.POST)
    if not form.is_valid():
        return _back_with(request, application.practitioner_id, form, None)
    try:
        services.record_verification(actor=actor, application_id=application_id, **form.cleaned_data)
    except DomainError as exc:
        return _back_with(request, application.practitioner_id, form, exc)
    messages.success(request, "Verification recorded.")
    return redirect(_file_url(application.practitioner_id))


@require_permission(Permission.CREDENTIAL_APPROVE)
@require_http_methods(["POST"])
def approve(request: HttpRequest, application_id: int) -> HttpResponse:
    actor = request_actor(request)
    application = _application(actor, application_id)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        return _back_with(request, application.practitioner_id, form, None)
    try:
        services.approve_application(
            actor=actor, application_id=application_id, note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        return _back_with(request, application.practitioner_id, form, exc)
    messages.success(request, "Application approved by the committee.")
    return redirect(_file_url(application.practitioner_id))


def _application(actor: Actor, application_id: int) -> Any:
    try:
        return selectors.get_application(actor=actor, application_id=application_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# --- reports ------------------------------------------------------------------------------------------------


def _days(request: HttpRequest) -> tuple[ReportForm, int]:
    form = ReportForm(request.GET or None)
    days = 90
    if form.is_bound and form.is_valid() and form.cleaned_data.get("days"):
        days = form.cleaned_data["days"]
    return form, days


@require_permission(Permission.CREDENTIAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def expiring_report(request: HttpRequest) -> HttpResponse:
    form, days = _days(request)
    if form.is_bound and not form.is_valid():
        return render(request, "credentialing/expiring.html", {"form": form, "report": None}, status=400)
    report = selectors.expiring_report(actor=request_actor(request), days=days)
    bars = rules.month_bars(report.by_month, width=BAR_WIDTH, row=BAR_ROW)
    return render(
        request,
        "credentialing/expiring.html",
        {
            "form": form,
            "report": report,
            "bars": bars,
            "bar_width": BAR_WIDTH,
            "chart_width": BAR_WIDTH + 160,
            "chart_height": max(len(bars), 1) * BAR_ROW,
        },
    )


@require_permission(Permission.CREDENTIAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def expiring_csv(request: HttpRequest) -> HttpResponse:
    form, days = _days(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse("days: a whole number from 1 to 365", status=400)
    report = selectors.expiring_report(actor=request_actor(request), days=days, export=True)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="credentials-expiring-{report.today:%Y-%m-%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        ["practitioner_id", "practitioner", "credential", "description", "expires_on", "days_left"]
    )
    for row in report.rows:
        writer.writerow(
            [
                row.practitioner_id,
                spreadsheet_cell(row.practitioner),
                row.kind_label,
                spreadsheet_cell(row.description),
                row.expires_on.isoformat(),
                row.days_left,
            ]
        )
    return response


@require_permission(Permission.CREDENTIAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def blocked_report(request: HttpRequest) -> HttpResponse:
    rows = selectors.blocked_services(actor=request_actor(request))
    return render(request, "credentialing/blocked.html", {"rows": rows})


@require_permission(Permission.CREDENTIAL_VIEW)
@require_http_methods(["GET", "HEAD"])
def blocked_csv(request: HttpRequest) -> HttpResponse:
    rows = selectors.blocked_services(actor=request_actor(request), export=True)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="blocked-services.csv"'
    writer = csv.writer(response)
    writer.writerow(["practitioner_id", "practitioner", "location", "service_code", "privilege", "reasons"])
    for row in rows:
        writer.writerow(
            [
                row.practitioner_id,
                spreadsheet_cell(row.practitioner),
                spreadsheet_cell(row.location),
                spreadsheet_cell(row.service_code),
                row.privilege_status,
                spreadsheet_cell(" ".join(row.reasons)),
            ]
        )
    return response

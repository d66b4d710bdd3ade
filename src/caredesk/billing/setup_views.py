"""Charge-capture setup pages (`/billing/visit-charges/`): the organization's mappings of visit types to
procedure codes, a form to add one, and per mapping a form to change it and a button to deactivate or
reactivate it. Each view parses the form and calls one use case of `visit_charges`."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.web import request_actor

from . import visit_charges


def _list_page(
    request: HttpRequest,
    *,
    error: str = "",
    field: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = request_actor(request)
    context: dict[str, Any] = {
        "rows": visit_charges.list_visit_charges(actor=actor),
        "visit_types": [o for o in visit_charges.visit_type_options(actor=actor) if o.active],
        "error": error,
        "field": field,
        "values": values or {"units": "1"},
    }
    return render(request, "billing/visit_charges.html", context, status=status)


def _form_values(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: request.POST.get(name, "").strip()[:40] for name in names}


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def visit_charge_list(request: HttpRequest) -> HttpResponse:
    """Every mapping of the organization; a POST adds one."""
    if request.method != "POST":
        return _list_page(request)
    values = _form_values(request, "visit_type_code", "procedure_code", "units")
    try:
        visit_charges.add_visit_charge(
            actor=request_actor(request),
            visit_type_code=values["visit_type_code"],
            procedure_code=values["procedure_code"],
            units=values["units"],
        )
    except DomainError as exc:
        return _list_page(
            request, error=exc.message, field=exc.field or "", values=values, status=exc.http_status
        )
    return redirect("billing:visit_charges")


def _edit_page(
    request: HttpRequest,
    charge_id: int,
    *,
    error: str = "",
    field: str = "",
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = request_actor(request)
    try:
        row = visit_charges.get_visit_charge(actor=actor, charge_id=charge_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    names = {o.code: o.name for o in visit_charges.visit_type_options(actor=actor)}
    shown = values or {
        "procedure_code": row.procedure.code,
        "units": str(row.units),
        "active": "on" if row.active else "",
    }
    context = {
        "row": row,
        "visit_type_name": names.get(row.visit_type_code, ""),
        "error": error,
        "field": field,
        "values": shown,
    }
    return render(request, "billing/visit_charge.html", context, status=status)


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def visit_charge_edit(request: HttpRequest, charge_id: int) -> HttpResponse:
    """One mapping: its procedure code, units and whether it is active; a POST saves them."""
    if request.method != "POST":
        return _edit_page(request, charge_id)
    values = _form_values(request, "procedure_code", "units", "active")
    try:
        visit_charges.update_visit_charge(
            actor=request_actor(request),
            charge_id=charge_id,
            procedure_code=values["procedure_code"],
            units=values["units"],
            active=bool(values["active"]),
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _edit_page(
            request,
            charge_id,
            error=exc.message,
            field=exc.field or "",
            values=values,
            status=exc.http_status,
        )
    return redirect("billing:visit_charges")


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["POST"])
def visit_charge_active(request: HttpRequest, charge_id: int) -> HttpResponse:
    """Deactivate (active=0) or reactivate (active=1) a mapping from the list."""
    try:
        visit_charges.set_visit_charge_active(
            actor=request_actor(request), charge_id=charge_id, active=request.POST.get("active") == "1"
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        return _list_page(request, error=exc.message, status=exc.http_status)
    return redirect("billing:visit_charges")

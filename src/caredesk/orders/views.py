"""Order pages: a patient's orders (write and place one, see why a check failed and who would pass,
override as an administrator, move an order along) and the organization's order list. Each view parses
with a form, calls one service or selector and renders; a refusal is shown with its status (400/409), a
record outside the actor's scope answers 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, Forbidden, NotFound
from caredesk.core.htmx import is_htmx
from caredesk.core.web import request_actor
from caredesk.practitioners import selectors as practitioner_selectors

from . import rules, selectors, services
from .choices import OrderStatus
from .errors import OrderCheckFailed
from .forms import OrderFilterForm, OrderForm, OverrideForm, PlaceForm, StatusForm


def _choices(actor: Actor) -> dict[str, list[tuple[int, str]]]:
    practitioners = practitioner_selectors.practitioner_queryset(actor).filter(active=True)
    return {
        "practitioners": [(p.pk, str(p)) for p in practitioners.order_by("family_key", "given_key", "pk")],
        "locations": [
            (loc.pk, f"{loc.name} ({loc.state})" if loc.state else loc.name)
            for loc in Location.objects.filter(organization_id=actor.organization_id or 0).order_by(
                "name", "pk"
            )
        ],
    }


def _order_form(actor: Actor, data: Any = None) -> OrderForm:
    return OrderForm(data, **_choices(actor))


def _failure(exc: DomainError) -> dict[str, Any] | None:
    if not isinstance(exc, OrderCheckFailed):
        return None
    return {
        "message": exc.message,
        "reasons": exc.details.get("reasons", []),
        "alternatives": exc.details.get("alternatives", []),
    }


def _refused(exc: DomainError) -> None:
    if isinstance(exc, NotFound) and exc.field is None:
        raise Http404(exc.message) from exc
    if isinstance(exc, Forbidden):
        raise PermissionDenied(exc.message) from exc


def _patient_page(
    request: HttpRequest,
    patient_id: int,
    *,
    status: int = 200,
    form: OrderForm | None = None,
    failure: dict[str, Any] | None = None,
    order_error: tuple[int, str, dict[str, Any] | None] | None = None,
) -> HttpResponse:
    actor = request_actor(request)
    try:
        found = selectors.patient_orders(actor=actor, patient_id=patient_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    rows = [
        {
            "order": order,
            "events": found.events.get(order.pk, []),
            "targets": rules.allowed_targets(order.status),
            "error": order_error[1:] if order_error and order_error[0] == order.pk else None,
        }
        for order in found.orders
    ]
    context = {
        "patient": found.patient,
        "rows": rows,
        "form": form or _order_form(actor),
        "failure": failure,
        "can_place": actor.has(Permission.ORDER_PLACE),
        "can_override": actor.has(Permission.ORDER_OVERRIDE),
        "statuses": OrderStatus,
    }
    return render(request, "orders/patient.html", context, status=status)


@require_permission(Permission.ORDER_VIEW)
@require_http_methods(["GET", "HEAD"])
def patient_orders(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _patient_page(request, patient_id)


@require_permission(Permission.ORDER_PLACE)
@require_http_methods(["POST"])
def create_order(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Write the order and place it (or keep it as a draft). A failed check answers 409 with the reasons
    and the practitioners who would pass; an administrator may send it again with an override reason."""
    actor = request_actor(request)
    form = _order_form(actor, request.POST)
    status, failure = 400, None
    if form.is_valid():
        data = form.cleaned_data
        try:
            order = services.create_order(
                actor=actor,
                data=services.OrderInput(
                    patient_id=patient_id,
                    kind=data["kind"],
                    code=data["code"],
                    code_display=data["code_display"],
                    code_system=data["code_system"],
                    priority=data["priority"],
                    practitioner_id=data["practitioner"],
                    location_id=data["location"],
                    service_date=data["service_date"],
                    telehealth=data["telehealth"],
                    controlled_substance=data["controlled_substance"],
                    diagnoses=rules.split_codes(data["diagnoses"]),
                    reason=data["reason"],
                ),
                place=not data["save_as_draft"],
                override_reason=data["override_reason"],
            )
        except DomainError as exc:
            if isinstance(exc, NotFound) and exc.field is None:
                raise Http404(exc.message) from exc
            if isinstance(exc, Forbidden):
                raise PermissionDenied(exc.message) from exc
            if exc.field == "patient_id":
                raise Http404(exc.message) from exc
            failure = _failure(exc)
            if failure is None:
                form.add_service_error(exc.field, exc.message)
            status = exc.http_status
        else:
            label = "saved as a draft" if order.status == OrderStatus.DRAFT else "placed"
            messages.success(request, f"{order.get_kind_display()} order {order.code} {label}.")
            target = reverse("orders:patient", args=[patient_id])
            if is_htmx(request):
                return HttpResponse(status=204, headers={"HX-Redirect": target})
            return redirect(target)
    if is_htmx(request):
        context = {
            "patient_id": patient_id,
            "form": form,
            "failure": failure,
            "can_override": actor.has(Permission.ORDER_OVERRIDE),
        }
        return render(request, "orders/partials/order_form.html", context, status=status)
    return _patient_page(request, patient_id, status=status, form=form, failure=failure)


def _order_or_404(actor: Actor, order_id: int) -> selectors.OrderDetail:
    try:
        return selectors.get_order(actor=actor, order_id=order_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _after_change(
    request: HttpRequest, patient_id: int, exc: DomainError | None, order_id: int, done: str
) -> HttpResponse:
    if exc is None:
        messages.success(request, done)
        return redirect("orders:patient", patient_id=patient_id)
    _refused(exc)
    return _patient_page(
        request, patient_id, status=exc.http_status, order_error=(order_id, exc.message, _failure(exc))
    )


@require_permission(Permission.ORDER_PLACE)
@require_http_methods(["POST"])
def place_order(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = request_actor(request)
    detail = _order_or_404(actor, order_id)
    form = PlaceForm(request.POST)
    error: DomainError | None = None
    if not form.is_valid():
        return _patient_page(
            request, detail.order.patient_id, status=400, order_error=(order_id, "Check the form.", None)
        )
    try:
        services.place_order(
            actor=actor,
            order_id=order_id,
            override_reason=form.cleaned_data["override_reason"],
            version=form.cleaned_data["version"],
        )
    except DomainError as exc:
        error = exc
    return _after_change(request, detail.order.patient_id, error, order_id, "The order was placed.")


@require_permission(Permission.ORDER_OVERRIDE)
@require_http_methods(["POST"])
def override_order(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = request_actor(request)
    detail = _order_or_404(actor, order_id)
    form = OverrideForm(request.POST)
    error: DomainError | None = None
    if not form.is_valid():
        return _patient_page(
            request,
            detail.order.patient_id,
            status=400,
            order_error=(order_id, "Say why the order goes ahead despite the checks.", None),
        )
    try:
        services.override_order(
            actor=actor,
            order_id=order_id,
            reason=form.cleaned_data["reason"],
            version=form.cleaned_data["version"],
        )
    except DomainError as exc:
        error = exc
    return _after_change(
        request, detail.order.patient_id, error, order_id, "The order was placed past the failed check."
    )


@require_permission(Permission.ORDER_PLACE)
@require_http_methods(["POST"])
def change_status(request: HttpRequest, order_id: int) -> HttpResponse:
    actor = request_actor(request)
    detail = _order_or_404(actor, order_id)
    form = StatusForm(request.POST)
    error: DomainError | None = None
    if not form.is_valid():
        return _patient_page(
            request,
            detail.order.patient_id,
            status=400,
            order_error=(order_id, "Choose the new status.", None),
        )
    try:
        order = services.change_status(
            actor=actor,
            order_id=order_id,
            status=form.cleaned_data["status"],
            note=form.cleaned_data["note"],
            version=form.cleaned_data["version"],
        )
    except DomainError as exc:
        error = exc
        done = ""
    else:
        done = f"The order is {order.get_status_display().lower()}."
    return _after_change(request, detail.order.patient_id, error, order_id, done)


@require_permission(Permission.ORDER_VIEW)
@require_http_methods(["GET", "HEAD"])
def order_list(request: HttpRequest) -> HttpResponse:
    """The organization's orders, newest first, by status and kind."""
    actor = request_actor(request)
    form = OrderFilterForm(request.GET)
    page: selectors.OrderPage | None = None
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        page = selectors.list_orders(
            actor=actor,
            query=selectors.OrderQuery(status=data["status"], kind=data["kind"]),
            page=data["page"] or 1,
        )
    else:
        status = 400
    return render(request, "orders/list.html", {"form": form, "page": page}, status=status)

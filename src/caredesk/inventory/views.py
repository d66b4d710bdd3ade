"""Supplies pages: stock by location (below-par rows highlighted), one location with its recent moves,
the move forms (record use, transfer, receive, adjust, count), reorder suggestions that raise purchase
orders, purchase orders (send, receive in part, cancel), a room's restock pick list, expiring lots, and
the reports (stock-outs and below-par rooms; supply cost per visit type as an SVG chart and CSV).

Each view parses with a form, calls one service or selector, and renders. A service's refusal is shown on
the form with its status (400 or 409) and changes nothing; a record of another organization answers 404.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import DomainError, NotFound
from caredesk.core.text import spreadsheet_cell
from caredesk.core.web import refusal_status, request_actor

from . import rules, selectors, services
from .choices import PurchaseOrderStatus
from .forms import (
    AdjustForm,
    ConsumeForm,
    CountForm,
    InventoryForm,
    ItemForm,
    ParLevelForm,
    RaiseOrderForm,
    ReceiveForm,
    ReceiveOrderForm,
    ReportForm,
    TransferForm,
    VisitSupplyForm,
    _Move,
    as_id,
)
from .models import Lot, StockMove

BAR_WIDTH = 360
BAR_ROW = 26


def _scope(actor: Actor) -> dict[str, Any]:
    return {
        "items": list(selectors.item_queryset(actor).filter(active=True).order_by("name")),
        "places": list(selectors.stock_location_queryset(actor).filter(active=True).order_by("kind", "name")),
    }


def _lots(actor: Actor) -> list[Lot]:
    return list(
        Lot.objects.filter(item__in=selectors.item_queryset(actor))
        .select_related("item")
        .order_by("item__name", "expires_on")
    )


def _perms(actor: Actor) -> dict[str, bool]:
    return {
        "can_move": actor.has(Permission.INVENTORY_MOVE),
        "can_manage": actor.has(Permission.INVENTORY_MANAGE),
    }


# --- stock ------------------------------------------------------------------------------------------------


@require_permission(Permission.INVENTORY_VIEW)
@require_http_methods(["GET", "HEAD"])
def stock(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    context = {
        "stocks": selectors.stock_by_location(actor=actor),
        "expiring": len(selectors.expiring_lots(actor=actor)),
        **_perms(actor),
    }
    return render(request, "inventory/stock.html", context)


@require_permission(Permission.INVENTORY_VIEW)
@require_http_methods(["GET", "HEAD"])
def location(request: HttpRequest, stock_location_id: int) -> HttpResponse:
    actor = request_actor(request)
    found = next(iter(selectors.stock_by_location(actor=actor, stock_location_id=stock_location_id)), None)
    if found is None:
        raise Http404("No such stock location.")
    context = {
        "stock": found,
        "moves": selectors.recent_moves(actor=actor, stock_location_id=stock_location_id),
        **_perms(actor),
    }
    return render(request, "inventory/location.html", context)


# --- moves ------------------------------------------------------------------------------------------------


MoveCall = Callable[[Actor, dict[str, Any]], str]


def _move_page(
    request: HttpRequest,
    form_class: type[_Move],
    title: str,
    button: str,
    call: MoveCall,
    tab: str,
) -> HttpResponse:
    actor = request_actor(request)
    scope = _scope(actor)
    lots = _lots(actor)
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, lots=lots, **scope)
        if form.is_valid():
            try:
                done = call(actor, form.cleaned_data)
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                messages.success(request, done)
                place = form.cleaned_data.get("stock_location") or form.cleaned_data.get("to_location") or 0
                return redirect("inventory:stocklocation", stock_location_id=int(place))
        else:
            status = 400
    else:
        initial = {
            name: request.GET.get(name)
            for name in ("item", "stock_location", "from_location", "to_location", "quantity")
            if request.GET.get(name)
        }
        form = form_class(initial=initial, lots=lots, **scope)
    return render(
        request,
        "inventory/move.html",
        {"form": form, "title": title, "button": button, "tab": tab},
        status=status,
    )


def _data(data: dict[str, Any]) -> dict[str, Any]:
    return {"item_id": data["item"], "note": data.get("note") or ""}


def _units(quantity: int, moves: list[StockMove] | StockMove) -> str:
    move = moves[0] if isinstance(moves, list) else moves
    return f"{quantity} {move.item.unit} {move.item.name}"


@require_permission(Permission.INVENTORY_MOVE)
@require_http_methods(["GET", "HEAD", "POST"])
def consume(request: HttpRequest) -> HttpResponse:
    def call(actor: Actor, data: dict[str, Any]) -> str:
        moves = services.consume_stock(
            actor=actor,
            stock_location_id=data["stock_location"],
            quantity=data["quantity"],
            lot_id=as_id(data.get("lot")),
            **_data(data),
        )
        return f"Recorded the use of {_units(data['quantity'], moves)}."

    return _move_page(request, ConsumeForm, "Record supply use", "Record use", call, "consume")


@require_permission(Permission.INVENTORY_MOVE)
@require_http_methods(["GET", "HEAD", "POST"])
def transfer(request: HttpRequest) -> HttpResponse:
    def call(actor: Actor, data: dict[str, Any]) -> str:
        moves = services.transfer_stock(
            actor=actor,
            from_location_id=data["from_location"],
            to_location_id=data["to_location"],
            quantity=data["quantity"],
            lot_id=as_id(data.get("lot")),
            **_data(data),
        )
        return f"Moved {_units(data['quantity'], moves)}."

    return _move_page(request, TransferForm, "Transfer stock", "Transfer", call, "transfer")


@require_permission(Permission.INVENTORY_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def receive(request: HttpRequest) -> HttpResponse:
    def call(actor: Actor, data: dict[str, Any]) -> str:
        move = services.receive_stock(
            actor=actor,
            stock_location_id=data["stock_location"],
            quantity=data["quantity"],
            lot_number=data.get("lot_number") or "",
            expires_on=data.get("expires_on"),
            **_data(data),
        )
        return f"Received {_units(data['quantity'], move)}."

    return _move_page(request, ReceiveForm, "Receive stock", "Receive", call, "receive")


@require_permission(Permission.INVENTORY_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def adjust(request: HttpRequest) -> HttpResponse:
    def call(actor: Actor, data: dict[str, Any]) -> str:
        move = services.adjust_stock(
            actor=actor,
            stock_location_id=data["stock_location"],
            change=data["change"],
            reason=data.get("reason") or "",
            lot_id=as_id(data.get("lot")),
            **_data(data),
        )
        return f"Adjusted {move.item.name} by {data['change']:+d}."

    return _move_page(request, AdjustForm, "Adjust stock", "Adjust", call, "adjust")


@require_permission(Permission.INVENTORY_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def count(request: HttpRequest) -> HttpResponse:
    def call(actor: Actor, data: dict[str, Any]) -> str:
        move = services.count_stock(
            actor=actor,
            stock_location_id=data["stock_location"],
            counted=data["counted"],
            lot_id=as_id(data.get("lot")),
            **_data(data),
        )
        if move is None:
            return "The count matches the records: nothing changed."
        sign = "+" if move.to_location_id else "-"
        return f"Count recorded: {move.item.name} {sign}{move.quantity}, now {data['counted']}."

    return _move_page(request, CountForm, "Count stock", "Record count", call, "count")


# --- reorder and purchase orders --------------------------------------------------------------------------


@require_permission(Permission.INVENTORY_VIEW)
@require_http_methods(["GET", "HEAD"])
def reorder(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    groups: dict[tuple[int, int], list[selectors.Position]] = defaultdict(list)
    unsourced = []
    for position in selectors.reorder_suggestions(actor=actor):
        if position.vendor_id is None:
            unsourced.append(position)
        else:
            groups[(position.vendor_id, position.stock_location_id)].append(position)
    rows = [
        {
            "vendor_id": vendor_id,
            "ship_to": place_id,
            "vendor": positions[0].vendor_name,
            "place": positions[0].location_name,
            "positions": positions,
            "lines": ",".join(f"{p.item_id}:{p.suggested}" for p in positions),
        }
        for (vendor_id, place_id), positions in groups.items()
    ]
    return render(
        request, "inventory/reorder.html", {"groups": rows, "unsourced": unsourced, **_perms(actor)}
    )


@require_permission(Permission.INVENTORY_MANAGE)
@require_POST
def raise_order(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form = RaiseOrderForm(request.POST)
    try:
        lines = form.parsed_lines() if form.is_valid() else None
    except ValidationError:
        lines = None
    if lines is None:
        return HttpResponse("The reorder suggestion could not be read.", status=400)
    try:
        order = services.create_purchase_order(
            actor=actor,
            vendor_id=form.cleaned_data["vendor"],
            ship_to_id=form.cleaned_data["ship_to"],
            lines=[services.OrderLineInput(item, quantity) for item, quantity in lines],
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("inventory:reorder")
    messages.success(request, f"{order.number} drafted for {order.vendor.name}. Check it and send it.")
    return redirect("inventory:order", purchase_order_id=order.pk)


@require_permission(Permission.INVENTORY_MANAGE)
@require_http_methods(["GET", "HEAD"])
def orders(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    status = request.GET.get("status") or ""
    found = selectors.order_queryset(actor).prefetch_related("lines")
    if status in PurchaseOrderStatus.values:
        found = found.filter(status=status)
    return render(
        request,
        "inventory/orders.html",
        {"orders": list(found[:200]), "status": status, "statuses": PurchaseOrderStatus.choices},
    )


def _order_page(
    request: HttpRequest, purchase_order_id: int, form: ReceiveOrderForm | None = None, status: int = 200
) -> HttpResponse:
    actor = request_actor(request)
    try:
        order = selectors.get_order(actor=actor, order_id=purchase_order_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    lines = selectors.order_lines(order)
    if form is None:
        form = ReceiveOrderForm(lines=lines)
    context = {
        "order": order,
        "lines": lines,
        "receipts": list(selectors.order_receipts(order)),
        "form": form,
        "receivable": order.status in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED),
        "total": sum((line.unit_cost * line.quantity_ordered for line in lines), start=0),
    }
    return render(request, "inventory/order.html", context, status=status)


@require_permission(Permission.INVENTORY_MANAGE)
@require_http_methods(["GET", "HEAD"])
def order(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    return _order_page(request, purchase_order_id)


@require_permission(Permission.INVENTORY_MANAGE)
@require_POST
def order_action(request: HttpRequest, purchase_order_id: int, action: str) -> HttpResponse:
    actor = request_actor(request)
    use_case = {"send": services.send_purchase_order, "cancel": services.cancel_purchase_order}.get(action)
    if use_case is None:
        raise Http404("No such action.")
    try:
        done = use_case(actor=actor, order_id=purchase_order_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return _order_page(request, purchase_order_id, status=exc.http_status)
    messages.success(request, f"{done.number} is now {done.get_status_display().lower()}.")
    return redirect("inventory:order", purchase_order_id=purchase_order_id)


@require_permission(Permission.INVENTORY_MANAGE)
@require_POST
def receive_order(request: HttpRequest, purchase_order_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        found = selectors.get_order(actor=actor, order_id=purchase_order_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = ReceiveOrderForm(request.POST, lines=selectors.order_lines(found))
    if not form.is_valid():
        return _order_page(request, purchase_order_id, form, status=400)
    try:
        moves = services.receive_purchase_order(
            actor=actor,
            order_id=purchase_order_id,
            receipts=[
                services.ReceiptInput(pk, qty, lot, expires) for pk, qty, lot, expires in form.receipts()
            ],
            confirm_over_receipt=form.cleaned_data.get("confirm_over_receipt") or False,
        )
    except DomainError as exc:
        return _order_page(
            request, purchase_order_id, form, status=refusal_status(form, exc, any_not_found_is_404=True)
        )
    received = sum(move.quantity for move in moves)
    messages.success(request, f"Received {received} units into {found.ship_to.name}.")
    return redirect("inventory:order", purchase_order_id=purchase_order_id)


# --- pick list, expiry ------------------------------------------------------------------------------------


@require_permission(Permission.INVENTORY_VIEW)
@require_http_methods(["GET", "HEAD"])
def pick_list(request: HttpRequest, stock_location_id: int) -> HttpResponse:
    actor = request_actor(request)
    try:
        picks = selectors.pick_list(actor=actor, stock_location_id=stock_location_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "inventory/pick_list.html", {"picks": picks, **_perms(actor)})


@require_permission(Permission.INVENTORY_VIEW)
@require_http_methods(["GET", "HEAD"])
def expiring(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    return render(
        request,
        "inventory/expiring.html",
        {
            "lots": selectors.expiring_lots(actor=actor),
            "days": rules.EXPIRY_WARNING_DAYS,
            "today": timezone.localdate(),
        },
    )


# --- reports ----------------------------------------------------------------------------------------------


def _cost(request: HttpRequest) -> tuple[ReportForm, list[selectors.VisitTypeCost] | None, Any, Any]:
    form = ReportForm(request.GET)
    if not form.is_valid():
        return form, None, None, None
    since, until = form.period()
    shown = ReportForm(initial={"since": since, "until": until})
    return (
        shown,
        selectors.cost_per_visit_type(actor=request_actor(request), since=since, until=until),
        since,
        until,
    )


@require_permission(Permission.INVENTORY_VIEW)
@require_http_methods(["GET", "HEAD"])
def report(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    form, costs, since, until = _cost(request)
    outs, below = selectors.stock_report(actor=actor)
    context: dict[str, Any] = {
        "form": form,
        "outs": outs,
        "below": below,
        "costs": costs,
        "since": since,
        "until": until,
        "bar_width": BAR_WIDTH,
        "csv_query": request.GET.urlencode(),
    }
    if costs is not None:
        context["bars"] = rules.cost_bars(
            [(c.name, c.per_visit) for c in costs], width=BAR_WIDTH, row=BAR_ROW
        )
        context["chart_height"] = max(len(costs), 1) * BAR_ROW
        context["chart_width"] = BAR_WIDTH + 280
    return render(request, "inventory/report.html", context, status=200 if costs is not None else 400)


@require_permission(Permission.INVENTORY_VIEW)
@require_http_methods(["GET", "HEAD"])
def report_csv(request: HttpRequest) -> HttpResponse:
    form, costs, since, until = _cost(request)
    if costs is None:
        return HttpResponse("; ".join(str(e) for errors in form.errors.values() for e in errors), status=400)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="supply-cost-{since.isoformat()}-{until.isoformat()}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["visit_type", "visits", "supply_cost", "cost_per_visit"])
    for row in costs:
        writer.writerow([spreadsheet_cell(row.name), row.visits, f"{row.cost:.2f}", f"{row.per_visit:.2f}"])
    return response


# --- setup: items, par levels, visit-type supply lists ----------------------------------------------------


def _setup_call(actor: Actor, kind: str, data: dict[str, Any]) -> str:
    if kind == "item":
        item = services.create_item(
            actor=actor,
            data=services.ItemInput(
                name=data["name"],
                sku=data["sku"],
                unit=data["unit"],
                vendor_id=as_id(data.get("vendor")),
                unit_cost=data["unit_cost"],
                reorder_point=data["reorder_point"],
                reorder_quantity=data["reorder_quantity"],
                tracks_lots=bool(data.get("tracks_lots")),
            ),
        )
        return f"{item.name} added."
    if kind == "par":
        level = services.set_par_level(
            actor=actor,
            stock_location_id=data["stock_location"],
            item_id=data["item"],
            quantity=data["quantity"],
        )
        return "Par level removed." if level is None else f"Par level set: {level}."
    supply = services.set_visit_type_supply(
        actor=actor, visit_type_id=data["visit_type"], item_id=data["item"], quantity=data["quantity"]
    )
    return "Removed from the visit type's supply list." if supply is None else "Supply list updated."


@require_permission(Permission.INVENTORY_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    scope = _scope(actor)
    vendors = [(v.pk, v.name) for v in selectors.vendor_queryset(actor).filter(active=True)]
    visit_types = selectors.visit_type_choices(actor)
    kind = request.POST.get("form", "") if request.method == "POST" else ""
    forms_by_kind: dict[str, InventoryForm] = {
        "item": ItemForm(request.POST if kind == "item" else None, vendors=vendors),
        "par": ParLevelForm(request.POST if kind == "par" else None, **scope),
        "supply": VisitSupplyForm(
            request.POST if kind == "supply" else None, visit_types=visit_types, **scope
        ),
    }
    status = 200
    if request.method == "POST":
        form = forms_by_kind.get(kind)
        if form is None:
            return HttpResponse("Say which form was sent.", status=400)
        if form.is_valid():
            try:
                done = _setup_call(actor, kind, form.cleaned_data)
            except DomainError as exc:
                status = refusal_status(form, exc)
            else:
                messages.success(request, done)
                return redirect("inventory:setup")
        else:
            status = 400
    context = {
        **forms_by_kind,
        "items": scope["items"],
        "par_levels": selectors.par_levels(actor=actor),
        "supplies": selectors.visit_type_supplies(actor=actor),
    }
    return render(request, "inventory/setup.html", context, status=status)


@require_permission(Permission.INVENTORY_VIEW)
@require_http_methods(["GET", "HEAD"])
def stock_csv(request: HttpRequest) -> HttpResponse:
    """Stock-outs and below-par rows, one line each."""
    outs, below = selectors.stock_report(actor=request_actor(request))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="stock-{timezone.localdate().isoformat()}.csv"'
    writer = csv.writer(response)
    writer.writerow(["finding", "stock_location", "item", "unit", "on_hand", "par"])
    for out in outs:
        writer.writerow(
            [
                "stock_out",
                *map(spreadsheet_cell, (out.place.name, out.item.name, out.item.unit)),
                0,
                out.par or "",
            ]
        )
    for stock in below:
        for row in stock.rows:
            writer.writerow(
                [
                    "below_par",
                    *map(spreadsheet_cell, (stock.place.name, row.item.name, row.item.unit)),
                    row.on_hand,
                    row.par,
                ]
            )
    return response

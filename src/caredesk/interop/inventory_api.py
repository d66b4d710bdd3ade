"""Supplies in the JSON API (/api/v1/inventory/...): items, stock locations and what they hold, reorder
suggestions; record use, transfer and receive stock; purchase orders (create, send, receive, read).

Registered on the same NinjaAPI as the rest of the API through its `endpoint` decorator (declared
permission, bearer token, the API's error format). Not enough stock answers 409 `insufficient_stock`;
receiving more than ordered without `"confirm_over_receipt": true` answers 409 `over_receipt`; either way
nothing changes.

(No `from __future__ import annotations` here: ninja evaluates the handlers' annotations at import time.)
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import P, PathEx, Query, Schema, Status
from pydantic import Field

from caredesk.accounts.permissions import Permission
from caredesk.core.errors import NotFound
from caredesk.inventory import selectors, services
from caredesk.inventory.models import PurchaseOrder, StockMove

from .api import API_PREFIX, ERRORS, MAX_ID, actor_of, endpoint
from .schemas import ErrorOut, InputSchema

OrderId = PathEx[int, P(ge=1, le=MAX_ID, description="The purchase order's id")]
TAGS = ["inventory"]
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: ErrorOut}
Quantity = Field(ge=-MAX_ID, le=MAX_ID, description="Whole units; must be at least 1")


class ItemOut(Schema):
    id: int
    name: str
    sku: str
    unit: str
    vendor_id: int | None
    unit_cost: Decimal
    reorder_point: int
    reorder_quantity: int
    tracks_lots: bool
    active: bool


class ItemListOut(Schema):
    results: list[ItemOut]


class StockRowOut(Schema):
    item_id: int
    item_name: str
    on_hand: int
    par: int | None
    below_par: bool


class StockLocationOut(Schema):
    id: int
    name: str
    kind: str
    location_id: int
    room_resource_id: int | None
    below_par_count: int
    stock: list[StockRowOut]


class StockListOut(Schema):
    results: list[StockLocationOut]


class StockFilters(Schema):
    stock_location_id: int | None = Field(None, ge=1, le=MAX_ID)


class SuggestionOut(Schema):
    item_id: int
    item_name: str
    vendor_id: int | None
    stock_location_id: int
    on_hand: int
    on_order: int
    reorder_point: int
    suggested: int


class SuggestionListOut(Schema):
    results: list[SuggestionOut]


class MoveOut(Schema):
    id: int
    kind: str
    item_id: int
    lot_id: int | None
    quantity: int
    from_location_id: int | None
    to_location_id: int | None
    reason: str
    note: str
    occurred_at: dt.datetime
    actor_name: str


class MoveListOut(Schema):
    results: list[MoveOut]


class ConsumeIn(InputSchema):
    item_id: int = Field(ge=1, le=MAX_ID)
    stock_location_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Quantity
    lot_id: int | None = Field(None, ge=1, le=MAX_ID, description="Default: the lots that expire first")
    note: str = Field("", max_length=300)


class TransferIn(InputSchema):
    item_id: int = Field(ge=1, le=MAX_ID)
    from_location_id: int = Field(ge=1, le=MAX_ID)
    to_location_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Quantity
    lot_id: int | None = Field(None, ge=1, le=MAX_ID)
    note: str = Field("", max_length=300)


class ReceiveIn(InputSchema):
    item_id: int = Field(ge=1, le=MAX_ID)
    stock_location_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Quantity
    lot_number: str = Field("", max_length=40, description="Required for lot-tracked items")
    expires_on: dt.date | None = None
    note: str = Field("", max_length=300)


class OrderLineIn(InputSchema):
    item_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Quantity
    unit_cost: Decimal | None = Field(None, description="Default: the item's unit cost")


class OrderIn(InputSchema):
    vendor_id: int = Field(ge=1, le=MAX_ID)
    ship_to_id: int = Field(ge=1, le=MAX_ID, description="The stock location receipts go into")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=100)
    notes: str = Field("", max_length=500)


class ReceiptLineIn(InputSchema):
    line_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Field(ge=-MAX_ID, le=MAX_ID, description="Units that arrived (0: none on this line)")
    lot_number: str = Field("", max_length=40)
    expires_on: dt.date | None = None


class ReceiptIn(InputSchema):
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=100)
    confirm_over_receipt: bool = Field(False, description="Receive more than a line still awaits")


class EmptyIn(InputSchema):
    pass


class OrderLineOut(Schema):
    id: int
    item_id: int
    quantity_ordered: int
    quantity_received: int
    unit_cost: Decimal


class OrderOut(Schema):
    id: int
    number: str
    vendor_id: int
    ship_to_id: int
    status: str
    notes: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    closed_at: dt.datetime | None
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_lines(obj: PurchaseOrder) -> list[Any]:
        return selectors.order_lines(obj)


class OrderListOut(Schema):
    results: list[OrderOut]


class OrderFilters(Schema):
    status: str = ""


def _moves(moves: list[StockMove] | StockMove | None) -> dict[str, list[StockMove]]:
    if moves is None:
        return {"results": []}
    return {"results": moves if isinstance(moves, list) else [moves]}


def _order(request: HttpRequest, order_id: int) -> PurchaseOrder:
    return selectors.get_order(actor=actor_of(request), order_id=order_id)


@endpoint(
    "GET",
    "/inventory/items",
    Permission.INVENTORY_VIEW,
    response={200: ItemListOut, **ERRORS},
    summary="Supply items",
    tags=TAGS,
)
def list_items(request: HttpRequest) -> Any:
    """Every item of the organization, by name."""
    return {"results": list(selectors.item_queryset(actor_of(request)).order_by("name"))}


@endpoint(
    "GET",
    "/inventory/stock",
    Permission.INVENTORY_VIEW,
    response={200: StockListOut, **ERRORS},
    summary="Stock on hand by location",
    tags=TAGS,
)
def list_stock(request: HttpRequest, filters: Query[StockFilters]) -> Any:
    """Each active stock location with what it holds against its par levels."""
    found = selectors.stock_by_location(actor=actor_of(request), stock_location_id=filters.stock_location_id)
    if filters.stock_location_id is not None and not found:
        raise NotFound(f"No stock location with id {filters.stock_location_id}.", field="stock_location_id")
    return {
        "results": [
            {
                "id": s.place.pk,
                "name": s.place.name,
                "kind": s.place.kind,
                "location_id": s.place.location_id,
                "room_resource_id": s.place.room_id,
                "below_par_count": s.below_par_count,
                "stock": [
                    {
                        "item_id": row.item.pk,
                        "item_name": row.item.name,
                        "on_hand": row.on_hand,
                        "par": row.par,
                        "below_par": row.below_par,
                    }
                    for row in s.rows
                ],
            }
            for s in found
        ]
    }


@endpoint(
    "GET",
    "/inventory/reorder-suggestions",
    Permission.INVENTORY_VIEW,
    response={200: SuggestionListOut, **ERRORS},
    summary="Reorder suggestions",
    tags=TAGS,
)
def list_suggestions(request: HttpRequest) -> Any:
    """Items below their reorder point at purchasing locations (on order counted) and how many to order."""
    return {
        "results": [
            {**p.__dict__, "suggested": p.suggested}
            for p in selectors.reorder_suggestions(actor=actor_of(request))
        ]
    }


@endpoint(
    "POST",
    "/inventory/consume",
    Permission.INVENTORY_MOVE,
    response={201: MoveListOut, **WRITE_ERRORS},
    summary="Record supplies used",
    tags=TAGS,
)
def consume(request: HttpRequest, payload: ConsumeIn) -> Any:
    """One move per lot taken (first to expire first, unless `lot_id`)."""
    moves = services.consume_stock(
        actor=actor_of(request),
        item_id=payload.item_id,
        stock_location_id=payload.stock_location_id,
        quantity=payload.quantity,
        lot_id=payload.lot_id,
        note=payload.note,
    )
    return Status(201, _moves(moves))


@endpoint(
    "POST",
    "/inventory/transfer",
    Permission.INVENTORY_MOVE,
    response={201: MoveListOut, **WRITE_ERRORS},
    summary="Move stock between locations",
    tags=TAGS,
)
def transfer(request: HttpRequest, payload: TransferIn) -> Any:
    moves = services.transfer_stock(
        actor=actor_of(request),
        item_id=payload.item_id,
        from_location_id=payload.from_location_id,
        to_location_id=payload.to_location_id,
        quantity=payload.quantity,
        lot_id=payload.lot_id,
        note=payload.note,
    )
    return Status(201, _moves(moves))


@endpoint(
    "POST",
    "/inventory/receive",
    Permission.INVENTORY_MANAGE,
    response={201: MoveListOut, **WRITE_ERRORS},
    summary="Receive stock without a purchase order",
    tags=TAGS,
)
def receive(request: HttpRequest, payload: ReceiveIn) -> Any:
    move = services.receive_stock(
        actor=actor_of(request),
        item_id=payload.item_id,
        stock_location_id=payload.stock_location_id,
        quantity=payload.quantity,
        lot_number=payload.lot_number,
        expires_on=payload.expires_on,
        note=payload.note,
    )
    return Status(201, _moves(move))


@endpoint(
    "GET",
    "/inventory/purchase-orders",
    Permission.INVENTORY_MANAGE,
    response={200: OrderListOut, **ERRORS},
    summary="Purchase orders",
    tags=TAGS,
)
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> Any:
    """Newest first (at most 200); filter by status."""
    orders = selectors.order_queryset(actor_of(request))
    if filters.status:
        orders = orders.filter(status=filters.status)
    return {"results": list(orders[:200])}


@endpoint(
    "GET",
    "/inventory/purchase-orders/{purchase_order_id}",
    Permission.INVENTORY_MANAGE,
    response={200: OrderOut, **ERRORS},
    summary="Read a purchase order",
    tags=TAGS,
)
def read_order(request: HttpRequest, purchase_order_id: OrderId) -> Any:
    return _order(request, purchase_order_id)


@endpoint(
    "POST",
    "/inventory/purchase-orders",
    Permission.INVENTORY_MANAGE,
    response={201: OrderOut, **WRITE_ERRORS},
    summary="Draft a purchase order",
    tags=TAGS,
)
def create_order(request: HttpRequest, payload: OrderIn, response: HttpResponse) -> Any:
    order = services.create_purchase_order(
        actor=actor_of(request),
        vendor_id=payload.vendor_id,
        ship_to_id=payload.ship_to_id,
        lines=[
            services.OrderLineInput(line.item_id, line.quantity, line.unit_cost) for line in payload.lines
        ],
        notes=payload.notes,
    )
    response["Location"] = request.build_absolute_uri(f"{API_PREFIX}/inventory/purchase-orders/{order.pk}")
    return Status(201, order)


@endpoint(
    "POST",
    "/inventory/purchase-orders/{purchase_order_id}/send",
    Permission.INVENTORY_MANAGE,
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Send a draft purchase order",
    tags=TAGS,
)
def send_order(request: HttpRequest, purchase_order_id: OrderId, payload: EmptyIn) -> Any:
    return services.send_purchase_order(actor=actor_of(request), order_id=purchase_order_id)


@endpoint(
    "POST",
    "/inventory/purchase-orders/{purchase_order_id}/cancel",
    Permission.INVENTORY_MANAGE,
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Cancel a purchase order",
    tags=TAGS,
)
def cancel_order(request: HttpRequest, purchase_order_id: OrderId, payload: EmptyIn) -> Any:
    return services.cancel_purchase_order(actor=actor_of(request), order_id=purchase_order_id)


@endpoint(
    "POST",
    "/inventory/purchase-orders/{purchase_order_id}/receive",
    Permission.INVENTORY_MANAGE,
    response={200: OrderOut, **WRITE_ERRORS},
    summary="Receive some or all of a purchase order",
    tags=TAGS,
)
def receive_order(request: HttpRequest, purchase_order_id: OrderId, payload: ReceiptIn) -> Any:
    """Into the order's ship-to location. 409 `over_receipt` (nothing received) when a line gets more than it
    still awaits, unless `confirm_over_receipt`."""
    services.receive_purchase_order(
        actor=actor_of(request),
        order_id=purchase_order_id,
        receipts=[
            services.ReceiptInput(line.line_id, line.quantity, line.lot_number, line.expires_on)
            for line in payload.lines
        ],
        confirm_over_receipt=payload.confirm_over_receipt,
    )
    return _order(request, purchase_order_id)

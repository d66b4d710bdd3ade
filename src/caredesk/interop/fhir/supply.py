"""Supplies -> FHIR R4 SupplyRequest (one per purchase-order line) and SupplyDelivery (one per receipt: a
`receive` move of the stock ledger), validated with fhir.resources.R4B, with their read and search
handlers (registered in fhir/urls.py, listed in the CapabilityStatement by fhir/views.py).

A SupplyRequest's status follows its order: draft -> draft, sent or partly received -> active, received ->
completed, cancelled -> cancelled. Items are coded in the organization's item codes
(`urn:caredesk:inventory-item`); the vendor is the supplier and the ship-to stock location the
`deliverTo` (by name: stock locations are not FHIR Locations of their own). A delivery received against
an order line is `basedOn` that line's SupplyRequest. Receipts name no patient, so reading them writes no
audit row.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.supplydelivery import SupplyDelivery
from fhir.resources.R4B.supplyrequest import SupplyRequest

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.inventory import selectors
from caredesk.inventory.choices import MoveKind, PurchaseOrderStatus
from caredesk.inventory.models import Item, PurchaseOrderLine, StockMove

from . import search as params
from .bundle import PageLinks, known_total, searchset
from .capability import ResourceSupport, SearchParam
from .common import compact, instant
from .http import base_url, fhir_response, operation, prefers_strict, search_pairs
from .outcomes import FhirError

ITEM_SYSTEM = "urn:caredesk:inventory-item"
ORDER_SYSTEM = "urn:caredesk:purchase-order"
MAX_ID = 2**63 - 1
REQUEST_STATUS: dict[str, str] = {
    PurchaseOrderStatus.DRAFT: "draft",
    PurchaseOrderStatus.SENT: "active",
    PurchaseOrderStatus.PARTLY_RECEIVED: "active",
    PurchaseOrderStatus.RECEIVED: "completed",
    PurchaseOrderStatus.CANCELLED: "cancelled",
}
REQUEST_PARAMS = ("status", "identifier")
DELIVERY_PARAMS = ("status", "identifier")
REQUEST_SUPPORT = ResourceSupport(
    "SupplyRequest",
    ("read", "search-type"),
    (
        SearchParam("status", "token", "draft, active, completed or cancelled"),
        SearchParam("identifier", "token", f"The purchase-order number ({ORDER_SYSTEM}|PO-000001)"),
    ),
)
DELIVERY_SUPPORT = ResourceSupport(
    "SupplyDelivery",
    ("read", "search-type"),
    (
        SearchParam("status", "token", "completed (every receipt is)"),
        SearchParam("identifier", "token", f"The purchase-order number ({ORDER_SYSTEM}|PO-000001)"),
    ),
)


def _item(item: Item) -> dict[str, Any]:
    return {"coding": [{"system": ITEM_SYSTEM, "code": item.sku, "display": item.name}], "text": item.name}


def supply_request_to_fhir(line: PurchaseOrderLine) -> SupplyRequest:
    order = line.order
    data: dict[str, Any] = {
        "resourceType": "SupplyRequest",
        "id": str(line.pk),
        "meta": {"lastUpdated": instant(order.updated_at)},
        "identifier": [{"system": ORDER_SYSTEM, "value": order.number}],
        "status": REQUEST_STATUS.get(order.status, "unknown"),
        "category": {"text": "Purchase order line"},
        "itemCodeableConcept": _item(line.item),
        "quantity": {"value": line.quantity_ordered, "unit": line.item.unit},
        "authoredOn": instant(order.created_at),
        "occurrenceDateTime": instant(order.sent_at) if order.sent_at else None,
        "supplier": [{"display": order.vendor.name}],
        "deliverTo": {"display": order.ship_to.name},
        "parameter": [
            {"code": {"text": "quantity received"}, "valueQuantity": {"value": line.quantity_received}},
            {"code": {"text": "unit cost"}, "valueQuantity": {"value": line.unit_cost, "unit": "USD"}},
        ],
    }
    return SupplyRequest.model_validate(compact(data))


def supply_delivery_to_fhir(move: StockMove) -> SupplyDelivery:
    line = move.order_line
    data: dict[str, Any] = {
        "resourceType": "SupplyDelivery",
        "id": str(move.pk),
        "meta": {"lastUpdated": instant(move.occurred_at)},
        "identifier": [{"system": ORDER_SYSTEM, "value": line.order.number}] if line else None,
        "basedOn": [{"reference": f"SupplyRequest/{line.pk}"}] if line else None,
        "status": "completed",
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/supply-item-type", "code": "device"}]
        },
        "suppliedItem": {
            "quantity": {"value": move.quantity, "unit": move.item.unit},
            "itemCodeableConcept": _item(move.item),
        },
        "occurrenceDateTime": instant(move.occurred_at),
        "supplier": {"display": line.order.vendor.name} if line else None,
        "destination": {"display": move.to_location.name if move.to_location else ""},
        "receiver": [{"display": move.actor_name}],
    }
    return SupplyDelivery.model_validate(compact(data))


def _actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise FhirError.single(401, "login", "Send a valid API token: 'Authorization: Bearer <token>'.")
    return actor


def _id(entry_id: str, resource_type: str) -> int:
    digits = entry_id.isascii() and entry_id.isdigit() and len(entry_id) <= 19  # int() refuses > 4300 digits
    if not (digits and 0 < int(entry_id) <= MAX_ID):
        raise FhirError.single(404, "not-found", f"No {resource_type} with id {entry_id!r}.")
    return int(entry_id)


def _lines(actor: Actor) -> QuerySet[PurchaseOrderLine]:
    return PurchaseOrderLine.objects.filter(order__in=selectors.order_queryset(actor)).select_related(
        "item", "order__vendor", "order__ship_to"
    )


def _receipts(actor: Actor) -> QuerySet[StockMove]:
    return (
        selectors.move_queryset(actor)
        .filter(kind=MoveKind.RECEIVE)
        .select_related("order_line__order__vendor")
        .order_by("-occurred_at", "-pk")
    )


def _order_number(value: str) -> str:
    system, _, code = value.rpartition("|")
    if system and system != ORDER_SYSTEM:
        return ""
    return code.strip().upper()


def _order_pk(number: str) -> int | None:
    digits = number.removeprefix("PO-")
    return int(digits) if digits.isdigit() and len(digits) <= 19 and 0 < int(digits) <= MAX_ID else None


def _page(
    request: HttpRequest, resource: str, search: params.Search, rows: list[Any], found: list[Any]
) -> HttpResponse:
    has_next = len(rows) > search.count
    base = base_url(request)
    links = PageLinks(f"{base}/{resource}", search.used, search.count, search.page, has_next)
    total = known_total(search.page, search.count, len(found), has_next)
    return fhir_response(searchset(found, resource_url=base, links=links, total=total))


@operation("GET", "/SupplyRequest/{entry_id}", Permission.INVENTORY_MANAGE, summary="Read a SupplyRequest")
def read_supply_request(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """One purchase-order line."""
    line = _lines(_actor(actor)).filter(pk=_id(entry_id, "SupplyRequest")).first()
    if line is None:
        raise FhirError.single(404, "not-found", f"No SupplyRequest with id {entry_id!r}.")
    return fhir_response(supply_request_to_fhir(line))


@operation("GET", "/SupplyRequest", Permission.INVENTORY_MANAGE, summary="Search SupplyRequest")
def search_supply_requests(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), REQUEST_PARAMS, strict=prefers_strict(request))
    lines = _lines(actor).order_by("-order__created_at", "-order_id", "pk")
    status = search.values.get("status")
    if status is not None:
        statuses = [ours for ours, theirs in REQUEST_STATUS.items() if theirs == status]
        lines = lines.filter(order__status__in=statuses)
    identifier = search.values.get("identifier")
    if identifier is not None:
        lines = lines.filter(order_id=_order_pk(_order_number(identifier)) or 0)
    start = (search.page - 1) * search.count
    rows = list(lines[start : start + search.count + 1])
    return _page(
        request, "SupplyRequest", search, rows, [supply_request_to_fhir(r) for r in rows[: search.count]]
    )


@operation("GET", "/SupplyDelivery/{entry_id}", Permission.INVENTORY_VIEW, summary="Read a SupplyDelivery")
def read_supply_delivery(request: HttpRequest, actor: Actor | None, entry_id: str) -> HttpResponse:
    """One receipt of stock."""
    move = _receipts(_actor(actor)).filter(pk=_id(entry_id, "SupplyDelivery")).first()
    if move is None:
        raise FhirError.single(404, "not-found", f"No SupplyDelivery with id {entry_id!r}.")
    return fhir_response(supply_delivery_to_fhir(move))


@operation("GET", "/SupplyDelivery", Permission.INVENTORY_VIEW, summary="Search SupplyDelivery")
def search_supply_deliveries(request: HttpRequest, actor: Actor | None) -> HttpResponse:
    actor = _actor(actor)
    search = params.parse(search_pairs(request), DELIVERY_PARAMS, strict=prefers_strict(request))
    moves = _receipts(actor)
    status = search.values.get("status")
    if status is not None and status != "completed":
        moves = moves.none()
    identifier = search.values.get("identifier")
    if identifier is not None:
        moves = moves.filter(order_line__order_id=_order_pk(_order_number(identifier)) or 0)
    start = (search.page - 1) * search.count
    rows = list(moves[start : start + search.count + 1])
    return _page(
        request, "SupplyDelivery", search, rows, [supply_delivery_to_fhir(m) for m in rows[: search.count]]
    )

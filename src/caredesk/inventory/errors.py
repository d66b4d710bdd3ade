"""Coded errors of the inventory app (each entry point maps them to 4xx in one place)."""

from __future__ import annotations

from caredesk.core.errors import Conflict, NotFound, ValidationFailed


class ItemNotFound(NotFound):
    code = "item_not_found"


class StockLocationNotFound(NotFound):
    code = "stock_location_not_found"


class VendorNotFound(NotFound):
    code = "vendor_not_found"


class LotNotFound(NotFound):
    code = "lot_not_found"


class PurchaseOrderNotFound(NotFound):
    code = "purchase_order_not_found"


class InvalidQuantity(ValidationFailed):
    code = "invalid_quantity"


class InsufficientStock(Conflict):
    """Not enough on hand for a transfer or a use: nothing was moved."""

    code = "insufficient_stock"


class OverReceipt(Conflict):
    """More received than ordered, without the explicit confirmation: nothing was received."""

    code = "over_receipt"


class InvalidOrderTransition(Conflict):
    code = "invalid_order_transition"


class DuplicateName(Conflict):
    code = "duplicate"

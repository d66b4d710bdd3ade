"""Status sets and closed vocabularies of supplies and inventory."""

from __future__ import annotations

from django.db import models


class StockLocationKind(models.TextChoices):
    CENTRAL = "central", "Central supply"
    CLINIC = "clinic", "Clinic stockroom"
    ROOM = "room", "Exam or procedure room"


# Where stock is bought for: reorder points are checked here; rooms are kept at par from these.
PURCHASING_KINDS: frozenset[str] = frozenset({StockLocationKind.CENTRAL, StockLocationKind.CLINIC})


class MoveKind(models.TextChoices):
    RECEIVE = "receive", "Receive"
    TRANSFER = "transfer", "Transfer"
    CONSUME = "consume", "Consume"
    ADJUST = "adjust", "Adjust"
    COUNT = "count", "Count"


class AdjustReason(models.TextChoices):
    DAMAGED = "damaged", "Damaged"
    EXPIRED = "expired", "Expired"
    LOST = "lost", "Lost or missing"
    FOUND = "found", "Found"
    RETURNED = "returned", "Returned to vendor"
    CORRECTION = "correction", "Data-entry correction"
    OTHER = "other", "Other"


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    PARTLY_RECEIVED = "partly_received", "Partly received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


# Orders whose open quantities count as "on order" for reorder suggestions.
OPEN_ORDER_STATUSES: frozenset[str] = frozenset(
    {PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED}
)
RECEIVABLE_STATUSES: frozenset[str] = frozenset(
    {PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED}
)
CANCELLABLE_STATUSES: frozenset[str] = frozenset(
    {PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED}
)

"""Supplies and inventory: items, vendors, stock locations, par levels, lots, balances, the move ledger and
purchase orders.

The database keeps the invariants: a balance is never negative (CheckConstraint), one balance row per
(item, stock location, lot) (conditional unique constraints, because a NULL lot is never equal to another
NULL), every move moves a positive quantity. Balances and the ledger are written by `services.py` only,
in the same transaction, under row locks; the ledger is append-only (its queryset refuses `update()` and
`delete()`, its `save()` refuses an existing row), so the balance of a (item, location, lot) is always
the sum of the moves into it minus the moves out of it.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.db.models import F, Q

from caredesk.core.models import OrganizationScopedModel

from .choices import AdjustReason, MoveKind, PurchaseOrderStatus, StockLocationKind


class Vendor(OrganizationScopedModel):
    name = models.CharField(max_length=120)
    account_number = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="inv_vendor_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Item(OrganizationScopedModel):
    """Something kept in stock and used up: gloves, syringes, dressings."""

    name = models.CharField(max_length=120)
    sku = models.SlugField(max_length=40, help_text="Stable short code (API, FHIR)")
    unit = models.CharField(max_length=20, default="each", help_text="What one counts: each, box, pair …")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, null=True, blank=True, related_name="items")
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    reorder_point = models.PositiveIntegerField(
        default=0, help_text="Order more when on hand falls below this"
    )
    reorder_quantity = models.PositiveIntegerField(default=1, help_text="How many one order brings")
    tracks_lots = models.BooleanField(default=False, help_text="Lot number and expiry recorded on receipt")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sku"], name="inv_item_sku_unique"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="inv_item_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(reorder_quantity__gte=1), name="inv_item_reorder_qty_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StockLocation(OrganizationScopedModel):
    """Where stock sits: central supply, a clinic's stockroom, an exam or procedure room."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=StockLocationKind.choices)
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(
        "scheduling.Resource",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The scheduling room this stock sits in: its visits consume from here",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="inv_stock_location_name_unique"),
            models.UniqueConstraint(
                fields=["room"], condition=Q(room__isnull=False), name="inv_stock_location_one_per_room"
            ),
            models.CheckConstraint(
                condition=Q(room__isnull=True) | Q(kind=StockLocationKind.ROOM),
                name="inv_stock_location_room_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ParLevel(models.Model):
    """How many of an item a stock location should hold after restocking."""

    stock_location = models.ForeignKey(StockLocation, on_delete=models.CASCADE, related_name="par_levels")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="par_levels")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stock_location", "item"], name="inv_par_once_per_item"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="inv_par_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item} at {self.stock_location}: {self.quantity}"


class Lot(models.Model):
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=40)
    expires_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["expires_on", "lot_number"]
        constraints = [models.UniqueConstraint(fields=["item", "lot_number"], name="inv_lot_unique")]

    def __str__(self) -> str:
        return f"{self.lot_number}" + (f" (exp. {self.expires_on:%Y-%m-%d})" if self.expires_on else "")


class VisitTypeSupply(OrganizationScopedModel):
    """What one visit of a type uses up; completing such a visit consumes it from the visit's room."""

    visit_type = models.ForeignKey("scheduling.VisitType", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="visit_type_uses")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit_type", "item"], name="inv_visit_supply_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="inv_visit_supply_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_type_id}: {self.quantity} x {self.item}"


class StockBalance(models.Model):
    """On hand of one item (and lot) at one stock location. Written only with a move, under a row lock."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="balances")
    stock_location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="balances")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="balances")
    quantity = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="inv_balance_not_negative"),
            models.UniqueConstraint(
                fields=["item", "stock_location", "lot"],
                condition=Q(lot__isnull=False),
                name="inv_balance_once_per_lot",
            ),
            models.UniqueConstraint(
                fields=["item", "stock_location"],
                condition=Q(lot__isnull=True),
                name="inv_balance_once_without_lot",
            ),
        ]
        indexes = [models.Index(fields=["stock_location", "item"], name="inv_balance_place")]

    def __str__(self) -> str:
        return f"{self.item} at {self.stock_location}: {self.quantity}"


class AppendOnlyQuerySet(models.QuerySet["StockMove"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("The stock ledger is append-only.")

    def delete(self) -> NoReturn:
        raise TypeError("The stock ledger is append-only.")


class PurchaseOrder(OrganizationScopedModel):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="orders")
    ship_to = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT
    )
    notes = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, related_name="+")
    created_by_name = models.CharField(max_length=150)
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "status"], name="inv_po_status")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"PO-{self.pk:06d}" if self.pk else "PO (new)"


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_ordered__gte=1), name="inv_po_line_positive"),
            models.UniqueConstraint(fields=["order", "item"], name="inv_po_line_once_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} x {self.item}"

    @property
    def outstanding(self) -> int:
        return max(self.quantity_ordered - self.quantity_received, 0)


class StockMove(models.Model):
    """One line of the append-only ledger. A move takes `quantity` out of `from_location` and/or puts it
    into `to_location` (receive: into; consume: out of; transfer: both; adjust and count: one of them, by
    the sign of the change)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=MoveKind.choices)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="moves")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="moves")
    quantity = models.PositiveIntegerField()
    from_location = models.ForeignKey(
        StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="moves_out"
    )
    to_location = models.ForeignKey(
        StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="moves_in"
    )
    reason = models.CharField(max_length=20, choices=AdjustReason.choices, blank=True)
    note = models.CharField(max_length=300, blank=True)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="receipts"
    )
    appointment = models.ForeignKey(
        "scheduling.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit_type = models.ForeignKey(
        "scheduling.VisitType", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    occurred_at = models.DateTimeField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="inv_move_positive"),
            models.CheckConstraint(
                condition=(
                    Q(kind=MoveKind.RECEIVE) & Q(from_location__isnull=True) & Q(to_location__isnull=False)
                )
                | (Q(kind=MoveKind.CONSUME) & Q(from_location__isnull=False) & Q(to_location__isnull=True))
                | (
                    Q(kind=MoveKind.TRANSFER)
                    & Q(from_location__isnull=False)
                    & Q(to_location__isnull=False)
                    & ~Q(from_location=F("to_location"))
                )
                | (
                    Q(kind__in=[MoveKind.ADJUST, MoveKind.COUNT])
                    & (
                        (Q(from_location__isnull=True) & Q(to_location__isnull=False))
                        | (Q(from_location__isnull=False) & Q(to_location__isnull=True))
                    )
                ),
                name="inv_move_direction",
            ),
            models.CheckConstraint(
                condition=~Q(kind=MoveKind.ADJUST) | ~Q(reason=""), name="inv_move_adjust_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="inv_move_org_time"),
            models.Index(fields=["item", "occurred_at"], name="inv_move_item_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} x {self.item}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("The stock ledger is append-only.")
        super().save(*args, **kwargs)


class ReorderWatch(models.Model):
    """Whether an item is below its reorder point at a purchasing location, and how many times it has
    fallen below: each new fall is one worklist task (its dedupe key carries the episode)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    stock_location = models.ForeignKey(StockLocation, on_delete=models.CASCADE, related_name="+")
    below = models.BooleanField(default=False)
    episode = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "stock_location"], name="inv_reorder_watch_once")
        ]

    def __str__(self) -> str:
        return f"{self.item} at {self.stock_location}: {'below' if self.below else 'ok'} #{self.episode}"

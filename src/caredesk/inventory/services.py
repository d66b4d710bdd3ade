"""Inventory use cases: one function per use case, keyword-only actor, one transaction.

Stock: `receive_stock`, `transfer_stock`, `consume_stock`, `adjust_stock`, `count_stock`, and
`consume_for_fulfilled_visit` (the scheduling hook: a completed visit uses its visit type's supplies in its
room). Each writes its ledger rows (`StockMove`, append-only) and the balances they change in the same
transaction, with the item's balances at the locations involved locked first (`select_for_update`, in id
order, so two moves that share balances wait for each other in one order and never deadlock; on SQLite
every transaction starts IMMEDIATE, which serializes writers). The check "is there enough?" is made under
those locks, and the database's CheckConstraint (quantity >= 0) stands behind it: stock never goes
negative and no move is lost.

Purchase orders: `create_purchase_order`, `send_purchase_order`, `receive_purchase_order` (receiving more
than ordered needs `confirm_over_receipt=True`, otherwise `OverReceipt` and nothing changes),
`cancel_purchase_order`. Reorder: `create_reorder_tasks` puts one worklist task on the care-coordination
queue each time an item falls below its reorder point at a purchasing location.

Setup: `create_vendor`, `create_item`, `create_stock_location`, `set_par_level`, `set_visit_type_supply`.

Only visit consumption names a patient, so only it writes an audit row; the ledger is the record of
everything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from caredesk.accounts.permissions import Permission
from caredesk.audit import services as audit
from caredesk.audit.codes import AuditAction
from caredesk.core.context import Actor
from caredesk.core.errors import ValidationFailed
from caredesk.scheduling import selectors as scheduling_selectors
from caredesk.scheduling.hooks import FulfilledVisit
from caredesk.worklist import services as worklist
from caredesk.worklist.choices import TaskPriority, TaskQueue, TaskType

from . import rules, selectors
from .choices import (
    CANCELLABLE_STATUSES,
    RECEIVABLE_STATUSES,
    AdjustReason,
    MoveKind,
    PurchaseOrderStatus,
    StockLocationKind,
)
from .errors import (
    DuplicateName,
    InsufficientStock,
    InvalidOrderTransition,
    InvalidQuantity,
    ItemNotFound,
    LotNotFound,
    OverReceipt,
    PurchaseOrderNotFound,
    StockLocationNotFound,
    VendorNotFound,
)
from .models import (
    Item,
    Lot,
    ParLevel,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderWatch,
    StockBalance,
    StockLocation,
    StockMove,
    Vendor,
    VisitTypeSupply,
)

MAX_QUANTITY = 1_000_000
MAX_NOTE = 300
#: Lock waits that PostgreSQL resolves by failing one transaction: run the use case again.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
_RETRIES = 5

T = TypeVar("T")


# --- helpers ----------------------------------------------------------------------------------------------


def _organization_id(actor: Actor) -> int:
    if actor.organization_id is None:
        raise ValidationFailed("This needs a user of an organization.")
    return actor.organization_id


def _as_id(value: Any, field_name: str) -> int:
    if isinstance(value, bool):
        raise ValidationFailed(f"{field_name} must be a whole number.", field=field_name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{field_name} must be a whole number.", field=field_name) from None
    if number < 1:
        raise ValidationFailed(f"{field_name} must be a whole number.", field=field_name)
    return number


def _quantity(value: Any, field_name: str = "quantity", *, allow_zero: bool = False) -> int:
    """A whole number of units, at least 1 (or 0 when `allow_zero`)."""
    if isinstance(value, bool) or value is None or value == "":
        raise InvalidQuantity("Enter a quantity.", field=field_name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidQuantity("The quantity must be a whole number.", field=field_name) from None
    if isinstance(value, float) and value != number:
        raise InvalidQuantity("The quantity must be a whole number.", field=field_name)
    if number < 0:
        raise InvalidQuantity("The quantity cannot be negative.", field=field_name)
    if number == 0 and not allow_zero:
        raise InvalidQuantity("The quantity must be at least 1.", field=field_name)
    if number > MAX_QUANTITY:
        raise InvalidQuantity(f"The quantity must be at most {MAX_QUANTITY:,}.", field=field_name)
    return number


def _money(value: Any, field_name: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed("Enter an amount such as 12.50.", field=field_name) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("100000000"):
        raise ValidationFailed("The amount must be between 0 and 99,999,999.99.", field=field_name)
    return amount.quantize(Decimal("0.01"))


def _text(value: Any, field_name: str, label: str, limit: int, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationFailed(f"{label} is required.", field=field_name)
    if len(text) > limit:
        raise ValidationFailed(f"{label} is longer than {limit} characters.", field=field_name)
    return text


def _item(organization_id: int, item_id: Any, field_name: str = "item_id") -> Item:
    pk = _as_id(item_id, field_name)
    item = Item.objects.filter(organization_id=organization_id, pk=pk).first()
    if item is None:
        raise ItemNotFound(f"No item with id {item_id}.", field=field_name, details={"id": pk})
    return item


def _place(
    organization_id: int, stock_location_id: Any, field_name: str = "stock_location_id"
) -> StockLocation:
    pk = _as_id(stock_location_id, field_name)
    place = StockLocation.objects.filter(organization_id=organization_id, pk=pk).first()
    if place is None:
        raise StockLocationNotFound(
            f"No stock location with id {stock_location_id}.", field=field_name, details={"id": pk}
        )
    return place


def _lot_of(item: Item, lot_id: Any) -> Lot | None:
    if lot_id in (None, ""):
        return None
    pk = _as_id(lot_id, "lot_id")
    lot = Lot.objects.filter(item=item, pk=pk).first()
    if lot is None:
        raise LotNotFound(f"No lot with id {lot_id} of {item.name}.", field="lot_id", details={"id": pk})
    return lot


def _is_retryable(exc: DatabaseError) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in _RETRY_SQLSTATES


def _run(work: Callable[[], T]) -> T:
    """Run `work` in one transaction. PostgreSQL may end one of two lock waits that would never finish
    (deadlock) or a serialization failure: the use case is then run again, from the start. Inside a
    caller's transaction it simply runs (the caller owns the retry)."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return work()
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                return work()
        except DatabaseError as exc:
            if not _is_retryable(exc) or attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


Key = tuple[int, int | None]  # (stock location id, lot id)


def _lock(item: Item, place_ids: Sequence[int]) -> dict[Key, StockBalance]:
    """Lock every balance of `item` at `place_ids` (id order) and return them by (location, lot)."""
    rows = (
        StockBalance.objects.select_for_update()
        .filter(item=item, stock_location_id__in=sorted(set(place_ids)))
        .order_by("pk")
    )
    return {(row.stock_location_id, row.lot_id): row for row in rows}


def _balance(
    balances: dict[Key, StockBalance], item: Item, place_id: int, lot_id: int | None
) -> StockBalance:
    """The locked balance of (item, place, lot), created at zero when there is none yet."""
    key = (place_id, lot_id)
    found = balances.get(key)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            found = StockBalance.objects.create(
                item=item, stock_location_id=place_id, lot_id=lot_id, quantity=0
            )
    except IntegrityError:
        # Someone else created it meanwhile (PostgreSQL): it is committed now; lock it.
        same_lot = {"lot_id": lot_id} if lot_id is not None else {"lot__isnull": True}
        found = StockBalance.objects.select_for_update().get(
            item=item, stock_location_id=place_id, **same_lot
        )
    balances[key] = found
    return found


def _change(balance: StockBalance, delta: int) -> None:
    StockBalance.objects.filter(pk=balance.pk).update(quantity=F("quantity") + delta)
    balance.quantity += delta


def _on_hand(balances: dict[Key, StockBalance], place_id: int) -> list[rules.LotStock]:
    lots = {lot.pk: lot.expires_on for lot in Lot.objects.filter(pk__in=[k[1] for k in balances if k[1]])}
    return [
        rules.LotStock(
            key=balance.pk,
            expires_on=lots.get(balance.lot_id) if balance.lot_id else None,
            quantity=balance.quantity,
        )
        for (where, _), balance in balances.items()
        if where == place_id and balance.quantity > 0
    ]


def _allocate(
    balances: dict[Key, StockBalance], item: Item, place: StockLocation, quantity: int, lot: Lot | None
) -> list[tuple[StockBalance, int]]:
    """Which balances to take `quantity` from (one lot, or first expiry first out); InsufficientStock
    when they do not hold enough."""
    if lot is not None:
        chosen = balances.get((place.pk, lot.pk))
        available = chosen.quantity if chosen else 0
        if chosen is None or available < quantity:
            raise _short(item, place, quantity, available, lot)
        return [(chosen, quantity)]
    stock = _on_hand(balances, place.pk)
    taken = rules.allocate_fefo(stock, quantity)
    if not taken:
        raise _short(item, place, quantity, sum(s.quantity for s in stock), None)
    by_pk = {balance.pk: balance for balance in balances.values()}
    return [(by_pk[key], amount) for key, amount in taken]


def _short(
    item: Item, place: StockLocation, wanted: int, available: int, lot: Lot | None
) -> InsufficientStock:
    of_lot = f" of lot {lot.lot_number}" if lot else ""
    return InsufficientStock(
        f"Not enough stock: {place.name} has {available} {item.unit} of {item.name}{of_lot}, "
        f"{wanted} asked for. Nothing was moved.",
        field="quantity",
        details={"item_id": item.pk, "stock_location_id": place.pk, "available": available, "wanted": wanted},
    )


def _move(actor: Actor, item: Item, kind: str, quantity: int, **fields: Any) -> StockMove:
    move = StockMove(
        organization_id=item.organization_id,
        kind=kind,
        item=item,
        quantity=quantity,
        unit_cost=fields.pop("unit_cost", item.unit_cost),
        actor_id=actor.user_id,
        actor_name=actor.username,
        occurred_at=timezone.now(),
        **fields,
    )
    move.save(force_insert=True)
    return move


# --- stock moves ------------------------------------------------------------------------------------------


def _get_lot(item: Item, lot_number: Any, expires_on: dt.date | None) -> Lot | None:
    number = _text(lot_number, "lot_number", "Lot number", 40)
    if not item.tracks_lots:
        if number or expires_on:
            raise ValidationFailed(f"{item.name} is not tracked by lot.", field="lot_number")
        return None
    if not number:
        raise ValidationFailed(f"{item.name} is tracked by lot: enter its lot number.", field="lot_number")
    lot = Lot.objects.filter(item=item, lot_number=number).first()
    if lot is not None:
        if expires_on and lot.expires_on and lot.expires_on != expires_on:
            raise ValidationFailed(
                f"Lot {number} is on record as expiring {lot.expires_on:%Y-%m-%d}.", field="expires_on"
            )
        return lot
    try:
        with transaction.atomic():
            return Lot.objects.create(item=item, lot_number=number, expires_on=expires_on)
    except IntegrityError:
        return Lot.objects.get(item=item, lot_number=number)


def _receive(
    actor: Actor,
    item: Item,
    place: StockLocation,
    quantity: int,
    lot: Lot | None,
    *,
    unit_cost: Decimal | None = None,
    order_line: PurchaseOrderLine | None = None,
    note: str = "",
) -> StockMove:
    balances = _lock(item, [place.pk])
    _change(_balance(balances, item, place.pk, lot.pk if lot else None), quantity)
    return _move(
        actor,
        item,
        MoveKind.RECEIVE,
        quantity,
        lot=lot,
        to_location=place,
        order_line=order_line,
        note=note,
        unit_cost=item.unit_cost if unit_cost is None else unit_cost,
    )


def receive_stock(
    *,
    actor: Actor,
    item_id: Any,
    stock_location_id: Any,
    quantity: Any,
    lot_number: str = "",
    expires_on: dt.date | None = None,
    note: str = "",
) -> StockMove:
    """Stock arriving without a purchase order (a delivery, a donation, an opening balance)."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    amount = _quantity(quantity)
    text = _text(note, "note", "Note", MAX_NOTE)

    def work() -> StockMove:
        item = _item(organization_id, item_id)
        place = _place(organization_id, stock_location_id)
        lot = _get_lot(item, lot_number, expires_on)
        return _receive(actor, item, place, amount, lot, note=text)

    return _run(work)


def transfer_stock(
    *,
    actor: Actor,
    item_id: Any,
    from_location_id: Any,
    to_location_id: Any,
    quantity: Any,
    lot_id: Any = None,
    note: str = "",
) -> list[StockMove]:
    """Move stock between locations (restocking a room from central supply). Without a lot, the lots that
    expire first go first; one move per lot."""
    actor.require(Permission.INVENTORY_MOVE)
    organization_id = _organization_id(actor)
    amount = _quantity(quantity)
    text = _text(note, "note", "Note", MAX_NOTE)

    def work() -> list[StockMove]:
        item = _item(organization_id, item_id)
        source = _place(organization_id, from_location_id, "from_location_id")
        target = _place(organization_id, to_location_id, "to_location_id")
        if source.pk == target.pk:
            raise ValidationFailed("Choose two different locations.", field="to_location_id")
        lot = _lot_of(item, lot_id)
        balances = _lock(item, [source.pk, target.pk])
        moves = []
        for balance, taken in _allocate(balances, item, source, amount, lot):
            _change(balance, -taken)
            _change(_balance(balances, item, target.pk, balance.lot_id), taken)
            moves.append(
                _move(
                    actor,
                    item,
                    MoveKind.TRANSFER,
                    taken,
                    lot_id=balance.lot_id,
                    from_location=source,
                    to_location=target,
                    note=text,
                )
            )
        return moves

    return _run(work)


def consume_stock(
    *, actor: Actor, item_id: Any, stock_location_id: Any, quantity: Any, lot_id: Any = None, note: str = ""
) -> list[StockMove]:
    """Record supplies used at a location (first expiry first out unless a lot is named)."""
    actor.require(Permission.INVENTORY_MOVE)
    organization_id = _organization_id(actor)
    amount = _quantity(quantity)
    text = _text(note, "note", "Note", MAX_NOTE)

    def work() -> list[StockMove]:
        item = _item(organization_id, item_id)
        place = _place(organization_id, stock_location_id)
        lot = _lot_of(item, lot_id)
        balances = _lock(item, [place.pk])
        moves = []
        for balance, taken in _allocate(balances, item, place, amount, lot):
            _change(balance, -taken)
            moves.append(
                _move(
                    actor,
                    item,
                    MoveKind.CONSUME,
                    taken,
                    lot_id=balance.lot_id,
                    from_location=place,
                    note=text,
                )
            )
        return moves

    return _run(work)


def adjust_stock(
    *,
    actor: Actor,
    item_id: Any,
    stock_location_id: Any,
    change: Any,
    reason: str,
    lot_id: Any = None,
    note: str = "",
) -> StockMove:
    """Add or remove stock for a stated reason (damaged, expired, found …). `change` is signed."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    if isinstance(change, bool):
        raise InvalidQuantity("The change must be a whole number.", field="change")
    try:
        delta = int(change)
    except (TypeError, ValueError):
        raise InvalidQuantity("The change must be a whole number.", field="change") from None
    if delta == 0:
        raise InvalidQuantity("The change must not be zero.", field="change")
    amount = _quantity(abs(delta), "change")
    if reason not in AdjustReason.values:
        raise ValidationFailed("Choose the reason for the adjustment.", field="reason")
    text = _text(note, "note", "Note", MAX_NOTE, required=reason == AdjustReason.OTHER)

    def work() -> StockMove:
        item = _item(organization_id, item_id)
        place = _place(organization_id, stock_location_id)
        lot = _lot_of(item, lot_id)
        if item.tracks_lots and lot is None:
            raise ValidationFailed(f"{item.name} is tracked by lot: choose the lot.", field="lot_id")
        balances = _lock(item, [place.pk])
        balance = _balance(balances, item, place.pk, lot.pk if lot else None)
        if delta < 0 and balance.quantity < amount:
            raise _short(item, place, amount, balance.quantity, lot)
        _change(balance, delta)
        direction = {"to_location": place} if delta > 0 else {"from_location": place}
        return _move(actor, item, MoveKind.ADJUST, amount, lot=lot, reason=reason, note=text, **direction)

    return _run(work)


def count_stock(
    *, actor: Actor, item_id: Any, stock_location_id: Any, counted: Any, lot_id: Any = None, note: str = ""
) -> StockMove | None:
    """A physical count: the balance becomes what was counted and the difference is a `count` move
    (None when the count matched)."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    number = _quantity(counted, "counted", allow_zero=True)
    text = _text(note, "note", "Note", MAX_NOTE)

    def work() -> StockMove | None:
        item = _item(organization_id, item_id)
        place = _place(organization_id, stock_location_id)
        lot = _lot_of(item, lot_id)
        if item.tracks_lots and lot is None:
            raise ValidationFailed(f"{item.name} is tracked by lot: count one lot at a time.", field="lot_id")
        balances = _lock(item, [place.pk])
        balance = _balance(balances, item, place.pk, lot.pk if lot else None)
        delta = number - balance.quantity
        if delta == 0:
            return None
        _change(balance, delta)
        direction = {"to_location": place} if delta > 0 else {"from_location": place}
        return _move(actor, item, MoveKind.COUNT, abs(delta), lot=lot, note=text, **direction)

    return _run(work)


@dataclass(frozen=True)
class VisitUse:
    item_id: int
    wanted: int
    consumed: int


def consume_for_fulfilled_visit(actor: Actor, visit: FulfilledVisit) -> list[VisitUse]:
    """Scheduling hook: a completed visit uses its visit type's supplies in its room.

    Runs inside the transaction that completes the visit. A visit that took place is not undone for want
    of stock: what the room holds is consumed and the shortfall is named in the audit row (the room then
    shows as out of stock and below par). Nothing happens for a visit type without a supply list or a
    visit without a stocked room."""
    supplies = list(
        VisitTypeSupply.objects.filter(
            organization_id=visit.organization_id, visit_type_id=visit.visit_type_id
        )
        .select_related("item")
        .order_by("item_id")
    )
    if not supplies:
        return []
    room = (
        StockLocation.objects.filter(organization_id=visit.organization_id, room_id__in=visit.resource_ids)
        .order_by("pk")
        .first()
    )
    if room is None:
        return []
    uses: list[VisitUse] = []
    for supply in supplies:
        item = supply.item
        balances = _lock(item, [room.pk])
        available = sum(s.quantity for s in _on_hand(balances, room.pk))
        wanted = supply.quantity
        taking = min(wanted, available)
        if taking:
            for balance, taken in _allocate(balances, item, room, taking, None):
                _change(balance, -taken)
                _move(
                    actor,
                    item,
                    MoveKind.CONSUME,
                    taken,
                    lot_id=balance.lot_id,
                    from_location=room,
                    appointment_id=visit.appointment_id,
                    visit_type_id=visit.visit_type_id,
                    patient_id=visit.patient_id,
                    note="Used by a completed visit",
                )
        uses.append(VisitUse(item.pk, wanted, taking))
    audit.record(
        actor=actor,
        action=AuditAction.INVENTORY_VISIT_SUPPLIES_CREATE,
        patient_id=visit.patient_id,
        object_type="scheduling.appointment",
        object_id=str(visit.appointment_id),
        detail={
            "stock_location": room.pk,
            "used": [{"item": u.item_id, "wanted": u.wanted, "consumed": u.consumed} for u in uses],
            "short": [u.item_id for u in uses if u.consumed < u.wanted],
        },
    )
    return uses


# --- purchase orders --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLineInput:
    item_id: Any
    quantity: Any
    unit_cost: Any = None  # default: the item's unit cost


@dataclass(frozen=True)
class ReceiptInput:
    line_id: Any
    quantity: Any
    lot_number: str = ""
    expires_on: dt.date | None = None


def _locked_order(organization_id: int, order_id: Any) -> PurchaseOrder:
    pk = _as_id(order_id, "order_id")
    order = (
        PurchaseOrder.objects.select_for_update()
        .filter(organization_id=organization_id, pk=pk)
        .select_related("vendor", "ship_to")
        .first()
    )
    if order is None:
        raise PurchaseOrderNotFound(f"No purchase order with id {order_id}.", details={"id": pk})
    return order


def create_purchase_order(
    *,
    actor: Actor,
    vendor_id: Any,
    ship_to_id: Any,
    lines: Sequence[OrderLineInput],
    notes: str = "",
) -> PurchaseOrder:
    """A draft order to one vendor, delivered to one stock location."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    text = _text(notes, "notes", "Notes", 500)
    if not lines:
        raise ValidationFailed("Add at least one line.", field="lines")

    def work() -> PurchaseOrder:
        vendor_pk = _as_id(vendor_id, "vendor_id")
        vendor = Vendor.objects.filter(organization_id=organization_id, pk=vendor_pk).first()
        if vendor is None:
            raise VendorNotFound(f"No vendor with id {vendor_id}.", field="vendor_id")
        ship_to = _place(organization_id, ship_to_id, "ship_to_id")
        cleaned: list[tuple[Item, int, Decimal]] = []
        for line in lines:
            item = _item(organization_id, line.item_id)
            if any(existing.pk == item.pk for existing, _, _ in cleaned):
                raise ValidationFailed(f"{item.name} is on the order twice.", field="lines")
            cost = item.unit_cost if line.unit_cost in (None, "") else _money(line.unit_cost, "unit_cost")
            cleaned.append((item, _quantity(line.quantity), cost))
        order = PurchaseOrder.objects.create(
            organization_id=organization_id,
            vendor=vendor,
            ship_to=ship_to,
            notes=text,
            created_by_id=actor.user_id,
            created_by_name=actor.username,
        )
        PurchaseOrderLine.objects.bulk_create(
            PurchaseOrderLine(order=order, item=item, quantity_ordered=qty, unit_cost=cost)
            for item, qty, cost in cleaned
        )
        return order

    return _run(work)


def send_purchase_order(*, actor: Actor, order_id: Any) -> PurchaseOrder:
    """A draft goes to the vendor (sending itself is outside Caredesk for now: e-mail, portal, fax)."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)

    def work() -> PurchaseOrder:
        order = _locked_order(organization_id, order_id)
        if order.status != PurchaseOrderStatus.DRAFT:
            raise InvalidOrderTransition(
                f"Only a draft can be sent; {order.number} is {order.get_status_display().lower()}."
            )
        order.status = PurchaseOrderStatus.SENT
        order.sent_at = timezone.now()
        order.save(update_fields=["status", "sent_at", "updated_at"])
        return order

    return _run(work)


def cancel_purchase_order(*, actor: Actor, order_id: Any) -> PurchaseOrder:
    """Nothing more will come (what was received stays in stock)."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)

    def work() -> PurchaseOrder:
        order = _locked_order(organization_id, order_id)
        if order.status not in CANCELLABLE_STATUSES:
            raise InvalidOrderTransition(
                f"{order.number} is {order.get_status_display().lower()} and cannot be cancelled."
            )
        order.status = PurchaseOrderStatus.CANCELLED
        order.closed_at = timezone.now()
        order.save(update_fields=["status", "closed_at", "updated_at"])
        return order

    return _run(work)


def receive_purchase_order(
    *,
    actor: Actor,
    order_id: Any,
    receipts: Sequence[ReceiptInput],
    confirm_over_receipt: bool = False,
) -> list[StockMove]:
    """Receive some or all of a sent order into its ship-to location. A line receiving more than it still
    awaits is refused (`OverReceipt`, nothing received) unless `confirm_over_receipt`."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)

    def work() -> list[StockMove]:
        order = _locked_order(organization_id, order_id)
        if order.status not in RECEIVABLE_STATUSES:
            raise InvalidOrderTransition(
                f"{order.number} is {order.get_status_display().lower()}: only a sent order can be received."
            )
        lines = {
            line.pk: line for line in order.lines.select_for_update().select_related("item").order_by("pk")
        }
        wanted: list[tuple[PurchaseOrderLine, int, ReceiptInput]] = []
        for receipt in receipts:
            pk = _as_id(receipt.line_id, "line_id")
            line = lines.get(pk)
            if line is None:
                raise ValidationFailed(f"{order.number} has no line {receipt.line_id}.", field="line_id")
            amount = _quantity(receipt.quantity, f"line_{pk}", allow_zero=True)
            if amount:
                wanted.append((line, amount, receipt))
        if not wanted:
            raise InvalidQuantity("Enter how many arrived on at least one line.", field="lines")
        over = [(line, amount) for line, amount, _ in wanted if amount > line.outstanding]
        if over and not confirm_over_receipt:
            names = "; ".join(
                f"{line.item.name}: {amount} received, {line.outstanding} awaited" for line, amount in over
            )
            raise OverReceipt(
                f"More than ordered ({names}). Confirm to receive it anyway; nothing was received.",
                field="confirm_over_receipt",
                details={
                    "lines": [
                        {"line_id": line.pk, "received": amount, "awaited": line.outstanding}
                        for line, amount in over
                    ]
                },
            )
        moves = []
        for line, amount, receipt in wanted:
            lot = _get_lot(line.item, receipt.lot_number, receipt.expires_on)
            moves.append(
                _receive(
                    actor, line.item, order.ship_to, amount, lot, unit_cost=line.unit_cost, order_line=line
                )
            )
            PurchaseOrderLine.objects.filter(pk=line.pk).update(
                quantity_received=F("quantity_received") + amount
            )
            line.quantity_received += amount
        complete = all(line.quantity_received >= line.quantity_ordered for line in lines.values())
        order.status = PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTLY_RECEIVED
        order.closed_at = timezone.now() if complete else None
        order.save(update_fields=["status", "closed_at", "updated_at"])
        return moves

    return _run(work)


# --- reorder tasks ----------------------------------------------------------------------------------------


def reorder_task_key(item_id: int, stock_location_id: int, episode: int) -> str:
    return f"inventory:reorder:{item_id}:{stock_location_id}:{episode}"


def create_reorder_tasks(*, actor: Actor) -> int:
    """One worklist task each time an item falls below its reorder point at a purchasing location (a
    fall is counted from the last time it was at or above the point, so running this again, or while the
    item stays low, creates nothing new). Returns how many tasks were created."""
    organization_id = _organization_id(actor)
    now = timezone.now()
    created = 0
    for row in selectors.reorder_positions(organization_id):
        with transaction.atomic():
            watch, _ = ReorderWatch.objects.select_for_update().get_or_create(
                item_id=row.item_id, stock_location_id=row.stock_location_id, defaults={"changed_at": now}
            )
            below = rules.is_below_reorder_point(row.on_hand, row.reorder_point)
            if below == watch.below:
                continue
            watch.below = below
            watch.changed_at = now
            if below:
                watch.episode += 1
            watch.save(update_fields=["below", "episode", "changed_at"])
            if not below:
                continue
            result = worklist.create_task(
                actor=actor,
                data=worklist.NewTask(
                    title=f"Reorder {row.item_name}: {row.on_hand} left at {row.location_name}",
                    description=(
                        f"{row.item_name} is below its reorder point ({row.reorder_point}) at "
                        f"{row.location_name}: {row.on_hand} on hand, {row.on_order} on order. "
                        "Raise a purchase order from Supplies → Reorder."
                    ),
                    queue=TaskQueue.CARE_COORDINATION,
                    task_type=TaskType.SUPPLY_REORDER,
                    priority=TaskPriority.HIGH if row.on_hand == 0 else TaskPriority.NORMAL,
                    source_type="inventory.stocklocation",  # the worklist links the location's stock page
                    source_id=str(row.stock_location_id),
                    dedupe_key=reorder_task_key(row.item_id, row.stock_location_id, watch.episode),
                ),
            )
            created += int(result.created)
    return created


# --- setup ------------------------------------------------------------------------------------------------


def _unique(work: Callable[[], T], message: str) -> T:
    try:
        with transaction.atomic():
            return work()
    except IntegrityError as exc:
        raise DuplicateName(message) from exc


def create_vendor(
    *, actor: Actor, name: str, account_number: str = "", email: str = "", phone: str = ""
) -> Vendor:
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    clean = _text(name, "name", "Name", 120, required=True)
    return _unique(
        lambda: Vendor.objects.create(
            organization_id=organization_id,
            name=clean,
            account_number=_text(account_number, "account_number", "Account number", 40),
            email=_text(email, "email", "E-mail", 254),
            phone=_text(phone, "phone", "Phone", 30),
        ),
        f"There is already a vendor named {clean}.",
    )


@dataclass(frozen=True)
class ItemInput:
    name: str
    sku: str
    unit: str = "each"
    vendor_id: int | None = None
    unit_cost: Any = "0"
    reorder_point: Any = 0
    reorder_quantity: Any = 1
    tracks_lots: bool = False


def create_item(*, actor: Actor, data: ItemInput) -> Item:
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    name = _text(data.name, "name", "Name", 120, required=True)
    sku = _text(data.sku, "sku", "Code", 40, required=True).lower()
    vendor = None
    if data.vendor_id not in (None, ""):
        vendor = Vendor.objects.filter(
            organization_id=organization_id, pk=_as_id(data.vendor_id, "vendor_id")
        ).first()
        if vendor is None:
            raise VendorNotFound(f"No vendor with id {data.vendor_id}.", field="vendor_id")
    values = {
        "organization_id": organization_id,
        "name": name,
        "sku": sku,
        "unit": _text(data.unit, "unit", "Unit", 20, required=True),
        "vendor": vendor,
        "unit_cost": _money(data.unit_cost, "unit_cost"),
        "reorder_point": _quantity(data.reorder_point, "reorder_point", allow_zero=True),
        "reorder_quantity": _quantity(data.reorder_quantity, "reorder_quantity"),
        "tracks_lots": bool(data.tracks_lots),
    }
    return _unique(lambda: Item.objects.create(**values), f"There is already an item with code {sku}.")


def create_stock_location(
    *, actor: Actor, name: str, kind: str, location_id: Any, room_id: Any = None
) -> StockLocation:
    """A place that holds stock; a room may name its scheduling room so visits there consume from it."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    clean = _text(name, "name", "Name", 120, required=True)
    if kind not in StockLocationKind.values:
        raise ValidationFailed("Choose central supply, a clinic stockroom or a room.", field="kind")
    location = (
        scheduling_selectors.location_queryset(actor).filter(pk=_as_id(location_id, "location_id")).first()
    )
    if location is None:
        raise ValidationFailed(f"No location with id {location_id}.", field="location_id")
    room = None
    if room_id not in (None, ""):
        if kind != StockLocationKind.ROOM:
            raise ValidationFailed("Only a room stock location names a scheduling room.", field="room_id")
        room = (
            scheduling_selectors.resource_queryset(actor)
            .filter(pk=_as_id(room_id, "room_id"), kind="room")
            .first()
        )
        if room is None:
            raise ValidationFailed(f"No room with id {room_id}.", field="room_id")
    return _unique(
        lambda: StockLocation.objects.create(
            organization_id=organization_id, name=clean, kind=kind, location=location, room=room
        ),
        f"There is already a stock location named {clean}, or one for that room.",
    )


def set_par_level(*, actor: Actor, stock_location_id: Any, item_id: Any, quantity: Any) -> ParLevel | None:
    """Set (or, with 0, remove) the par level of an item at a stock location."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    par = _quantity(quantity, allow_zero=True)

    def work() -> ParLevel | None:
        place = _place(organization_id, stock_location_id)
        item = _item(organization_id, item_id)
        if par == 0:
            ParLevel.objects.filter(stock_location=place, item=item).delete()
            return None
        level, _ = ParLevel.objects.update_or_create(
            stock_location=place, item=item, defaults={"quantity": par}
        )
        return level

    return _run(work)


def set_visit_type_supply(
    *, actor: Actor, visit_type_id: Any, item_id: Any, quantity: Any
) -> VisitTypeSupply | None:
    """What one visit of a type uses (0 removes the item from its list)."""
    actor.require(Permission.INVENTORY_MANAGE)
    organization_id = _organization_id(actor)
    amount = _quantity(quantity, allow_zero=True)

    def work() -> VisitTypeSupply | None:
        visit_type = (
            scheduling_selectors.visit_type_queryset(actor)
            .filter(pk=_as_id(visit_type_id, "visit_type_id"))
            .first()
        )
        if visit_type is None:
            raise ValidationFailed(f"No visit type with id {visit_type_id}.", field="visit_type_id")
        item = _item(organization_id, item_id)
        if amount == 0:
            VisitTypeSupply.objects.filter(visit_type=visit_type, item=item).delete()
            return None
        supply, _ = VisitTypeSupply.objects.update_or_create(
            visit_type=visit_type,
            item=item,
            defaults={"quantity": amount, "organization_id": organization_id},
        )
        return supply

    return _run(work)

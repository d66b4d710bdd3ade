"""Inventory read queries, scoped to the actor's organization (a record of another organization is "not
found", the same as one that does not exist). No patient data leaves these selectors: moves of a visit
name the appointment, never the patient, so they write no audit rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.scheduling import selectors as scheduling_selectors
from caredesk.scheduling.choices import AppointmentStatus

from . import rules
from .choices import OPEN_ORDER_STATUSES, PURCHASING_KINDS, MoveKind, StockLocationKind
from .errors import PurchaseOrderNotFound, StockLocationNotFound
from .models import (
    Item,
    Lot,
    ParLevel,
    PurchaseOrder,
    PurchaseOrderLine,
    StockBalance,
    StockLocation,
    StockMove,
    Vendor,
    VisitTypeSupply,
)

#: Appointments that will (probably) take place: they use supplies tomorrow.
_EXPECTED = (
    AppointmentStatus.PROPOSED,
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_PROGRESS,
)


def _org(actor: Actor) -> int | None:
    if actor.organization_id is None or not actor.has(Permission.INVENTORY_VIEW):
        return None
    return actor.organization_id


def item_queryset(actor: Actor) -> QuerySet[Item]:
    org = _org(actor)
    return Item.objects.none() if org is None else Item.objects.filter(organization_id=org)


def vendor_queryset(actor: Actor) -> QuerySet[Vendor]:
    org = _org(actor)
    return Vendor.objects.none() if org is None else Vendor.objects.filter(organization_id=org)


def stock_location_queryset(actor: Actor) -> QuerySet[StockLocation]:
    org = _org(actor)
    if org is None:
        return StockLocation.objects.none()
    return StockLocation.objects.filter(organization_id=org).select_related("location", "room")


def order_queryset(actor: Actor) -> QuerySet[PurchaseOrder]:
    org = _org(actor)
    if org is None:
        return PurchaseOrder.objects.none()
    return PurchaseOrder.objects.filter(organization_id=org).select_related("vendor", "ship_to")


def move_queryset(actor: Actor) -> QuerySet[StockMove]:
    org = _org(actor)
    if org is None:
        return StockMove.objects.none()
    return StockMove.objects.filter(organization_id=org).select_related(
        "item", "lot", "from_location", "to_location"
    )


def get_stock_location(*, actor: Actor, stock_location_id: int) -> StockLocation:
    place = stock_location_queryset(actor).filter(pk=stock_location_id).first()
    if place is None:
        raise StockLocationNotFound(f"No stock location with id {stock_location_id}.")
    return place


def get_order(*, actor: Actor, order_id: int) -> PurchaseOrder:
    order = order_queryset(actor).filter(pk=order_id).first()
    if order is None:
        raise PurchaseOrderNotFound(f"No purchase order with id {order_id}.")
    return order


def order_lines(order: PurchaseOrder) -> list[PurchaseOrderLine]:
    return list(order.lines.select_related("item").order_by("pk"))


def order_receipts(order: PurchaseOrder) -> QuerySet[StockMove]:
    return StockMove.objects.filter(order_line__order=order).select_related("item", "lot").order_by("pk")


# --- stock on hand ----------------------------------------------------------------------------------------


@dataclass
class StockRow:
    item: Item
    on_hand: int
    par: int | None
    lots: list[tuple[Lot, int]] = field(default_factory=list)

    @property
    def below_par(self) -> bool:
        return self.par is not None and self.on_hand < self.par

    @property
    def out(self) -> bool:
        return self.on_hand == 0


@dataclass
class PlaceStock:
    place: StockLocation
    rows: list[StockRow]

    @property
    def below_par_count(self) -> int:
        return sum(1 for row in self.rows if row.below_par)


def _stock(places: list[StockLocation]) -> list[PlaceStock]:
    ids = [p.pk for p in places]
    on_hand: dict[tuple[int, int], int] = defaultdict(int)
    lots: dict[tuple[int, int], list[tuple[Lot, int]]] = defaultdict(list)
    items: dict[int, Item] = {}
    for balance in StockBalance.objects.filter(stock_location_id__in=ids).select_related("item", "lot"):
        key = (balance.stock_location_id, balance.item_id)
        on_hand[key] += balance.quantity
        items[balance.item_id] = balance.item
        if balance.lot is not None and balance.quantity > 0:
            lots[key].append((balance.lot, balance.quantity))
    pars: dict[tuple[int, int], int] = {}
    for level in ParLevel.objects.filter(stock_location_id__in=ids).select_related("item"):
        pars[(level.stock_location_id, level.item_id)] = level.quantity
        items[level.item_id] = level.item
    result = []
    for place in places:
        keys = sorted(
            {k for k in on_hand if k[0] == place.pk} | {k for k in pars if k[0] == place.pk},
            key=lambda k: items[k[1]].name.lower(),
        )
        rows = [
            StockRow(items[k[1]], on_hand.get(k, 0), pars.get(k), sorted(lots.get(k, []), key=_lot_order))
            for k in keys
        ]
        result.append(PlaceStock(place, rows))
    return result


def _lot_order(entry: tuple[Lot, int]) -> tuple[dt.date, str]:
    return (entry[0].expires_on or dt.date.max, entry[0].lot_number)


def stock_by_location(*, actor: Actor, stock_location_id: int | None = None) -> list[PlaceStock]:
    """Each stock location with what it holds against its par levels."""
    places = stock_location_queryset(actor).filter(active=True).order_by("kind", "name")
    if stock_location_id is not None:
        places = places.filter(pk=stock_location_id)
    return _stock(list(places))


# --- reorder ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    item_id: int
    item_name: str
    unit: str
    vendor_id: int | None
    vendor_name: str
    stock_location_id: int
    location_name: str
    on_hand: int
    on_order: int
    reorder_point: int
    reorder_quantity: int

    @property
    def suggested(self) -> int:
        return rules.reorder_quantity(
            on_hand=self.on_hand,
            on_order=self.on_order,
            reorder_point=self.reorder_point,
            reorder_quantity=self.reorder_quantity,
        )


def reorder_positions(organization_id: int) -> list[Position]:
    """Every active item with a reorder point, at every active purchasing location of the organization."""
    items = list(
        Item.objects.filter(organization_id=organization_id, active=True, reorder_point__gt=0)
        .select_related("vendor")
        .order_by("name")
    )
    places = list(
        StockLocation.objects.filter(
            organization_id=organization_id, active=True, kind__in=PURCHASING_KINDS
        ).order_by("name")
    )
    if not items or not places:
        return []
    held: dict[tuple[int, int], int] = defaultdict(int)
    for row in (
        StockBalance.objects.filter(stock_location__in=places, item__in=items)
        .values("item_id", "stock_location_id")
        .annotate(total=Sum("quantity"))
    ):
        held[(row["item_id"], row["stock_location_id"])] = row["total"] or 0
    ordered: dict[tuple[int, int], int] = defaultdict(int)
    for line in PurchaseOrderLine.objects.filter(
        order__organization_id=organization_id, order__status__in=OPEN_ORDER_STATUSES
    ).values_list("item_id", "order__ship_to_id", "quantity_ordered", "quantity_received"):
        item_id, ship_to_id, quantity_ordered, quantity_received = line
        ordered[(item_id, ship_to_id)] += max(quantity_ordered - quantity_received, 0)
    return [
        Position(
            item_id=item.pk,
            item_name=item.name,
            unit=item.unit,
            vendor_id=item.vendor_id,
            vendor_name=item.vendor.name if item.vendor else "",
            stock_location_id=place.pk,
            location_name=place.name,
            on_hand=held[(item.pk, place.pk)],
            on_order=ordered[(item.pk, place.pk)],
            reorder_point=item.reorder_point,
            reorder_quantity=item.reorder_quantity,
        )
        for item in items
        for place in places
    ]


def reorder_suggestions(*, actor: Actor) -> list[Position]:
    """Items below their reorder point (counting what is already on order) and how many to order."""
    org = _org(actor)
    if org is None:
        return []
    return [p for p in reorder_positions(org) if p.suggested > 0]


# --- expiry -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiringLot:
    item: Item
    lot: Lot
    place: StockLocation
    quantity: int
    expired: bool


def expiring_lots(
    *, actor: Actor, today: dt.date | None = None, days: int = rules.EXPIRY_WARNING_DAYS
) -> list[ExpiringLot]:
    """Lots in stock that expire within `days` (30) days, or have expired."""
    org = _org(actor)
    if org is None:
        return []
    today = today or timezone.localdate()
    rows = (
        StockBalance.objects.filter(
            item__organization_id=org,
            quantity__gt=0,
            lot__expires_on__isnull=False,
            lot__expires_on__lte=today + dt.timedelta(days=days),
        )
        .select_related("item", "lot", "stock_location")
        .order_by("lot__expires_on", "item__name", "stock_location__name")
    )
    found = []
    for b in rows:
        lot = b.lot
        if lot is not None and lot.expires_on is not None:
            found.append(ExpiringLot(b.item, lot, b.stock_location, b.quantity, lot.expires_on < today))
    return found


# --- restock pick list ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PickLine:
    item: Item
    par: int
    on_hand: int
    tomorrow: int
    pick: int
    available: int  # at the source

    @property
    def short(self) -> bool:
        return self.pick > self.available


@dataclass(frozen=True)
class PickList:
    room: StockLocation
    source: StockLocation | None
    day: dt.date
    visits: int
    lines: list[PickLine]


def _zone(place: StockLocation) -> ZoneInfo:
    try:
        return ZoneInfo(place.location.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def tomorrow_for(place: StockLocation, now: dt.datetime | None = None) -> dt.date:
    return ((now or timezone.now()).astimezone(_zone(place)) + dt.timedelta(days=1)).date()


def source_for(place: StockLocation) -> StockLocation | None:
    """Where a room is restocked from: central supply at its site, else any central supply."""
    centrals = StockLocation.objects.filter(
        organization_id=place.organization_id, kind=StockLocationKind.CENTRAL, active=True
    ).order_by("pk")
    return centrals.filter(location_id=place.location_id).first() or centrals.first()


def pick_list(*, actor: Actor, stock_location_id: int, day: dt.date | None = None) -> PickList:
    """What to bring to a room: par level minus on hand, plus what the visits booked there on `day`
    (default: tomorrow in the room's time zone) will use by their visit types' supply lists."""
    room = get_stock_location(actor=actor, stock_location_id=stock_location_id)
    day = day or tomorrow_for(room)
    zone = _zone(room)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = start + dt.timedelta(days=1)
    visits_by_type: dict[int, int] = {}
    if room.room_id is not None:
        rows = (
            scheduling_selectors.appointment_queryset(actor)
            .filter(
                bookings__resource_id=room.room_id,
                starts_at__gte=start,
                starts_at__lt=end,
                status__in=_EXPECTED,
            )
            .values("visit_type_id")
            .annotate(n=Count("pk", distinct=True))
        )
        visits_by_type = {row["visit_type_id"]: row["n"] for row in rows}
    tomorrow: dict[int, int] = defaultdict(int)
    for supply in VisitTypeSupply.objects.filter(
        organization_id=room.organization_id, visit_type_id__in=list(visits_by_type)
    ):
        tomorrow[supply.item_id] += supply.quantity * visits_by_type[supply.visit_type_id]
    (stock,) = _stock([room])
    rows_by_item = {row.item.pk: row for row in stock.rows}
    items = {row.item.pk: row.item for row in stock.rows}
    for item in Item.objects.filter(pk__in=[k for k in tomorrow if k not in items]):
        items[item.pk] = item
    source = source_for(room)
    available: dict[int, int] = defaultdict(int)
    if source is not None:
        for total in (
            StockBalance.objects.filter(stock_location=source, item_id__in=list(items))
            .values("item_id")
            .annotate(total=Sum("quantity"))
        ):
            available[total["item_id"]] = total["total"] or 0
    lines = []
    for pk, item in sorted(items.items(), key=lambda kv: kv[1].name.lower()):
        row = rows_by_item.get(pk)
        par = (row.par if row else None) or 0
        held = row.on_hand if row else 0
        need = rules.restock_quantity(par=par, on_hand=held, tomorrow=tomorrow.get(pk, 0))
        if par or tomorrow.get(pk):
            lines.append(PickLine(item, par, held, tomorrow.get(pk, 0), need, available[pk]))
    return PickList(room, source, day, sum(visits_by_type.values()), lines)


# --- reports ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockOut:
    place: StockLocation
    item: Item
    on_hand: int
    par: int | None


def stock_report(*, actor: Actor) -> tuple[list[StockOut], list[PlaceStock]]:
    """Stock-outs (nothing left where a par level or a reorder point says there should be) and rooms
    below par (with their short rows only)."""
    outs: list[StockOut] = []
    below: list[PlaceStock] = []
    for stock in stock_by_location(actor=actor):
        for row in stock.rows:
            expected = row.par is not None or (
                stock.place.kind in PURCHASING_KINDS and row.item.reorder_point > 0
            )
            if row.on_hand == 0 and expected:
                outs.append(StockOut(stock.place, row.item, 0, row.par))
        short = [row for row in stock.rows if row.below_par]
        if short and stock.place.kind == StockLocationKind.ROOM:
            below.append(PlaceStock(stock.place, short))
    return outs, below


@dataclass(frozen=True)
class VisitTypeCost:
    visit_type_id: int
    name: str
    visits: int
    cost: Decimal

    @property
    def per_visit(self) -> Decimal:
        return (self.cost / self.visits).quantize(Decimal("0.01")) if self.visits else Decimal("0.00")


def cost_per_visit_type(*, actor: Actor, since: dt.date, until: dt.date) -> list[VisitTypeCost]:
    """Supplies consumed by completed visits between `since` and `until` (inclusive, by the day of the
    move), by visit type: total cost at the unit costs of the day and cost per visit."""
    org = _org(actor)
    if org is None:
        return []
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min))
    rows = (
        StockMove.objects.filter(
            organization_id=org,
            kind=MoveKind.CONSUME,
            visit_type__isnull=False,
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .values("visit_type_id", "visit_type__name")
        .annotate(
            visits=Count("appointment_id", distinct=True),
            cost=Sum(
                ExpressionWrapper(
                    F("quantity") * F("unit_cost"), output_field=DecimalField(max_digits=14, decimal_places=2)
                )
            ),
        )
        .order_by("visit_type__name")
    )
    result = [
        VisitTypeCost(
            r["visit_type_id"],
            r["visit_type__name"],
            r["visits"],
            Decimal(r["cost"] or 0).quantize(Decimal("0.01")),
        )
        for r in rows
    ]
    return sorted(result, key=lambda c: (-c.per_visit, c.name))


def recent_moves(*, actor: Actor, stock_location_id: int | None = None, limit: int = 50) -> list[StockMove]:
    moves = move_queryset(actor)
    if stock_location_id is not None:
        moves = moves.filter(Q(from_location_id=stock_location_id) | Q(to_location_id=stock_location_id))
    return list(moves[:limit])


# --- setup ------------------------------------------------------------------------------------------------


def visit_type_choices(actor: Actor) -> list[tuple[int, str]]:
    """The organization's active visit types (for supply lists)."""
    if _org(actor) is None:
        return []
    return [
        (v.pk, v.name)
        for v in scheduling_selectors.visit_type_queryset(actor).filter(active=True).order_by("name")
    ]


def visit_type_supplies(*, actor: Actor) -> list[VisitTypeSupply]:
    org = _org(actor)
    if org is None:
        return []
    return list(
        VisitTypeSupply.objects.filter(organization_id=org)
        .select_related("visit_type", "item")
        .order_by("visit_type__name", "item__name")
    )


def par_levels(*, actor: Actor) -> list[ParLevel]:
    org = _org(actor)
    if org is None:
        return []
    return list(
        ParLevel.objects.filter(stock_location__organization_id=org)
        .select_related("stock_location", "item")
        .order_by("stock_location__name", "item__name")
    )

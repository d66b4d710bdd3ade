"""Stock moves, purchase orders, reorder suggestions and tasks, expiring lots, the restock pick list, and
a completed visit using its supplies: through the services, against the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from caredesk.audit.codes import AuditAction
from caredesk.audit.models import AuditEvent
from caredesk.core.errors import ValidationFailed
from caredesk.inventory import selectors, services
from caredesk.inventory.errors import (
    InsufficientStock,
    InvalidOrderTransition,
    InvalidQuantity,
    ItemNotFound,
    OverReceipt,
    StockLocationNotFound,
)
from caredesk.inventory.models import Item, PurchaseOrder, StockBalance, StockLocation, StockMove
from caredesk.scheduling import services as scheduling
from caredesk.worklist.models import Task

from .conftest import Supply, build_supply


def on_hand(item: Item, place: StockLocation) -> int:
    return StockBalance.objects.filter(item=item, stock_location=place).aggregate(t=Sum("quantity"))["t"] or 0


def ledger(item: Item, place: StockLocation) -> int:
    moved_in = StockMove.objects.filter(item=item, to_location=place).aggregate(t=Sum("quantity"))["t"] or 0
    moved_out = (
        StockMove.objects.filter(item=item, from_location=place).aggregate(t=Sum("quantity"))["t"] or 0
    )
    return moved_in - moved_out


def stock(s: Supply, item: Item, place: StockLocation, quantity: int, **lot: object) -> None:
    services.receive_stock(
        actor=s.admin, item_id=item.pk, stock_location_id=place.pk, quantity=quantity, **lot
    )


def snapshot() -> tuple[list[tuple[int, int]], int]:
    return list(StockBalance.objects.order_by("pk").values_list("pk", "quantity")), StockMove.objects.count()


# --- moves --------------------------------------------------------------------------------------------------


def test_receive_transfer_consume_keep_balances_equal_to_the_ledger(supply):
    stock(supply, supply.gloves, supply.central, 100)
    services.transfer_stock(
        actor=supply.nurse,
        item_id=supply.gloves.pk,
        from_location_id=supply.central.pk,
        to_location_id=supply.exam1.pk,
        quantity=12,
    )
    services.consume_stock(
        actor=supply.nurse, item_id=supply.gloves.pk, stock_location_id=supply.exam1.pk, quantity=5
    )

    assert on_hand(supply.gloves, supply.central) == 88 == ledger(supply.gloves, supply.central)
    assert on_hand(supply.gloves, supply.exam1) == 7 == ledger(supply.gloves, supply.exam1)
    assert list(StockMove.objects.order_by("pk").values_list("kind", flat=True)) == [
        "receive",
        "transfer",
        "consume",
    ]
    exam1 = selectors.stock_by_location(actor=supply.nurse, stock_location_id=supply.exam1.pk)[0]
    gloves = next(row for row in exam1.rows if row.item == supply.gloves)
    assert (gloves.on_hand, gloves.par, gloves.below_par) == (7, 10, True)


@pytest.mark.parametrize("quantity", [-3, 0, "two", 2.5, None, True])
def test_bad_quantities_are_refused_and_change_nothing(supply, quantity):
    stock(supply, supply.gloves, supply.exam1, 10)
    before = snapshot()
    with pytest.raises(InvalidQuantity):
        services.consume_stock(
            actor=supply.nurse, item_id=supply.gloves.pk, stock_location_id=supply.exam1.pk, quantity=quantity
        )
    with pytest.raises(InvalidQuantity):
        services.receive_stock(
            actor=supply.admin, item_id=supply.gloves.pk, stock_location_id=supply.exam1.pk, quantity=quantity
        )
    assert snapshot() == before


def test_unknown_item_or_location_and_another_organizations_are_not_found(supply, other_org):
    theirs = build_supply_for(other_org)
    before = snapshot()
    with pytest.raises(ItemNotFound):
        services.consume_stock(
            actor=supply.nurse, item_id=999999, stock_location_id=supply.exam1.pk, quantity=1
        )
    with pytest.raises(StockLocationNotFound):
        services.consume_stock(
            actor=supply.nurse, item_id=supply.gloves.pk, stock_location_id=999999, quantity=1
        )
    with pytest.raises(ItemNotFound):
        services.consume_stock(
            actor=supply.nurse, item_id=theirs.gloves.pk, stock_location_id=supply.exam1.pk, quantity=1
        )
    assert snapshot() == before


def build_supply_for(org):
    from caredesk.accounts.models import Location

    Location.objects.get_or_create(organization=org, name="Riverside Main Clinic", defaults={"state": "NJ"})
    return build_supply(org)


def test_transferring_more_than_on_hand_says_not_enough_and_moves_nothing(supply):
    stock(supply, supply.gloves, supply.central, 5)
    before = snapshot()
    with pytest.raises(InsufficientStock) as refused:
        services.transfer_stock(
            actor=supply.nurse,
            item_id=supply.gloves.pk,
            from_location_id=supply.central.pk,
            to_location_id=supply.exam1.pk,
            quantity=6,
        )
    assert "Not enough stock" in refused.value.message
    assert "Central supply has 5 pair" in refused.value.message
    assert snapshot() == before


def test_a_transfer_to_the_same_place_is_refused(supply):
    stock(supply, supply.gloves, supply.central, 5)
    with pytest.raises(ValidationFailed):
        services.transfer_stock(
            actor=supply.nurse,
            item_id=supply.gloves.pk,
            from_location_id=supply.central.pk,
            to_location_id=supply.central.pk,
            quantity=1,
        )


def test_lots_go_first_expiry_first_out_and_lot_tracked_items_need_a_lot_number(supply):
    today = timezone.localdate()
    with pytest.raises(ValidationFailed):
        stock(supply, supply.vaccine, supply.central, 10)
    stock(
        supply,
        supply.vaccine,
        supply.central,
        10,
        lot_number="LATE",
        expires_on=today + dt.timedelta(days=200),
    )
    stock(
        supply, supply.vaccine, supply.central, 4, lot_number="SOON", expires_on=today + dt.timedelta(days=20)
    )
    moves = services.transfer_stock(
        actor=supply.nurse,
        item_id=supply.vaccine.pk,
        from_location_id=supply.central.pk,
        to_location_id=supply.exam1.pk,
        quantity=6,
    )
    assert [(m.lot.lot_number, m.quantity) for m in moves] == [("SOON", 4), ("LATE", 2)]
    assert on_hand(supply.vaccine, supply.exam1) == 6 == ledger(supply.vaccine, supply.exam1)

    expiring = selectors.expiring_lots(actor=supply.nurse)
    assert {(e.lot.lot_number, e.place.name, e.quantity) for e in expiring} == {("SOON", "Exam 1 cabinet", 4)}


def test_adjust_needs_a_reason_and_cannot_go_below_zero(supply):
    stock(supply, supply.gauze, supply.exam1, 3)
    before = snapshot()
    with pytest.raises(ValidationFailed):
        services.adjust_stock(
            actor=supply.admin,
            item_id=supply.gauze.pk,
            stock_location_id=supply.exam1.pk,
            change=-1,
            reason="",
        )
    with pytest.raises(InsufficientStock):
        services.adjust_stock(
            actor=supply.admin,
            item_id=supply.gauze.pk,
            stock_location_id=supply.exam1.pk,
            change=-4,
            reason="damaged",
        )
    assert snapshot() == before
    move = services.adjust_stock(
        actor=supply.admin,
        item_id=supply.gauze.pk,
        stock_location_id=supply.exam1.pk,
        change=-2,
        reason="damaged",
    )
    assert (move.kind, move.quantity, move.reason, move.from_location_id) == (
        "adjust",
        2,
        "damaged",
        supply.exam1.pk,
    )
    assert on_hand(supply.gauze, supply.exam1) == 1 == ledger(supply.gauze, supply.exam1)


def test_a_count_sets_the_balance_and_records_the_difference(supply):
    stock(supply, supply.gauze, supply.exam1, 10)
    move = services.count_stock(
        actor=supply.admin, item_id=supply.gauze.pk, stock_location_id=supply.exam1.pk, counted=7
    )
    assert (move.kind, move.quantity, move.from_location_id) == ("count", 3, supply.exam1.pk)
    up = services.count_stock(
        actor=supply.admin, item_id=supply.gauze.pk, stock_location_id=supply.exam1.pk, counted=9
    )
    assert (up.quantity, up.to_location_id) == (2, supply.exam1.pk)
    assert (
        services.count_stock(
            actor=supply.admin, item_id=supply.gauze.pk, stock_location_id=supply.exam1.pk, counted=9
        )
        is None
    )
    assert on_hand(supply.gauze, supply.exam1) == 9 == ledger(supply.gauze, supply.exam1)
    with pytest.raises(InvalidQuantity):
        services.count_stock(
            actor=supply.admin, item_id=supply.gauze.pk, stock_location_id=supply.exam1.pk, counted=-1
        )


def test_nurses_record_use_but_do_not_receive_adjust_or_order(supply):
    with pytest.raises(PermissionDenied):
        stock_as(supply.nurse, supply)
    with pytest.raises(PermissionDenied):
        services.create_purchase_order(
            actor=supply.nurse, vendor_id=supply.vendor.pk, ship_to_id=supply.central.pk, lines=[]
        )


def stock_as(actor, s: Supply) -> None:
    services.receive_stock(actor=actor, item_id=s.gloves.pk, stock_location_id=s.central.pk, quantity=1)


def test_the_database_refuses_negative_balances_and_ledger_changes(supply):
    stock(supply, supply.gloves, supply.central, 2)
    balance = StockBalance.objects.get(item=supply.gloves, stock_location=supply.central)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(pk=balance.pk).update(quantity=-1)
    with pytest.raises(TypeError):
        StockMove.objects.all().update(quantity=5)
    with pytest.raises(TypeError):
        StockMove.objects.all().delete()
    move = StockMove.objects.get()
    move.quantity = 50
    with pytest.raises(TypeError):
        move.save()


# --- purchase orders ----------------------------------------------------------------------------------------


def order_of(s: Supply, gloves: int = 50, gauze: int = 20) -> PurchaseOrder:
    return services.create_purchase_order(
        actor=s.coordinator,
        vendor_id=s.vendor.pk,
        ship_to_id=s.central.pk,
        lines=[
            services.OrderLineInput(s.gloves.pk, gloves),
            services.OrderLineInput(s.gauze.pk, gauze, "1.10"),
        ],
    )


def test_a_purchase_order_is_sent_received_in_part_then_in_full(supply):
    order = order_of(supply)
    assert order.status == "draft"
    gloves_line, gauze_line = order.lines.order_by("pk")
    assert gauze_line.unit_cost == Decimal("1.10")
    assert gloves_line.unit_cost == Decimal("0.15")
    with pytest.raises(InvalidOrderTransition):
        services.receive_purchase_order(
            actor=supply.coordinator, order_id=order.pk, receipts=[services.ReceiptInput(gloves_line.pk, 10)]
        )
    services.send_purchase_order(actor=supply.coordinator, order_id=order.pk)
    services.receive_purchase_order(
        actor=supply.coordinator, order_id=order.pk, receipts=[services.ReceiptInput(gloves_line.pk, 30)]
    )
    order.refresh_from_db()
    assert order.status == "partly_received"
    assert on_hand(supply.gloves, supply.central) == 30
    services.receive_purchase_order(
        actor=supply.coordinator,
        order_id=order.pk,
        receipts=[services.ReceiptInput(gloves_line.pk, 20), services.ReceiptInput(gauze_line.pk, 20)],
    )
    order.refresh_from_db()
    assert order.status == "received"
    assert order.closed_at is not None
    assert on_hand(supply.gloves, supply.central) == 50 == ledger(supply.gloves, supply.central)
    assert on_hand(supply.gauze, supply.central) == 20
    receipts = StockMove.objects.filter(order_line__order=order)
    assert receipts.count() == 3
    assert receipts.get(item=supply.gauze).unit_cost == Decimal("1.10")
    with pytest.raises(InvalidOrderTransition):
        services.cancel_purchase_order(actor=supply.coordinator, order_id=order.pk)


def test_receiving_more_than_ordered_needs_confirmation(supply):
    order = order_of(supply)
    services.send_purchase_order(actor=supply.coordinator, order_id=order.pk)
    gloves_line = order.lines.get(item=supply.gloves)
    before = snapshot()
    with pytest.raises(OverReceipt) as refused:
        services.receive_purchase_order(
            actor=supply.coordinator, order_id=order.pk, receipts=[services.ReceiptInput(gloves_line.pk, 60)]
        )
    assert "60 received, 50 awaited" in refused.value.message
    assert snapshot() == before
    gloves_line.refresh_from_db()
    assert gloves_line.quantity_received == 0

    services.receive_purchase_order(
        actor=supply.coordinator,
        order_id=order.pk,
        receipts=[services.ReceiptInput(gloves_line.pk, 60)],
        confirm_over_receipt=True,
    )
    assert on_hand(supply.gloves, supply.central) == 60
    order.refresh_from_db()
    assert order.status == "partly_received"  # the gauze has not come yet


def test_a_draft_can_be_cancelled_and_is_then_neither_sent_nor_on_order(supply):
    order = order_of(supply)
    services.cancel_purchase_order(actor=supply.coordinator, order_id=order.pk)
    with pytest.raises(InvalidOrderTransition):
        services.send_purchase_order(actor=supply.coordinator, order_id=order.pk)
    assert {p.item_name for p in selectors.reorder_suggestions(actor=supply.coordinator)} == {
        "Exam gloves (M)",
        "Gauze pads 4x4",
    }


# --- reorder ------------------------------------------------------------------------------------------------


def test_reorder_suggestions_count_what_is_on_order(supply):
    stock(supply, supply.gloves, supply.central, 15)
    stock(supply, supply.gauze, supply.central, 30)
    (gloves,) = selectors.reorder_suggestions(actor=supply.coordinator)
    assert (gloves.item_name, gloves.location_name, gloves.on_hand, gloves.suggested) == (
        "Exam gloves (M)",
        "Central supply",
        15,
        50,
    )
    services.create_purchase_order(
        actor=supply.coordinator,
        vendor_id=supply.vendor.pk,
        ship_to_id=supply.central.pk,
        lines=[services.OrderLineInput(supply.gloves.pk, 50)],
    )
    assert selectors.reorder_suggestions(actor=supply.coordinator) == []


def test_falling_below_the_reorder_point_makes_one_task_per_fall(supply):
    stock(supply, supply.gloves, supply.central, 25)
    stock(supply, supply.gauze, supply.central, 30)
    assert services.create_reorder_tasks(actor=supply.admin) == 0
    services.transfer_stock(
        actor=supply.nurse,
        item_id=supply.gloves.pk,
        from_location_id=supply.central.pk,
        to_location_id=supply.exam1.pk,
        quantity=10,
    )
    assert services.create_reorder_tasks(actor=supply.admin) == 1
    assert services.create_reorder_tasks(actor=supply.admin) == 0
    task = Task.objects.get(task_type="supply_reorder")
    assert task.title == "Reorder Exam gloves (M): 15 left at Central supply"
    assert task.queue == "care_coordination"
    assert (task.source_type, task.source_id) == ("inventory.stocklocation", str(supply.central.pk))
    stock(supply, supply.gloves, supply.central, 50)
    assert services.create_reorder_tasks(actor=supply.admin) == 0
    services.consume_stock(
        actor=supply.nurse, item_id=supply.gloves.pk, stock_location_id=supply.central.pk, quantity=60
    )
    assert services.create_reorder_tasks(actor=supply.admin) == 1
    assert Task.objects.filter(task_type="supply_reorder").count() == 2


# --- visits -------------------------------------------------------------------------------------------------


@pytest.fixture
def visit_setup(org, frozen_clock):
    from tests.scheduling.conftest import build_clinic

    clinic = build_clinic(org)
    s = build_supply(org, room_ids=(clinic.exam1.pk, clinic.exam2.pk))
    services.set_visit_type_supply(
        actor=s.admin, visit_type_id=clinic.follow_up.pk, item_id=s.gloves.pk, quantity=2
    )
    services.set_visit_type_supply(
        actor=s.admin, visit_type_id=clinic.follow_up.pk, item_id=s.gauze.pk, quantity=1
    )
    return clinic, s


def book(clinic, start, room, patient=None, doctor=None):
    return scheduling.book_appointment(
        actor=clinic.desk,
        request=scheduling.BookingRequest(
            patient_id=(patient or clinic.patient()).pk,
            visit_type_id=clinic.follow_up.pk,
            location_id=clinic.location.pk,
            start=start,
            resource_ids=[(doctor or clinic.dr_heart).pk, room.pk],
        ),
    )


def test_completing_a_visit_uses_its_supplies_in_its_room_and_names_the_patient_in_the_audit(
    visit_setup, frozen_clock
):
    from tests.scheduling.conftest import MONDAY, at

    clinic, s = visit_setup
    stock(s, s.gloves, s.exam1, 10)
    # No gauze in the room: the visit still completes; what is missing is noted.
    appointment = book(clinic, at(MONDAY, 9), clinic.exam1)
    frozen_clock(at(MONDAY, 9))
    scheduling.check_in(actor=clinic.desk, appointment_id=appointment.pk)
    scheduling.change_status(actor=clinic.desk, appointment_id=appointment.pk, status="fulfilled")

    assert on_hand(s.gloves, s.exam1) == 8 == ledger(s.gloves, s.exam1)
    use = StockMove.objects.get(appointment_id=appointment.pk)
    assert (use.kind, use.quantity, use.patient_id, use.visit_type_id) == (
        "consume",
        2,
        appointment.patient_id,
        clinic.follow_up.pk,
    )
    event = AuditEvent.objects.get(action=int(AuditAction.INVENTORY_VISIT_SUPPLIES_CREATE))
    assert event.patient_id == appointment.patient_id
    assert event.detail["short"] == [s.gauze.pk]

    today = timezone.localdate()  # moves are dated by the wall clock, not scheduling's frozen one
    (cost,) = selectors.cost_per_visit_type(actor=s.coordinator, since=today, until=today)
    assert (cost.name, cost.visits, cost.cost, cost.per_visit) == (
        "Follow-up visit",
        1,
        Decimal("0.30"),
        Decimal("0.30"),
    )


def test_the_pick_list_brings_a_room_to_par_plus_what_tomorrows_visits_use(visit_setup):
    from tests.scheduling.conftest import MONDAY, at

    clinic, s = visit_setup
    stock(s, s.gloves, s.central, 100)
    stock(s, s.gloves, s.exam1, 7)
    tuesday = MONDAY + dt.timedelta(days=1)
    book(clinic, at(tuesday, 9), clinic.exam1)
    book(clinic, at(tuesday, 10), clinic.exam1)
    book(clinic, at(tuesday, 10), clinic.exam2, doctor=clinic.dr_family)  # another room
    book(clinic, at(MONDAY, 10), clinic.exam1)  # today: already stocked for

    picks = selectors.pick_list(actor=s.nurse, stock_location_id=s.exam1.pk, day=tuesday)
    assert picks.visits == 2
    assert picks.source == s.central
    lines = {
        line.item.name: (line.par, line.on_hand, line.tomorrow, line.pick, line.available)
        for line in picks.lines
    }
    assert lines == {
        "Exam gloves (M)": (10, 7, 4, 7, 100),
        "Gauze pads 4x4": (4, 0, 2, 6, 0),
    }
    assert [line.short for line in picks.lines] == [False, True]


def test_the_periodic_task_runs_the_reorder_scan_for_one_organization(supply):
    from caredesk.inventory.tasks import create_reorder_tasks

    services.receive_stock(
        actor=supply.admin, item_id=supply.gauze.pk, stock_location_id=supply.central.pk, quantity=3
    )
    assert create_reorder_tasks.call(supply.org.pk) == 2  # gloves (none) and gauze (3 < 10)
    assert create_reorder_tasks.call(supply.org.pk) == 0

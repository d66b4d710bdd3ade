"""The supplies pages as nurses and coordinators use them: record use, see the room fall below par, raise
a purchase order from the reorder suggestions, send and receive it; refusals shown on the form with
nothing changed."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from caredesk.accounts.permissions import Role
from caredesk.inventory import services
from caredesk.inventory.models import PurchaseOrder, StockBalance, StockMove

from .conftest import Supply


def held(s: Supply, item, place) -> int:
    return StockBalance.objects.filter(item=item, stock_location=place).aggregate(t=Sum("quantity"))["t"] or 0


@pytest.fixture
def nurse(make_user, org, client_as):
    return client_as(make_user(Role.NURSE, org))


@pytest.fixture
def coordinator_client(make_user, org, client_as):
    return client_as(make_user(Role.COORDINATOR, org))


@pytest.fixture
def stocked(supply) -> Supply:
    for place, quantity in ((supply.central, 15), (supply.exam1, 10)):
        services.receive_stock(
            actor=supply.admin, item_id=supply.gloves.pk, stock_location_id=place.pk, quantity=quantity
        )
    services.receive_stock(
        actor=supply.admin, item_id=supply.gauze.pk, stock_location_id=supply.exam1.pk, quantity=4
    )
    services.receive_stock(
        actor=supply.admin, item_id=supply.gauze.pk, stock_location_id=supply.central.pk, quantity=30
    )
    return supply


def test_a_nurse_records_use_and_the_room_shows_below_par(nurse, stocked):
    page = nurse.get(f"/inventory/use/?stock_location={stocked.exam1.pk}")
    assert page.status_code == 200
    answer = nurse.post(
        "/inventory/use/",
        {
            "stock_location": stocked.exam1.pk,
            "item": stocked.gloves.pk,
            "quantity": 3,
            "note": "dressing change",
        },
        follow=True,
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Recorded the use of 3 pair Exam gloves (M)." in html
    assert "1 item below par." in html
    assert 'data-below-par="true"' in html
    assert held(stocked, stocked.gloves, stocked.exam1) == 7

    overview = nurse.get("/inventory/").content.decode()
    assert "1 below par" in overview


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (-2, "The quantity cannot be negative."),
        (0, "The quantity must be at least 1."),
        (11, "Not enough stock"),
    ],
)
def test_bad_use_is_refused_on_the_form_and_changes_nothing(nurse, stocked, quantity, message):
    before = StockMove.objects.count()
    answer = nurse.post(
        "/inventory/use/",
        {"stock_location": stocked.exam1.pk, "item": stocked.gloves.pk, "quantity": quantity},
    )
    assert answer.status_code in (400, 409)
    assert message in answer.content.decode()
    assert StockMove.objects.count() == before
    assert held(stocked, stocked.gloves, stocked.exam1) == 10


def test_transferring_more_than_on_hand_is_refused(nurse, stocked):
    answer = nurse.post(
        "/inventory/transfer/",
        {
            "item": stocked.gloves.pk,
            "from_location": stocked.central.pk,
            "to_location": stocked.exam2.pk,
            "quantity": 16,
        },
    )
    assert answer.status_code == 409
    assert (
        "Central supply has 15 pair of Exam gloves (M), 16 asked for. Nothing was moved."
        in answer.content.decode()
    )
    assert held(stocked, stocked.gloves, stocked.exam2) == 0


def test_nurses_cannot_receive_adjust_count_or_order(nurse):
    for url in ("/inventory/receive/", "/inventory/adjust/", "/inventory/count/", "/inventory/orders/"):
        assert nurse.get(url).status_code == 403


def test_a_coordinator_raises_sends_and_receives_a_purchase_order(coordinator_client, stocked):
    client = coordinator_client
    reorder = client.get("/inventory/reorder/").content.decode()
    assert "Exam gloves (M)" in reorder
    assert "Raise purchase order" in reorder
    answer = client.post(
        "/inventory/orders/new/",
        {"vendor": stocked.vendor.pk, "ship_to": stocked.central.pk, "lines": f"{stocked.gloves.pk}:50"},
    )
    order = PurchaseOrder.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/inventory/orders/{order.pk}/"
    assert client.post(f"/inventory/orders/{order.pk}/send/").status_code == 302
    line = order.lines.get()

    over = client.post(f"/inventory/orders/{order.pk}/receive/", {f"line_{line.pk}": 60})
    assert over.status_code == 409
    assert "More than ordered" in over.content.decode()
    assert held(stocked, stocked.gloves, stocked.central) == 15

    part = client.post(f"/inventory/orders/{order.pk}/receive/", {f"line_{line.pk}": 20}, follow=True)
    assert "Received 20 units into Central supply." in part.content.decode()
    order.refresh_from_db()
    assert order.status == "partly_received"
    client.post(f"/inventory/orders/{order.pk}/receive/", {f"line_{line.pk}": 30})
    order.refresh_from_db()
    assert order.status == "received"
    assert held(stocked, stocked.gloves, stocked.central) == 65
    assert "Nothing to reorder." in client.get("/inventory/reorder/").content.decode()


def test_reports_pick_list_and_expiring_lots_open(coordinator_client, stocked):
    client = coordinator_client
    services.consume_stock(
        actor=stocked.nurse, item_id=stocked.gauze.pk, stock_location_id=stocked.exam1.pk, quantity=4
    )
    report = client.get("/inventory/reports/")
    assert report.status_code == 200
    html = report.content.decode()
    assert 'data-testid="chart-cost"' in html
    assert "Exam 2 cabinet" in html  # nothing at all there: below par
    csv = client.get("/inventory/reports/visit-cost.csv")
    assert csv.status_code == 200
    assert csv.content.decode().splitlines()[0] == "visit_type,visits,supply_cost,cost_per_visit"
    assert client.get("/inventory/reports/?since=2026-05-01&until=2026-04-01").status_code == 400
    picks = client.get(f"/inventory/locations/{stocked.exam1.pk}/pick-list/")
    assert picks.status_code == 200
    assert "Restock pick list: Exam 1 cabinet" in picks.content.decode()
    assert client.get("/inventory/expiring/").status_code == 200
    rows = client.get("/inventory/reports/stock.csv").content.decode().splitlines()
    assert rows[0] == "finding,stock_location,item,unit,on_hand,par"
    assert "stock_out,Exam 1 cabinet,Gauze pads 4x4,pack,0,4" in rows
    assert "below_par,Exam 2 cabinet,Exam gloves (M),pair,0,10" in rows
    move = f"/inventory/transfer/?item={stocked.gauze.pk}&amp;from_location={stocked.central.pk}"
    assert move in picks.content.decode()


def test_another_organizations_location_and_order_are_not_found(client_as, make_user, other_org, stocked):
    outsider = client_as(make_user(Role.COORDINATOR, other_org))
    order = services.create_purchase_order(
        actor=stocked.coordinator,
        vendor_id=stocked.vendor.pk,
        ship_to_id=stocked.central.pk,
        lines=[services.OrderLineInput(stocked.gloves.pk, 5)],
    )
    assert outsider.get(f"/inventory/locations/{stocked.exam1.pk}/").status_code == 404
    assert outsider.get(f"/inventory/orders/{order.pk}/").status_code == 404
    assert outsider.post(f"/inventory/orders/{order.pk}/send/").status_code == 404


def test_a_coordinator_adds_an_item_sets_a_par_level_and_a_visit_types_supplies(
    coordinator_client, supply, org
):
    from caredesk.inventory.models import Item, ParLevel, VisitTypeSupply
    from caredesk.scheduling import services as scheduling
    from caredesk.scheduling.services import RequirementInput, VisitTypeInput

    client = coordinator_client
    assert client.get("/inventory/setup/").status_code == 200
    bad = client.post(
        "/inventory/setup/",
        {"form": "item", "item-name": "Sutures", "item-sku": "sutures", "item-unit": "box",
         "item-unit_cost": "-1", "item-reorder_point": 2, "item-reorder_quantity": 5},
    )  # fmt: skip
    assert bad.status_code == 400
    assert "The amount must be between 0 and 99,999,999.99." in bad.content.decode()
    assert not Item.objects.filter(sku="sutures").exists()
    added = client.post(
        "/inventory/setup/",
        {"form": "item", "item-name": "Sutures", "item-sku": "sutures", "item-unit": "box",
         "item-unit_cost": "12.5", "item-vendor": supply.vendor.pk, "item-reorder_point": 2,
         "item-reorder_quantity": 5},
        follow=True,
    )  # fmt: skip
    assert "Sutures added." in added.content.decode()
    sutures = Item.objects.get(sku="sutures")
    duplicate = client.post(
        "/inventory/setup/",
        {"form": "item", "item-name": "Sutures again", "item-sku": "sutures", "item-unit": "box",
         "item-unit_cost": "1", "item-reorder_point": 0, "item-reorder_quantity": 1},
    )  # fmt: skip
    assert duplicate.status_code == 409
    assert "There is already an item with code sutures." in duplicate.content.decode()

    client.post(
        "/inventory/setup/",
        {"form": "par", "par-stock_location": supply.exam1.pk, "par-item": sutures.pk, "par-quantity": 3},
    )
    assert ParLevel.objects.get(stock_location=supply.exam1, item=sutures).quantity == 3

    visit_type = scheduling.create_visit_type(
        actor=supply.admin,
        data=VisitTypeInput(name="Laceration repair", code="lac-repair", duration_minutes=30,
                            requirements=[RequirementInput("room")]),
    )  # fmt: skip
    client.post(
        "/inventory/setup/",
        {
            "form": "supply",
            "supply-visit_type": visit_type.pk,
            "supply-item": sutures.pk,
            "supply-quantity": 1,
        },
    )
    assert VisitTypeSupply.objects.get(visit_type=visit_type).item == sutures
    page = client.get("/inventory/setup/").content.decode()
    assert "Laceration repair" in page


@pytest.mark.parametrize(
    "query", ["since=0001-01-01&until=9999-12-31", "until=0001-01-05", "since=2026-01-01&until=9999-12-31"]
)
def test_a_report_period_out_of_range_is_refused_not_a_crash(coordinator_client, query):
    for path in ("/inventory/reports/", "/inventory/reports/visit-cost.csv"):
        assert coordinator_client.get(f"{path}?{query}").status_code == 400

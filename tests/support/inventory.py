"""The matrix world's supplies, built on first use through the inventory services, in each organization:
a vendor, gloves, central supply and an exam room with a par level, plenty of stock (every allowed role
uses and moves some), and a purchase order received in part (a SupplyRequest and a SupplyDelivery to
read). Fresh orders for the endpoints that move one along (called once per allowed role)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Role, permissions_for
from caredesk.core.context import Actor, system_actor
from caredesk.inventory import services
from caredesk.inventory.models import Item, PurchaseOrder, StockLocation, StockMove, Vendor

if TYPE_CHECKING:
    from .world import World


@dataclass
class Supplies:
    actor: Actor
    vendor: Vendor
    gloves: Item
    central: StockLocation
    room: StockLocation
    order: PurchaseOrder
    receipt: StockMove


def _build(organization: Organization) -> Supplies:
    actor = system_actor(
        organization_id=organization.pk,
        permissions=permissions_for(Role.ADMINISTRATOR),
        username="matrix-supply",
    )
    location = Location.objects.filter(organization=organization).order_by("pk").first()
    assert location is not None
    vendor = services.create_vendor(actor=actor, name=f"Matrix Medical {organization.short_code}")
    gloves = services.create_item(
        actor=actor,
        data=services.ItemInput(
            name="Matrix gloves",
            sku="matrix-gloves",
            unit="pair",
            vendor_id=vendor.pk,
            unit_cost="0.20",
            reorder_point=5,
            reorder_quantity=10,
        ),
    )
    central = services.create_stock_location(
        actor=actor, name="Matrix central supply", kind="central", location_id=location.pk
    )
    room = services.create_stock_location(
        actor=actor, name="Matrix exam room", kind="room", location_id=location.pk
    )
    services.set_par_level(actor=actor, stock_location_id=room.pk, item_id=gloves.pk, quantity=20)
    for place in (central, room):
        services.receive_stock(actor=actor, item_id=gloves.pk, stock_location_id=place.pk, quantity=10_000)
    order = fresh_order(actor, vendor, gloves, central, sent=True)
    (receipt,) = services.receive_purchase_order(
        actor=actor, order_id=order.pk, receipts=[services.ReceiptInput(order.lines.get().pk, 5)]
    )
    return Supplies(actor, vendor, gloves, central, room, order, receipt)


def fresh_order(
    actor: Actor, vendor: Vendor, item: Item, ship_to: StockLocation, *, sent: bool = False
) -> PurchaseOrder:
    order = services.create_purchase_order(
        actor=actor, vendor_id=vendor.pk, ship_to_id=ship_to.pk, lines=[services.OrderLineInput(item.pk, 10)]
    )
    if sent:
        services.send_purchase_order(actor=actor, order_id=order.pk)
    return order


def supplies_of(world: World, organization: Organization | None = None) -> Supplies:
    """The supplies of `organization` (default: the first)."""
    organization = organization or world.org
    key = f"_supplies_{organization.pk}"
    found = world.__dict__.get(key)
    if found is None:
        found = _build(organization)
        world.__dict__[key] = found
    return found


def fresh_world_order(world: World, *, sent: bool) -> PurchaseOrder:
    """A new order of the first organization (remembered: the receive body names its line)."""
    s = supplies_of(world)
    order = fresh_order(s.actor, s.vendor, s.gloves, s.central, sent=sent)
    world.__dict__["_fresh_order"] = order
    return order

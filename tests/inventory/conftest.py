"""A small supply room built through the services like an administrator would: a vendor, gloves (reorder
point 20, order 50 at a time), gauze, and lot-tracked flu vaccine; central supply and two exam rooms of
Riverside Main Clinic with par levels."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Role
from caredesk.core.context import Actor
from caredesk.inventory import services
from caredesk.inventory.models import Item, StockLocation, Vendor
from tests.patients.factories import staff_actor
from tests.scheduling.conftest import frozen_clock  # noqa: F401 - the scheduling clock, for visit tests


@dataclass
class Supply:
    org: Organization
    location: Location
    admin: Actor
    coordinator: Actor
    nurse: Actor
    vendor: Vendor
    gloves: Item
    gauze: Item
    vaccine: Item
    central: StockLocation
    exam1: StockLocation
    exam2: StockLocation


def build_supply(org: Organization, *, room_ids: tuple[int | None, int | None] = (None, None)) -> Supply:
    admin = staff_actor(org, Role.ADMINISTRATOR)
    location = Location.objects.get(organization=org, name="Riverside Main Clinic")
    vendor = services.create_vendor(actor=admin, name="Medline", account_number="RSH-001")
    gloves = services.create_item(
        actor=admin,
        data=services.ItemInput(
            name="Exam gloves (M)",
            sku="gloves-m",
            unit="pair",
            vendor_id=vendor.pk,
            unit_cost="0.15",
            reorder_point=20,
            reorder_quantity=50,
        ),
    )
    gauze = services.create_item(
        actor=admin,
        data=services.ItemInput(
            name="Gauze pads 4x4",
            sku="gauze-4x4",
            unit="pack",
            vendor_id=vendor.pk,
            unit_cost="1.20",
            reorder_point=10,
            reorder_quantity=20,
        ),
    )
    vaccine = services.create_item(
        actor=admin,
        data=services.ItemInput(
            name="Influenza vaccine",
            sku="flu-vax",
            unit="dose",
            vendor_id=vendor.pk,
            unit_cost="18.00",
            reorder_point=0,
            reorder_quantity=10,
            tracks_lots=True,
        ),
    )
    central = services.create_stock_location(
        actor=admin, name="Central supply", kind="central", location_id=location.pk
    )
    exam1 = services.create_stock_location(
        actor=admin, name="Exam 1 cabinet", kind="room", location_id=location.pk, room_id=room_ids[0]
    )
    exam2 = services.create_stock_location(
        actor=admin, name="Exam 2 cabinet", kind="room", location_id=location.pk, room_id=room_ids[1]
    )
    for room in (exam1, exam2):
        services.set_par_level(actor=admin, stock_location_id=room.pk, item_id=gloves.pk, quantity=10)
        services.set_par_level(actor=admin, stock_location_id=room.pk, item_id=gauze.pk, quantity=4)
    return Supply(
        org=org,
        location=location,
        admin=admin,
        coordinator=staff_actor(org, Role.COORDINATOR),
        nurse=staff_actor(org, Role.NURSE),
        vendor=vendor,
        gloves=gloves,
        gauze=gauze,
        vaccine=vaccine,
        central=central,
        exam1=exam1,
        exam2=exam2,
    )


@pytest.fixture
def supply(org) -> Supply:
    return build_supply(org)

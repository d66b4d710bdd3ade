"""A small supply room for the demo network, made through the inventory services: per organization one
vendor, ten items (one lot-tracked vaccine with a lot expiring soon), central supply at its first site and
the first two exam rooms there (linked to their scheduling rooms, so completed visits use supplies), par
levels, some stock (gloves short at central supply so a reorder suggestion shows), and supply lists for
the in-person visit types. Cheap by design: the same handful of rows whatever the size of the demo."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor, system_actor
from caredesk.inventory import services
from caredesk.scheduling import selectors as scheduling_selectors

_PERMISSIONS = frozenset(
    str(p)
    for p in (
        Permission.INVENTORY_VIEW,
        Permission.INVENTORY_MOVE,
        Permission.INVENTORY_MANAGE,
        Permission.SCHEDULE_VIEW,
    )
)

# (name, code, unit, unit cost, reorder point, reorder quantity, lot-tracked, par per exam room (the rooms
#  start at par, stocked from central supply), received at central supply)
ITEMS: tuple[tuple[str, str, str, str, int, int, bool, int, int], ...] = (
    ("Exam gloves (M)", "gloves-m", "pair", "0.12", 200, 500, False, 40, 150),
    ("Exam table paper", "table-paper", "roll", "4.50", 10, 24, False, 2, 30),
    ("Gauze pads 4x4", "gauze-4x4", "pack", "1.10", 40, 100, False, 10, 120),
    ("Alcohol prep pads", "alcohol-pads", "box", "2.40", 10, 20, False, 2, 25),
    ("Adhesive bandages", "bandages", "box", "3.20", 8, 20, False, 2, 20),
    ("Syringe 3 mL", "syringe-3ml", "each", "0.18", 100, 300, False, 20, 250),
    ("Tongue depressors", "tongue-depressors", "box", "2.10", 5, 10, False, 1, 12),
    ("Specimen cups", "specimen-cups", "each", "0.35", 50, 200, False, 10, 90),
    ("ECG electrodes", "ecg-electrodes", "pack", "6.80", 10, 30, False, 3, 18),
    ("Influenza vaccine", "flu-vaccine", "dose", "18.00", 20, 50, True, 0, 40),
)
#: What one visit of an in-person visit type uses (by visit-type code and item code).
VISIT_SUPPLIES: dict[str, tuple[tuple[str, int], ...]] = {
    "new-patient": (("gloves-m", 2), ("table-paper", 1), ("tongue-depressors", 1)),
    "follow-up": (("gloves-m", 1), ("table-paper", 1)),
    "annual-physical": (("gloves-m", 2), ("table-paper", 1), ("ecg-electrodes", 1), ("specimen-cups", 1)),
}


@dataclass
class InventoryReport:
    items: int = 0
    stock_locations: int = 0


def _load_organization(organization: Organization, report: InventoryReport) -> None:
    actor: Actor = system_actor(
        organization_id=organization.pk, permissions=_PERMISSIONS, channel="cli", username="seed_demo"
    )
    location = scheduling_selectors.location_queryset(actor).order_by("pk").first()
    if location is None:
        return
    rooms = list(
        scheduling_selectors.resource_queryset(actor)
        .filter(location=location, kind="room", category="exam")
        .order_by("pk")[:2]
    )
    vendor = services.create_vendor(
        actor=actor, name="Medline Industries", account_number=f"{organization.short_code}-1001"
    )
    central = services.create_stock_location(
        actor=actor, name=f"Central supply, {location.name}", kind="central", location_id=location.pk
    )
    exam_rooms = [
        services.create_stock_location(
            actor=actor,
            name=f"{room.name} cabinet, {location.name}",
            kind="room",
            location_id=location.pk,
            room_id=room.pk,
        )
        for room in rooms
    ]
    report.stock_locations += 1 + len(exam_rooms)
    today = timezone.localdate()
    items = {}
    for name, code, unit, cost, point, quantity, lots, par, at_central in ITEMS:
        item = services.create_item(
            actor=actor,
            data=services.ItemInput(
                name=name, sku=code, unit=unit, vendor_id=vendor.pk, unit_cost=cost,
                reorder_point=point, reorder_quantity=quantity, tracks_lots=lots,
            ),
        )  # fmt: skip
        items[code] = item
        report.items += 1
        services.receive_stock(
            actor=actor,
            item_id=item.pk,
            stock_location_id=central.pk,
            quantity=at_central,
            lot_number="FLU-2611A" if lots else "",  # a lot that expires soon: flagged on the stock page
            expires_on=today + dt.timedelta(days=21) if lots else None,
        )
        for room in exam_rooms if par else []:
            services.set_par_level(actor=actor, stock_location_id=room.pk, item_id=item.pk, quantity=par)
            services.transfer_stock(
                actor=actor,
                item_id=item.pk,
                from_location_id=central.pk,
                to_location_id=room.pk,
                quantity=par,
            )
    visit_types = {v.code: v for v in scheduling_selectors.visit_type_queryset(actor)}
    for code, uses in VISIT_SUPPLIES.items():
        visit_type = visit_types.get(code)
        if visit_type is None:
            continue
        for item_code, amount in uses:
            services.set_visit_type_supply(
                actor=actor, visit_type_id=visit_type.pk, item_id=items[item_code].pk, quantity=amount
            )


def load_inventory(organizations: list[Organization]) -> InventoryReport:
    report = InventoryReport()
    for organization in organizations:
        _load_organization(organization, report)
    return report

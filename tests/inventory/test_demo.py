"""The demo network has a small supply room per organization, loaded through the services: rooms at par,
gloves short at central supply (a reorder suggestion), a vaccine lot expiring within 30 days, and visit
types that use supplies."""

from __future__ import annotations

import pytest

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role
from caredesk.demo.services import seed_demo
from caredesk.inventory import selectors
from caredesk.inventory.models import Item, StockLocation, VisitTypeSupply
from tests.patients.factories import staff_actor

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_supply_room_per_organization():
    report = seed_demo(patients=12, seed=7)
    assert report.counts["supply_items"] == Item.objects.count() == 20
    assert report.counts["stock_locations"] == StockLocation.objects.count() == 6
    organization = Organization.objects.get(short_code="RSH")
    nurse = staff_actor(organization, Role.NURSE)
    rooms = [s for s in selectors.stock_by_location(actor=nurse) if s.place.kind == "room"]
    assert len(rooms) == 2
    assert all(s.place.room_id is not None and s.below_par_count == 0 for s in rooms)
    assert [p.item_name for p in selectors.reorder_suggestions(actor=nurse)] == ["Exam gloves (M)"]
    assert [e.lot.lot_number for e in selectors.expiring_lots(actor=nurse)] == ["FLU-2611A"]
    assert VisitTypeSupply.objects.filter(organization=organization).count() == 9

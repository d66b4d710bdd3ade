"""The demo network's orders: written through the services after the credential files, so the checks ran."""

from __future__ import annotations

import pytest

from caredesk.accounts.models import Organization
from caredesk.accounts.permissions import Role, permissions_for
from caredesk.core.context import system_actor
from caredesk.demo.services import seed_demo
from caredesk.orders import services
from caredesk.orders.models import Order


@pytest.fixture
def demo(db, settings, tmp_path) -> Organization:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_demo(patients=12, seed=7)
    return Organization.objects.get(short_code="RSH")


def test_demo_orders(demo) -> None:
    orders = {o.code: o for o in Order.objects.filter(organization=demo)}
    assert set(orders) == {"58410-2", "4548-4", "72148", "20610", "E0601"}
    assert orders["58410-2"].status == "active"
    assert (orders["4548-4"].status, orders["4548-4"].result) == ("completed", "HbA1c 7.4 %.")
    injection = orders["20610"]
    assert injection.practitioner_id is not None
    assert injection.status == "active"
    assert [e.kind for e in injection.events.all()] == ["created", "placed"]
    assert orders["E0601"].status == "draft"
    # The MRI waits for the prior authorization the patient's payer requires (demo/insurance.py).
    mri = orders["72148"]
    assert mri.status == "draft"
    actor = system_actor(organization_id=demo.pk, permissions=permissions_for(Role.ADMINISTRATOR))
    check = services.check_order(actor=actor, order=mri)
    assert check.authorization_needed
    assert not check.ok
    assert check.credential_reasons == []
    assert not Order.objects.exclude(organization=demo).exists()

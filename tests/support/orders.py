"""The matrix world's orders, built on first use through the orders services: a placed lab order for the
sample patient (no ordering practitioner, so only the prior-authorization check applies, and no payer
rule needs one). Fresh orders for the endpoints that move one along (called once per allowed role)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caredesk.accounts.models import Location, Organization
from caredesk.accounts.permissions import Role, permissions_for
from caredesk.core.context import Actor, system_actor
from caredesk.orders import services
from caredesk.orders.models import Order

if TYPE_CHECKING:
    from caredesk.accounts.models import User

    from .world import World


def _actor(organization: Organization) -> Actor:
    return system_actor(
        organization_id=organization.pk,
        permissions=permissions_for(Role.ADMINISTRATOR),
        username="matrix-orders",
    )


def order_body(world: World, user: User) -> dict[str, object]:
    """A lab order for the user's own organization's sample patient, at its first location."""
    first = user.organization_id == world.org.pk
    location = Location.objects.filter(organization_id=user.organization_id or 0).order_by("pk").first()
    assert location is not None
    return {
        "patient_id": (world.patient if first else world.other_patient).pk,
        "kind": "lab",
        "code": "58410-2",
        "code_display": "CBC panel",
        "location_id": location.pk,
        "diagnoses": ["E11.9"],
        "reason": "Annual diabetes labs",
    }


def fresh_order(world: World, *, place: bool) -> Order:
    body = order_body(world, world.users[Role.PHYSICIAN])
    return services.create_order(actor=_actor(world.org), data=services.OrderInput(**body), place=place)  # type: ignore[arg-type]


def order_of(world: World) -> Order:
    found = world.__dict__.get("_order")
    if found is None:
        found = fresh_order(world, place=True)
        world.__dict__["_order"] = found
    return found

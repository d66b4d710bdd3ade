"""The matrix world's credential file, built on first use through the credentialing services: a license,
a granted privilege and an open application of the sample practitioner. Booking checks are switched off
for the first organization first, so the booking samples book as before whatever runs first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from caredesk.accounts.permissions import Role
from caredesk.accounts.services import actor_for_user
from caredesk.credentialing import services
from caredesk.credentialing.models import CredentialingApplication, Privilege, StateLicense

if TYPE_CHECKING:
    from .world import World


@dataclass
class Credentials:
    license: StateLicense
    privilege: Privilege
    application: CredentialingApplication


def credentials_of(world: World) -> Credentials:
    found = world.__dict__.get("_credentials")
    if found is None:
        services.set_enforcement(actor=actor_for_user(world.users[Role.ADMINISTRATOR]), enforce=False)
        coordinator = actor_for_user(world.users[Role.COORDINATOR])
        practitioner_id = world.practitioner.pk
        found = Credentials(
            license=services.add_license(
                actor=coordinator,
                practitioner_id=practitioner_id,
                data=services.LicenseInput(
                    state="NY", number="MX-1", issued_on="2020-01-01", expires_on="2035-01-01"
                ),
            ),
            privilege=services.request_privilege(
                actor=coordinator,
                practitioner_id=practitioner_id,
                data=services.PrivilegeInput(location_id=world.location.pk, service_code="matrix-visit"),
            ),
            application=services.open_application(actor=coordinator, practitioner_id=practitioner_id),
        )
        world.__dict__["_credentials"] = found
    return found

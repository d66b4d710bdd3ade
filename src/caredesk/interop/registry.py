"""The registry behind `interop.permissions`: what every JSON API and FHIR endpoint requires.

Each endpoint is declared with `declare(...)` where it is defined (`interop/api.py`, `interop/fhir/views.py`);
the same declaration is what the endpoint checks at run time (`authorize`), so the list the permission-matrix
test reads cannot drift from what the code enforces.

An endpoint names one `permission` (the one the UI uses for the same thing). Some also accept alternatives
(`also`): a portal user reads their own record with PORTAL_OWN_RECORD where staff need PATIENT_VIEW; the
selectors then restrict the portal user to that one patient. `permission=None` marks a public endpoint
(the FHIR CapabilityStatement, the OpenAPI schema and its docs page).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.errors import Forbidden

CHANNELS = ("api", "fhir")


@dataclass(frozen=True)
class DeclaredEndpoint:
    """One HTTP method on one path. `path` is the full URL path with `{name}` placeholders, e.g.
    `/api/v1/patients/{patient_id}` or `/fhir/Patient/{patient_id}`."""

    channel: str
    method: str
    path: str
    permission: Permission | None
    also: frozenset[Permission] = field(default_factory=frozenset)
    summary: str = ""

    @property
    def is_public(self) -> bool:
        return self.permission is None

    @property
    def accepted(self) -> frozenset[Permission]:
        """Holding any one of these is enough (empty for a public endpoint)."""
        if self.permission is None:
            return frozenset()
        return frozenset({self.permission}) | self.also

    def allows(self, granted: Iterable[str]) -> bool:
        """Whether a holder of the permissions `granted` (e.g. `permissions_for(role)`) may call it."""
        if self.permission is None:
            return True
        held = {str(p) for p in granted}
        return any(str(p) in held for p in self.accepted)

    def as_tuple(self) -> tuple[str, str, Permission | None]:
        return self.method, self.path, self.permission


_REGISTRY: dict[tuple[str, str], DeclaredEndpoint] = {}


def declare(
    channel: str,
    method: str,
    path: str,
    permission: Permission | None,
    *,
    also: Iterable[Permission] = (),
    summary: str = "",
) -> DeclaredEndpoint:
    """Record an endpoint's requirement. Declaring the same method and path twice is a programming error."""
    if channel not in CHANNELS:
        raise ValueError(f"Unknown channel {channel!r}")
    endpoint = DeclaredEndpoint(
        channel=channel,
        method=method.upper(),
        path=path,
        permission=permission,
        also=frozenset(also),
        summary=summary,
    )
    key = (endpoint.method, endpoint.path)
    if key in _REGISTRY and _REGISTRY[key] != endpoint:
        raise ValueError(f"{endpoint.method} {endpoint.path} is declared twice")
    _REGISTRY[key] = endpoint
    return endpoint


def authorize(actor: Actor, endpoint: DeclaredEndpoint) -> None:
    """Forbidden unless the actor holds one of the endpoint's accepted permissions."""
    if not endpoint.allows(actor.permissions):
        raise Forbidden(
            f"This needs the permission {endpoint.permission}.",
            details={"permission": str(endpoint.permission)},
        )


def registered(channel: str | None = None) -> list[DeclaredEndpoint]:
    """The endpoints declared so far (see `interop.permissions.declared_endpoints` for all of them)."""
    endpoints = [e for e in _REGISTRY.values() if channel is None or e.channel == channel]
    return sorted(endpoints, key=lambda e: (e.path, e.method))

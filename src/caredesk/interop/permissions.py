"""Every JSON API and FHIR endpoint with the Permission it requires, for the permission-matrix test.

The declarations live beside the handlers (`interop.registry.declare`) and are what the handlers enforce;
importing the two handler modules here registers all of them.
"""

from __future__ import annotations

from caredesk.interop import api as _api  # noqa: F401  (registers the JSON API endpoints)
from caredesk.interop.fhir import views as _fhir_views  # noqa: F401  (registers the FHIR endpoints)
from caredesk.interop.registry import DeclaredEndpoint, registered


def declared_endpoints(channel: str | None = None) -> list[DeclaredEndpoint]:
    """Every endpoint (`channel` "api" or "fhir" to pick one), sorted by path then method.

    Each has `method`, `path` (with `{name}` placeholders, e.g. `/fhir/Patient/{patient_id}`),
    `permission` (None when public), `also` (alternatives accepted too, e.g. a portal user's
    PORTAL_OWN_RECORD on their own Patient) and `allows(permissions_for(role))`. For plain tuples:
    `[e.as_tuple() for e in declared_endpoints()]` gives (method, path, permission)."""
    return registered(channel)


__all__ = ["DeclaredEndpoint", "declared_endpoints"]

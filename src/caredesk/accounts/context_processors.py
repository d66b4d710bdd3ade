from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .permissions import Permission, permissions_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the navigation bar may show: the signed-in user's permissions as a set of strings."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"perms_set": frozenset(), "P": Permission}
    perms = permissions_for(user.role) if user.organization_id else frozenset()
    return {"perms_set": perms, "P": {p.name: p.value for p in Permission}}

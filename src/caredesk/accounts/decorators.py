"""Every view declares the permission it needs. The test matrix reads `required_permission` off each
URL pattern's view and fails on any view that declares nothing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from .permissions import Permission
from .services import actor_for_request

# HttpResponseBase, so streaming and file responses (CSV exports, document downloads) type-check too.
ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])


def require_permission(permission: Permission) -> Callable[[ViewFunc], ViewFunc]:
    """Signed-in user holding `permission`; sets `request.actor` for the view to pass to services."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            actor = actor_for_request(request)
            if not actor.has(permission):
                raise PermissionDenied(f"This page needs the permission {permission}.")
            request.actor = actor  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def public(view: ViewFunc) -> ViewFunc:
    """Marks a view that anyone may open (sign-in, health check). Declared, so the matrix knows."""
    view.required_permission = None  # type: ignore[attr-defined]
    view.is_public = True  # type: ignore[attr-defined]
    return view

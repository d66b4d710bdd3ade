"""The Django admin site, for administrators only.

Access does not rest on Django's is_staff flag (Caredesk users do not carry it): the user must be active,
belong to an organization, hold the administrator role (Permission.ADMIN_SITE) and have verified a second
factor in this session (django-otp). Anyone else who is signed in gets 403; anonymous visitors are sent to
Caredesk's own sign-in page, which handles the second factor.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import URLPattern, URLResolver, path, reverse

from caredesk.accounts.decorators import public
from caredesk.accounts.models import User
from caredesk.accounts.permissions import Permission
from caredesk.accounts.services import actor_for_request

ViewT = TypeVar("ViewT", bound=Callable[..., HttpResponseBase])


def may_use_admin(request: HttpRequest) -> bool:
    user = request.user
    if not isinstance(user, User) or not user.is_active:
        return False
    if not getattr(user, "is_verified", lambda: False)():
        return False
    return actor_for_request(request).has(Permission.ADMIN_SITE)


class CaredeskAdminSite(admin.AdminSite):
    site_header = "Caredesk administration"
    site_title = "Caredesk admin"
    index_title = "Back office"

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request)

    def admin_view(self, view: ViewT, cacheable: bool = False) -> ViewT:
        """Django's wrapper, plus: a signed-in user who may not use the admin gets 403 (not the admin's
        own sign-in form)."""
        inner = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            signing_out = request.path == reverse("admin:logout", current_app=self.name)
            if request.user.is_authenticated and not signing_out and not self.has_permission(request):
                raise PermissionDenied("The admin is for administrators with a verified second factor.")
            response: HttpResponseBase = inner(request, *args, **kwargs)
            return response

        update_wrapper(guarded, inner)
        return guarded  # type: ignore[return-value]

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Sign-in happens on Caredesk's page (password, then second factor); this only forwards."""
        index = reverse("admin:index", current_app=self.name)
        if request.user.is_authenticated:
            if self.has_permission(request):
                return HttpResponseRedirect(index)
            raise PermissionDenied("The admin is for administrators with a verified second factor.")
        next_url = request.GET.get("next") or index
        return redirect_to_login(next_url, reverse("accounts:login"))

    def get_urls(self) -> list[URLResolver | URLPattern]:
        site = self

        @public
        def admin_login(request: HttpRequest) -> HttpResponse:
            return site.login(request)

        urls = [u for u in super().get_urls() if getattr(u, "name", None) != "login"]
        _declare_permission(urls)
        return [path("login/", admin_login, name="login"), *urls]


def _declare_permission(patterns: list[URLResolver | URLPattern]) -> None:
    """Mark every admin view with the permission it needs, the way our own views declare theirs (the
    permission matrix reads `required_permission` off each URL pattern's view)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _declare_permission(pattern.url_patterns)
        elif not hasattr(pattern.callback, "required_permission"):
            pattern.callback.required_permission = Permission.ADMIN_SITE  # type: ignore[attr-defined]

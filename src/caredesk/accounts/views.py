"""Sign-in, sign-out and two-factor pages. (Placeholder bodies; filled in by the account-security work.)"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .decorators import public, require_permission
from .permissions import Permission


@public
def login_view(request: HttpRequest) -> HttpResponse:
    response = auth_views.LoginView.as_view(template_name="accounts/login.html")(request)
    assert isinstance(response, HttpResponse)
    return response


@public
def logout_view(request: HttpRequest) -> HttpResponse:
    return auth_views.LogoutView.as_view()(request)


@public
def otp_verify(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")


@public
def otp_enroll(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")


@require_permission(Permission.SIGNED_IN)
def security(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")

"""Sign-in, sign-out, the locked-account page and two-factor sign-in (TOTP).

The sign-in flow: the password (django-axes counts failures and locks the account at the limit), then,
for a user with an authenticator, its code (`otp_verify`); a user whose role must use two-factor sign-in
and has no authenticator yet sets one up first (`otp_enroll`). Until then `TwoFactorRequiredMiddleware`
keeps them on these pages. Every step writes its audit row through `accounts.services`.
"""

from __future__ import annotations

import base64
from math import ceil
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login

from caredesk.core.errors import DomainError
from caredesk.core.middleware import client_ip
from caredesk.core.web import request_actor

from . import services
from .decorators import public, require_permission
from .forms import EnrollDeviceForm, OneTimeCodeForm, RemoveDeviceForm
from .models import User
from .permissions import Permission

#: The secret of an authenticator being set up, until its first code confirms it.
SESSION_PENDING_TOTP_KEY = "caredesk_pending_totp_key"


# --- helpers ---------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _is_verified(request: HttpRequest) -> bool:
    """Whether this session has passed a second factor (django-otp's OTPMiddleware sets is_verified)."""
    return bool(getattr(request.user, "is_verified", lambda: False)())


def _safe_next(request: HttpRequest, default: str | None = None) -> str:
    """The ?next= (or posted next) when it points into this site; otherwise `default` (a URL name or
    path; LOGIN_REDIRECT_URL when not given)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(default or settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _second_factor_pending(request: HttpRequest) -> bool:
    """Signed in with the password but the user's authenticator has not been checked in this session."""
    return not _is_verified(request) and bool(services.totp_devices(_user(request)))


def _qr_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data: URI (an <img> source: no inline markup, allowed by the CSP)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg: bytes = image.to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


# --- password sign-in and sign-out -----------------------------------------------------------------


class SignInView(auth_views.LoginView):
    """Django's LoginView (axes checks every attempt through the authentication backend), with audit rows
    and the hand-over to the second factor."""

    template_name = "accounts/login.html"
    form_class = AuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["timed_out"] = self.request.GET.get("timeout") == "1"
        context["idle_minutes"] = max(1, settings.SESSION_IDLE_TIMEOUT_SECONDS // 60)
        context["failure_limit"] = settings.AXES_FAILURE_LIMIT
        return context

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        request = self.request
        user = form.get_user()
        assert isinstance(user, User)
        next_url = self.get_redirect_url() or resolve_url(settings.LOGIN_REDIRECT_URL)
        auth_login(request, user)
        # A password sign-in always asks for the second factor again, even in a session that had one.
        request.session.pop(DEVICE_ID_SESSION_KEY, None)
        if services.totp_devices(user):
            step, target = "verify", _with_next("accounts:otp_verify", next_url)
        elif services.two_factor_required(user):
            step, target = "enroll", _with_next("accounts:otp_enroll", next_url)
        else:
            step, target = "none", next_url
        services.record_sign_in(actor=services.actor_for_request(request), second_factor=step)
        return HttpResponseRedirect(target)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        request = self.request
        services.record_sign_in_failed(
            username=request.POST.get("username", ""),
            ip=client_ip(request),
            request_id=getattr(request, "request_id", None),
            locked_out=bool(getattr(request, "axes_locked_out", False)),
        )
        # Wrong credentials are bad input: 400, with the form's message. (When this attempt locked the
        # account, AxesMiddleware replaces the answer with `locked_out` below.)
        return self.render_to_response(self.get_context_data(form=form), status=400)


@public
def login_view(request: HttpRequest) -> HttpResponse:
    response = SignInView.as_view()(request)
    assert isinstance(response, HttpResponse)
    return response


@public
@require_http_methods(["POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, from the navigation bar's form), with a LOGOUT audit row."""
    if request.user.is_authenticated:
        services.record_sign_out(actor=services.actor_for_request(request))
    auth_logout(request)
    messages.info(request, "You have signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' answer once an account is locked (settings.AXES_LOCKOUT_CALLABLE): a page that says
    so (429, with Retry-After), never an error. The attempt's audit row was written by the sign-in view."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else None
    context = {
        "minutes": ceil(seconds / 60) if seconds else None,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    response = render(request, "accounts/locked_out.html", context, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


# --- second factor ---------------------------------------------------------------------------------


@require_permission(Permission.SIGNED_IN)
@require_http_methods(["GET", "HEAD", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """The code from the user's authenticator, after the password. Nothing to verify (already verified,
    or no authenticator) sends the user on: to set one up when their role requires it, else to ?next=."""
    user = _user(request)
    next_url = _safe_next(request)
    if _is_verified(request):
        return redirect(next_url)
    if not services.totp_devices(user):
        if services.two_factor_required(user):
            return redirect(_with_next("accounts:otp_enroll", next_url))
        return redirect(next_url)
    form = OneTimeCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device = services.verify_totp(
                    actor=request_actor(request), user=user, token=form.cleaned_data["token"]
                )
            except DomainError as exc:
                form.add_error("token", exc.message)
                status = exc.http_status
            else:
                request.session.cycle_key()  # a new session id for the now fully signed-in session
                otp_login(request, device)
                return redirect(next_url)
    return render(request, "accounts/otp_verify.html", {"form": form, "next": next_url}, status=status)


@require_permission(Permission.SIGNED_IN)
@require_http_methods(["GET", "HEAD", "POST"])
def otp_enroll(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: a QR code and the secret, confirmed with the app's first code."""
    user = _user(request)
    if _second_factor_pending(request):
        # Adding an authenticator needs the one the user already has.
        return redirect(_with_next("accounts:otp_verify", request.get_full_path()))
    next_url = _safe_next(request, default="accounts:security")
    key = request.session.get(SESSION_PENDING_TOTP_KEY)
    if not services.is_totp_key(key):
        key = services.new_totp_key()
        request.session[SESSION_PENDING_TOTP_KEY] = key
    assert isinstance(key, str)
    form = EnrollDeviceForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device = services.enroll_totp_device(
                    actor=request_actor(request),
                    user=user,
                    key=key,
                    token=form.cleaned_data["token"],
                    name=form.cleaned_data.get("name") or services.DEFAULT_DEVICE_NAME,
                )
            except DomainError as exc:
                form.add_error("token", exc.message)
                status = exc.http_status
            else:
                request.session.pop(SESSION_PENDING_TOTP_KEY, None)
                request.session.cycle_key()
                otp_login(request, device)
                messages.success(request, f"Two-factor sign-in is on: “{device.name}” was added.")
                return redirect(next_url)
    enrollment = services.totp_enrollment(user=user, key=key)
    context = {
        "form": form,
        "enrollment": enrollment,
        "qr_code": _qr_data_uri(enrollment.otpauth_url),
        "required": services.two_factor_required(user),
        "has_devices": bool(services.totp_devices(user)),
        "next": next_url,
    }
    return render(request, "accounts/otp_enroll.html", context, status=status)


@require_permission(Permission.SIGNED_IN)
@require_http_methods(["GET", "HEAD", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    """The user's own authenticators: list, add (otp_enroll), remove (POST here)."""
    user = _user(request)
    if _second_factor_pending(request):
        return redirect(_with_next("accounts:otp_verify", request.get_full_path()))
    status = 200
    error = ""
    if request.method == "POST":
        form = RemoveDeviceForm(request.POST)
        if not form.is_valid():
            status, error = 400, "Choose an authenticator to remove."
        else:
            try:
                services.remove_totp_device(
                    actor=request_actor(request), user=user, device_id=form.cleaned_data["device"]
                )
            except DomainError as exc:
                status, error = exc.http_status, exc.message
            else:
                messages.success(request, "The authenticator was removed.")
                return redirect("accounts:security")
    context = {
        "devices": services.totp_devices(user),
        "required": services.two_factor_required(user),
        "error": error,
    }
    return render(request, "accounts/security.html", context, status=status)

"""Idle logoff and mandatory two-factor for the roles that need it."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from .services import actor_for_request, record_sign_out

SESSION_LAST_SEEN = "caredesk_last_seen"
#: Activity is written to the session at most this often (seconds): a page load within it does not
#: rewrite the session row. The idle limit is then counted from up to this long before the last request.
SESSION_TOUCH_SECONDS = 60

# Paths that must stay reachable while a second factor is pending (or that carry their own auth).
_OTP_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/api/", "/fhir/", "/healthz")


class IdleTimeoutMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT_SECONDS without a request (HIPAA automatic logoff).
    The time of the last request is renewed at most every SESSION_TOUCH_SECONDS, so a busy user's page
    loads do not each rewrite their session row."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if last_seen is not None and now - float(last_seen) > settings.SESSION_IDLE_TIMEOUT_SECONDS:
                record_sign_out(actor=actor_for_request(request), idle=True)
                logout(request)
                if request.headers.get("HX-Request") == "true":
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = reverse("accounts:login") + "?timeout=1"
                    return response
                return redirect(reverse("accounts:login") + "?timeout=1")
            if last_seen is None or now - float(last_seen) >= SESSION_TOUCH_SECONDS:
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """Staff who have a TOTP device must verify it after the password; roles in
    CAREDESK_2FA_REQUIRED_ROLES must enrol one before they can use anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(_OTP_EXEMPT_PREFIXES):
            verified = getattr(user, "is_verified", lambda: False)()
            if not verified:
                back = "?" + urlencode({"next": request.get_full_path()})
                if user_has_device(user):
                    return redirect(reverse("accounts:otp_verify") + back)
                if getattr(user, "role", None) in settings.CAREDESK_2FA_REQUIRED_ROLES:
                    return redirect(reverse("accounts:otp_enroll") + back)
        return self.get_response(request)

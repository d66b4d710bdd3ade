"""Home page, health check and error pages. Core imports no domain app, so the permission marks here
are set by hand with the same attribute the accounts decorators use."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its own home page (settings.CAREDESK_HOME_PAGES: the coordinator's worklist, the
    front desk's schedule, the patient's portal, ...); anyone else on patient search."""
    pages: dict[str, str] = settings.CAREDESK_HOME_PAGES
    return redirect(pages.get(getattr(request.user, "role", ""), "patients:search"))


home.required_permission = "accounts:self:signed_in"  # type: ignore[attr-defined]


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


healthz.required_permission = None  # type: ignore[attr-defined]
healthz.is_public = True  # type: ignore[attr-defined]


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "errors/403_csrf.html", status=403)

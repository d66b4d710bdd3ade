"""Patient pages (placeholder bodies; filled in by the patients work)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission


@require_permission(Permission.PATIENT_SEARCH)
def search(request: HttpRequest) -> HttpResponse:
    return HttpResponse("search")


@require_permission(Permission.PATIENT_CREATE)
def register(request: HttpRequest) -> HttpResponse:
    return HttpResponse("register")


@require_permission(Permission.PORTAL_OWN_RECORD)
def portal_home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("portal")

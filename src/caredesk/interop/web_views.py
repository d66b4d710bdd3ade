"""Interop's browser pages: importing an inbound X12 file (an 835 remittance, a 999 or 277CA
acknowledgment, a 271) from a file input, through the same import service as `caredesk x12_import` and
`POST /api/v1/x12/imports`. It lives here, not in billing, because billing sits below interop."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.permissions import Permission
from caredesk.core.errors import DomainError
from caredesk.core.web import request_actor

from .x12.inbound import import_x12
from .x12.segments import X12Error

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _page(request: HttpRequest, *, error: str = "", result: object = None, status: int = 200) -> HttpResponse:
    return render(request, "interop/x12_import.html", {"error": error, "result": result}, status=status)


@require_permission(Permission.BILLING_MANAGE)
@require_http_methods(["GET", "HEAD", "POST"])
def x12_import(request: HttpRequest) -> HttpResponse:
    """Upload one X12 file; the page says what the import changed, or why nothing was (a 4xx)."""
    if request.method != "POST":
        return _page(request)
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, error="Choose the X12 file to import.", status=400)
    if upload.size is None or upload.size > MAX_UPLOAD_BYTES:
        return _page(request, error="The file is larger than 5 MB.", status=400)
    try:
        text = upload.read().decode("utf-8")
    except UnicodeDecodeError:
        return _page(request, error="The file is not UTF-8 (or ASCII) text.", status=400)
    try:
        result = import_x12(
            actor=request_actor(request),
            text=text,
            file_name=(upload.name or "")[:200],
        )
    except X12Error as exc:
        return _page(request, error=str(exc), status=400)
    except DomainError as exc:
        return _page(request, error=exc.message, status=exc.http_status)
    return _page(request, result=result)

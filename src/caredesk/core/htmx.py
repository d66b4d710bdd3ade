"""One view, page or fragment: render the partial for htmx requests and the full page otherwise."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def is_htmx(request: HttpRequest) -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        # htmx restoring a pushed URL after a history-cache miss needs the whole page
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_partial(
    request: HttpRequest, page: str, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(request, partial if is_htmx(request) else page, context, status=status)

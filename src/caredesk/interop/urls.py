"""The interop URLs, included at the root by config/urls.py:

- /api/v1/…               the JSON API (django-ninja); /api/v1/openapi.json its schema; /api/docs Swagger UI
- /fhir/…                 the FHIR R4 facade
- anything else under /api/ or /fhir/ answers 404 in that interface's own error format.

Each view here carries what it requires for the permission matrix: `declared_endpoints` (one per method,
see interop.permissions), `required_permission` (of its GET, else its only method; None when public),
`is_public` and `is_interop`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver, include, path, re_path

from . import sms_webhook, web_views
from .api import API_PREFIX, DOCS_PATH, api
from .errors import error_response
from .registry import DeclaredEndpoint, registered

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _declared_for(full_path: str) -> tuple[DeclaredEndpoint, ...]:
    return tuple(e for e in registered("api") if e.path == full_path)


def _mark(view: Any, endpoints: tuple[DeclaredEndpoint, ...]) -> None:
    primary = next((e for e in endpoints if e.method == "GET"), endpoints[0] if endpoints else None)
    view.declared_endpoints = endpoints
    view.required_permission = primary.permission if primary else None
    view.is_public = all(e.is_public for e in endpoints)
    view.is_interop = True


def _api_view(callback: Callable[..., HttpResponseBase], endpoints: tuple[DeclaredEndpoint, ...]) -> Any:
    """ninja's view, with its declarations attached and its two plain-text answers (405, and 404 at the
    API root) in the API's JSON error format."""

    @wraps(callback)
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = callback(request, *args, **kwargs)
        except Http404:
            return error_response(404, "not_found", "There is nothing at this address.")
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            json_response = error_response(405, "method_not_allowed", f"Use {allowed or 'another method'}.")
            json_response["Allow"] = allowed
            return json_response
        return response

    _mark(view, endpoints)
    return view


def _api_patterns() -> list[URLPattern | URLResolver]:
    patterns, _app_name, _namespace = api.urls
    wrapped: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            full_path = f"{API_PREFIX}/" + _CONVERTER.sub(r"{\1}", str(pattern.pattern)).strip("/")
            endpoints = _declared_for(full_path.rstrip("/"))
            pattern = URLPattern(
                pattern.pattern, _api_view(pattern.callback, endpoints), pattern.default_args, pattern.name
            )
        wrapped.append(pattern)
    return wrapped


def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI for the JSON API (public: it shows the schema, never data)."""
    return api.docs.render_page(request, api)


_mark(api_docs, tuple(e for e in registered("api") if e.path == DOCS_PATH))


def api_not_found(request: HttpRequest) -> HttpResponse:
    return error_response(404, "not_found", f"There is no API endpoint at {request.path}.")


_mark(api_not_found, ())

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", include((_api_patterns(), "ninja"), namespace=api.urls_namespace)),
    path(DOCS_PATH.lstrip("/"), api_docs, name="api-docs"),
    re_path(r"^api/.*$", api_not_found),
    path("fhir/", include("caredesk.interop.fhir.urls")),
    path("interop/x12/import/", web_views.x12_import, name="x12_import"),
    path("interop/sms/replies/", sms_webhook.sms_reply, name="sms_reply_webhook"),
]

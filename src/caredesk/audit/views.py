"""The audit trail pages (administrators): the filtered list and its CSV export, both themselves audited.

Like every view they authorize through `accounts.decorators.require_permission`; pyproject's
import-linter contract lets this one module (an entry point) reach up into accounts for that.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caredesk.accounts.decorators import require_permission
from caredesk.accounts.models import Location
from caredesk.accounts.permissions import Permission
from caredesk.core.context import Actor
from caredesk.core.htmx import render_page_or_partial
from caredesk.core.web import request_actor

from . import selectors
from .forms import AuditFilterForm


def organization_time_zone(actor: Actor) -> str:
    """The organization's time zone: its first location's, else the installation's."""
    if actor.organization_id is None:
        return settings.TIME_ZONE
    zone = (
        Location.objects.filter(organization_id=actor.organization_id)
        .order_by("pk")
        .values_list("timezone", flat=True)
        .first()
    )
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = None  # a mistyped zone on a location must not break the trail
    return zone or settings.TIME_ZONE


class _Echo:
    """A file-like object whose write() hands the formatted line back (for streaming csv.writer)."""

    def write(self, value: str) -> str:
        return value


@require_permission(Permission.AUDIT_VIEW)
@require_http_methods(["GET", "HEAD"])
def event_list(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    time_zone = organization_time_zone(actor)
    form = AuditFilterForm(request.GET)
    context: dict[str, Any] = {
        "form": form,
        "time_zone": time_zone,
        "can_export": actor.has(Permission.AUDIT_EXPORT),
        "result": None,
    }
    if not form.is_valid():
        return render_page_or_partial(
            request, "audit/event_list.html", "audit/partials/events.html", context, status=400
        )
    result = selectors.list_events(
        actor=actor, filters=form.to_filters(time_zone), page=form.cleaned_data.get("page") or 1
    )
    params = request.GET.copy()
    params.pop("page", None)
    context.update(result=result, base_query=params.urlencode())
    with timezone.override(time_zone):
        return render_page_or_partial(request, "audit/event_list.html", "audit/partials/events.html", context)


@require_permission(Permission.AUDIT_EXPORT)
@require_http_methods(["GET", "HEAD"])
def event_export(request: HttpRequest) -> HttpResponseBase:
    actor = request_actor(request)
    time_zone = organization_time_zone(actor)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "time_zone": time_zone, "can_export": True, "result": None}
        return render(request, "audit/event_list.html", context, status=400)
    rows = selectors.export_events(actor=actor, filters=form.to_filters(time_zone))
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        for row in rows:
            yield writer.writerow(row)

    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
